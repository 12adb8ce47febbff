package api_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/api"
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
// when the verifier knows no credential, and that the middleware never
// panics or answers anything but 401 for it.
func FuzzAuthorization(f *testing.F) {
	for _, s := range []string{"", "Bearer sk_", "Bearer sk_" + strings.Repeat("A", 43), "bearer  sk_x", "Basic abc", "Bearer sk_" + strings.Repeat("-", 43)} {
		f.Add(s)
	}
	auth := &api.Authenticator{Credentials: &keyring{m: map[string]api.Principal{}}}
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

// FuzzUnmarshalStrict checks the strict decoder against encoding/json: it
// never panics; what it accepts encoding/json decodes to the same value,
// with no key repeated in any object and every key of a struct spelled
// exactly as its field (the keys of the input are a subset of those of the
// value re-encoded); a duplicate it reports is one.
func FuzzUnmarshalStrict(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var v nestedBody
		err := api.UnmarshalStrict(data, &v)
		var ke *api.JSONKeyError
		if errors.As(err, &ke) && ke.Reason == api.KeyDuplicate && json.Valid(data) {
			if keyTokens(data) == mapKeys(t, data) {
				t.Fatalf("duplicate %q reported in %q", ke.Key, data)
			}
		}
		if err != nil {
			return
		}
		var w nestedBody
		if err := json.Unmarshal(data, &w); err != nil || !reflect.DeepEqual(v, w) {
			t.Fatalf("strict %+v, encoding/json %+v (%v) for %q", v, w, err, data)
		}
		if keyTokens(data) != mapKeys(t, data) {
			t.Fatalf("a duplicate key was accepted in %q", data)
		}
		re, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var in, out map[string]any
		if json.Unmarshal(data, &in) != nil || json.Unmarshal(re, &out) != nil {
			return
		}
		for k := range in {
			if _, ok := out[k]; !ok && k != "extra" {
				t.Fatalf("key %q accepted but not a field (re-encoded %s)", k, re)
			}
		}
	})
}

// keyTokens counts the object keys in data's token stream.
func keyTokens(data []byte) int {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type open struct{ object, wantKey bool }
	var stack []open
	n := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return n
		}
		d, delim := tok.(json.Delim)
		switch {
		case delim && (d == '}' || d == ']'):
			stack = stack[:len(stack)-1]
		case len(stack) > 0 && stack[len(stack)-1].wantKey:
			n++
			stack[len(stack)-1].wantKey = false
			continue
		case delim:
			stack = append(stack, open{object: d == '{', wantKey: d == '{'})
			continue
		}
		// A value ended: the enclosing object expects a key again.
		if len(stack) > 0 && stack[len(stack)-1].object {
			stack[len(stack)-1].wantKey = true
		}
	}
}

// mapKeys counts the keys of data decoded by encoding/json into maps
// (where a repeated key counts once).
func mapKeys(t *testing.T, data []byte) int {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%q: %v", data, err)
	}
	var count func(any) int
	count = func(v any) int {
		n := 0
		switch v := v.(type) {
		case map[string]any:
			for _, m := range v {
				n += 1 + count(m)
			}
		case []any:
			for _, m := range v {
				n += count(m)
			}
		}
		return n
	}
	return count(v)
}
