package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/identity"
)

// roundTrip decodes body strictly into a new T as the handlers do; an
// accepted body must re-encode and decode to the same value, and a
// refused one must be a 4xx problem.
func roundTrip[T any](t *testing.T, body string) (T, bool) {
	t.Helper()
	decode := func(b string) (T, error) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(b))
		r.Header.Set("Content-Type", "application/json")
		var v T
		err := api.DecodeJSON(httptest.NewRecorder(), r, &v)
		return v, err
	}
	v, err := decode(body)
	if err != nil {
		if p := api.ProblemFor(nil, err); p.Status < 400 || p.Status >= 500 {
			t.Fatalf("decode error %v answers %d", err, p.Status)
		}
		return v, false
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("re-encode %+v: %v", v, err)
	}
	// Times keep their instant and offset, not their *time.Location:
	// compare the encodings.
	again, err := decode(string(b))
	if err != nil {
		t.Fatalf("round trip of %q: %v", b, err)
	}
	if b2, _ := json.Marshal(again); string(b2) != string(b) {
		t.Fatalf("round trip of %q gives %q", b, b2)
	}
	return v, true
}

// FuzzRequestDecoders feeds one body to every request decoder of the
// package (seeds in testdata/fuzz/FuzzRequestDecoders). A tenant policy
// that validates must survive the trip to the store's canonical JSON and
// back to the API's form unchanged; a refused one must be a 4xx problem.
func FuzzRequestDecoders(f *testing.F) {
	f.Add(`{"email":"x@y","roles":[]}`)
	f.Fuzz(func(t *testing.T, body string) {
		roundTrip[CreateUserRequest](t, body)
		roundTrip[GrantRequest](t, body)
		roundTrip[ElevationBody](t, body)
		roundTrip[RedeemRequest](t, body)
		b, ok := roundTrip[PolicyBody](t, body)
		if !ok {
			return
		}
		p, err := b.policy("t-1")
		if err != nil {
			var pe *api.Error
			if !asProblem(err, &pe) || pe.Kind != api.KindInvalid {
				t.Fatalf("policy error %v is not a 422 problem", err)
			}
			if st := api.ProblemFor(nil, err).Status; st != http.StatusUnprocessableEntity {
				t.Fatalf("policy error answers %d", st)
			}
			return
		}
		doc, err := identity.MarshalPolicy(p)
		if err != nil {
			t.Fatalf("a valid policy does not marshal: %v", err)
		}
		stored, err := identity.UnmarshalPolicy(doc)
		if err != nil || !reflect.DeepEqual(stored, p) {
			t.Fatalf("stored policy %+v, %v; want %+v", stored, err, p)
		}
		again, err := bodyOf(stored).policy("t-1")
		if err != nil || !reflect.DeepEqual(again, p) {
			t.Fatalf("policy through the API form %+v, %v; want %+v", again, err, p)
		}
	})
}

func asProblem(err error, pe **api.Error) bool {
	e, ok := err.(*api.Error)
	*pe = e
	return ok
}
