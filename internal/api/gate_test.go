package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/api"
)

// fakeAuthorizer allows the actions in allow, asks for a step-up on those
// in stepUp and forbids the rest; it keeps the checks it was asked.
type fakeAuthorizer struct {
	allow, stepUp map[string]bool
	checks        []api.AccessCheck
}

func (f *fakeAuthorizer) Authorize(_ context.Context, p api.Principal, c api.AccessCheck) error {
	f.checks = append(f.checks, c)
	switch {
	case f.allow[c.Action]:
		return nil
	case f.stepUp[c.Action]:
		return &api.Error{Kind: api.KindUnauthorized, Type: "step-up-required", Detail: "step up",
			StepUp: &api.StepUp{Methods: []string{"passkey", "totp"}, MaxAge: 600}}
	}
	return &api.Error{Kind: api.KindForbidden, Type: "forbidden", Detail: "not permitted: " + c.Action}
}

// TestGate: the gate lets public routes through, refuses a request
// without a principal (unless the handler authenticates it itself),
// asks the authorizer for the route's declared action and answers its
// refusal, refuses an undeclared route, and gives handlers the
// authorizer for checks with the resource's facts.
func TestGate(t *testing.T) {
	rt := api.NewRouter()
	ok := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }
	rt.HandleFunc("GET /v1/open", ok)
	rt.HandleFunc("GET /v1/envelopes", ok)
	rt.HandleFunc("POST /v1/keys", ok)
	rt.HandleFunc("POST /v1/export", ok)
	rt.HandleFunc("GET /v1/undeclared", ok)
	rt.HandleFunc("POST /v1/link/{id}/sign", func(w http.ResponseWriter, r *http.Request) {
		// The handler authenticates its principal, then asks with facts.
		if err := api.Authorize(r.Context(), api.AccessCheck{Action: "envelope.sign", Envelope: r.PathValue("id")}); err != nil {
			api.WriteProblem(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	rt.HandleFunc("POST /v1/envelopes/{id}/approve", func(w http.ResponseWriter, r *http.Request) {
		if err := api.Authorize(r.Context(), api.AccessCheck{Action: "envelope.approve", Envelope: r.PathValue("id"), EnvelopeSender: "u1"}); err != nil {
			api.WriteProblem(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	az := &fakeAuthorizer{allow: map[string]bool{"envelope.read": true, "envelope.approve": true}, stepUp: map[string]bool{"audit.export": true}}
	gate := &api.Gate{Router: rt, Authorizer: az, Access: map[string]api.Access{
		"GET /v1/open":                    {Public: true},
		"GET /v1/envelopes":               {Action: "envelope.read"},
		"POST /v1/keys":                   {Action: "key.admin"},
		"POST /v1/export":                 {Action: "audit.export"},
		"POST /v1/link/{id}/sign":         {Action: "envelope.sign"},
		"POST /v1/envelopes/{id}/approve": {Action: "envelope.approve"},
	}, SelfAuthenticated: func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/v1/link/") }}
	h := gate.Middleware(rt)
	principal := api.Principal{Kind: api.PrincipalUser, ID: "u2", Tenant: "t1"}
	for _, c := range []struct {
		name, method, path string
		signedIn           bool
		status             int
		slug               string
		checks             []string
	}{
		{"public", "GET", "/v1/open", false, 204, "", nil},
		{"no principal", "GET", "/v1/envelopes", false, 401, "unauthorized", nil},
		{"allowed", "GET", "/v1/envelopes", true, 204, "", []string{"envelope.read"}},
		{"forbidden", "POST", "/v1/keys", true, 403, "forbidden", []string{"key.admin"}},
		{"step-up", "POST", "/v1/export", true, 401, "step-up-required", []string{"audit.export"}},
		{"undeclared", "GET", "/v1/undeclared", true, 500, "internal", nil},
		{"no route", "GET", "/v1/nowhere", true, 404, "", nil},
		{"self-authenticated, no principal", "POST", "/v1/link/e1/sign", false, 401, "unauthorized", nil},
		{"self-authenticated, refused", "POST", "/v1/link/e1/sign", true, 403, "forbidden", []string{"envelope.sign"}},
		{"facts in the handler", "POST", "/v1/envelopes/e1/approve", true, 204, "", []string{"envelope.approve", "envelope.approve"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			az.checks = nil
			r := httptest.NewRequest(c.method, c.path, nil)
			if c.signedIn {
				r = r.WithContext(api.WithPrincipal(r.Context(), principal))
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			var got []string
			for _, ch := range az.checks {
				got = append(got, ch.Action)
			}
			if strings.Join(got, " ") != strings.Join(c.checks, " ") {
				t.Errorf("authorizer asked %v, want %v", got, c.checks)
			}
			if c.slug == "" {
				return
			}
			var p api.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Type != api.ProblemBase+c.slug {
				t.Fatalf("problem %s (%v), want %s", rec.Body, err, c.slug)
			}
			if c.slug == "step-up-required" {
				if p.StepUp == nil || p.StepUp.MaxAge != 600 || len(p.StepUp.Methods) != 2 {
					t.Errorf("step-up member %+v", p.StepUp)
				}
				if w := rec.Header().Get("WWW-Authenticate"); !strings.Contains(w, "insufficient_user_authentication") || !strings.Contains(w, "max_age=600") {
					t.Errorf("WWW-Authenticate %q", w)
				}
			}
		})
	}
	// The facts reach the authorizer.
	az.checks = nil
	r := httptest.NewRequest("POST", "/v1/envelopes/e7/approve", nil)
	h.ServeHTTP(httptest.NewRecorder(), r.WithContext(api.WithPrincipal(r.Context(), principal)))
	if len(az.checks) != 2 || az.checks[1].Envelope != "e7" || az.checks[1].EnvelopeSender != "u1" {
		t.Errorf("checks %+v", az.checks)
	}
	// Outside a gated request there is no authorizer: refused.
	if err := api.Authorize(api.WithPrincipal(context.Background(), principal), api.AccessCheck{Action: "envelope.read"}); err == nil {
		t.Error("Authorize without an authorizer allowed")
	}
}
