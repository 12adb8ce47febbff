package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/signet-pki/signet/internal/api"
)

// TestSecurityHeaders: every answer of the chain, a success or a
// problem, carries HSTS, nosniff, no-referrer and DENY framing.
func TestSecurityHeaders(t *testing.T) {
	rt := api.NewRouter()
	rt.HandleFunc("GET /v1/ok", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	h := api.Chain(rt, api.Stack{})
	for _, path := range []string{"/v1/ok", "/v1/missing"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		for k, want := range map[string]string{
			"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
			"X-Content-Type-Options":    "nosniff",
			"Referrer-Policy":           "no-referrer",
			"X-Frame-Options":           "DENY",
		} {
			if got := rec.Header().Get(k); got != want {
				t.Errorf("%s (%d): %s = %q, want %q", path, rec.Code, k, got, want)
			}
		}
	}
}
