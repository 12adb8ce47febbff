package api

import "net/http"

// HSTSMaxAge is the Strict-Transport-Security lifetime [SecurityHeaders]
// sends: two years, the value browsers' preload lists expect.
const HSTSMaxAge = "63072000"

// SecurityHeaders returns next with the headers every HTTPS answer of the
// service carries: Strict-Transport-Security (browsers reach the service
// only over HTTPS from then on), X-Content-Type-Options: nosniff (a
// document or JSON answer is never sniffed into something executable),
// Referrer-Policy: no-referrer (signing links carry their token in the
// fragment, and no other URL leaks either), and X-Frame-Options: DENY
// (no page of the service is framed). A handler may still set its own.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Strict-Transport-Security", "max-age="+HSTSMaxAge+"; includeSubDomains")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}
