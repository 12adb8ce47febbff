package api

import (
	"net/http"
)

// singletonFields are request header fields that must appear at most once:
// a request carrying two is refused, as a JSON object with a duplicate key
// is, because a proxy in front of the server may read the other one.
var singletonFields = []string{"Authorization", HeaderIdempotencyKey}

// SingletonFields returns middleware that answers a request repeating a
// field of singletonFields with a 400 problem (type repeated-field).
func SingletonFields(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, f := range singletonFields {
			if len(r.Header.Values(f)) > 1 {
				WriteProblem(w, r, &Error{Kind: KindInvalid, Type: "repeated-field", Status: http.StatusBadRequest,
					Detail: "the request carries the " + f + " field more than once"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
