package api

import "net/http"

// Sensitive marks h as a sensitive route (one-time codes, signing): the
// rate limiter applies its stricter per-IP and per-principal limits to
// requests routed to it. Register the wrapped handler directly on the mux,
// e.g. mux.Handle("POST /v1/recipient/code", api.Sensitive(h)); the limiter
// finds the mark by looking up the route before dispatch, so the mark
// MUST be the outermost wrapper of the registered handler.
func Sensitive(h http.Handler) http.Handler { return sensitive{h} }

type sensitive struct{ http.Handler }

func (sensitive) sensitiveRoute() {}

// IsSensitive reports whether h was wrapped by [Sensitive].
func IsSensitive(h http.Handler) bool {
	_, ok := h.(interface{ sensitiveRoute() })
	return ok
}
