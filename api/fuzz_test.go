package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/signet-pki/signet/api"
)

// FuzzDecodeJSON checks that strict decoding never panics, that every
// failure is a 4xx [api.Error], and that an accepted body round-trips:
// re-encoding the value and decoding it again gives the same value.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"name":"a","count":1}`, `{"name":"a","x":1}`, `{`, `[]`, `{"count":"1"}`, `{} {}`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		decode := func(b string) (echoBody, error) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(b))
			r.Header.Set("Content-Type", "application/json")
			var v echoBody
			err := api.DecodeJSON(httptest.NewRecorder(), r, &v)
			return v, err
		}
		v, err := decode(body)
		if err != nil {
			p := api.ProblemFor(nil, err)
			if p.Status < 400 || p.Status >= 500 {
				t.Fatalf("decode error %v maps to %d", err, p.Status)
			}
			return
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		w, err := decode(string(b))
		if err != nil || !reflect.DeepEqual(v, w) {
			t.Fatalf("round trip %+v -> %s -> %+v, %v", v, b, w, err)
		}
	})
}

// FuzzAuthorization checks that no Authorization header authenticates
// without a stored key, and that the middleware never panics or answers
// anything but 401 for it.
func FuzzAuthorization(f *testing.F) {
	for _, s := range []string{"", "Bearer sk_", "Bearer " + api.KeyPrefix + strings.Repeat("A", 43), "bearer  sk_x", "Basic abc", "Bearer sk_" + strings.Repeat("-", 43)} {
		f.Add(s)
	}
	auth := &api.Authenticator{Keys: emptyKeys{}}
	h := auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(299)
	}))
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest("GET", "/v1/envelopes", nil)
		r.Header["Authorization"] = []string{header}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("header %q: status %d", header, rec.Code)
		}
	})
}
