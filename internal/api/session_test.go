package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/signet-pki/signet/internal/api"
)

// fakeSessions accepts the cookie "s=good" (and "s=pending" as a pending
// user), refuses "s=csrf" as a bad CSRF token, fails on "s=down", and
// refuses anything else.
type fakeSessions struct{}

func (fakeSessions) VerifySession(r *http.Request) (api.Principal, error) {
	c, err := r.Cookie("s")
	if err != nil {
		return api.Principal{}, api.ErrUnauthorized
	}
	switch c.Value {
	case "good":
		return api.Principal{Kind: api.PrincipalUser, ID: "u-1", Tenant: "t-1"}, nil
	case "pending":
		return api.Principal{Kind: api.PrincipalUser, ID: "u-1", Tenant: "t-1", Pending: true}, nil
	case "csrf":
		return api.Principal{}, &api.Error{Kind: api.KindForbidden, Type: "csrf"}
	case "down":
		return api.Principal{}, errors.New("database is locked")
	}
	return api.Principal{}, &api.Error{Kind: api.KindUnauthorized, Detail: "session expired"}
}

// keysOnly accepts the bearer credential "key".
type keysOnly struct{}

func (keysOnly) VerifyCredential(_ context.Context, s string, _ netip.Addr) (api.Principal, error) {
	if s == "key" {
		return api.Principal{Kind: api.PrincipalAPIKey, ID: "k-1", Tenant: "t-1"}, nil
	}
	return api.Principal{}, api.ErrUnauthorized
}

// TestAuthenticatorSessions: without an Authorization header the session
// verifier decides; every refused session gets the same 401, a CSRF
// refusal its 403, a verifier that cannot answer 503; a bearer credential
// takes precedence over a cookie.
func TestAuthenticatorSessions(t *testing.T) {
	auth := &api.Authenticator{Credentials: keysOnly{}, Sessions: fakeSessions{}}
	h := auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := api.PrincipalFrom(r.Context())
		w.Header().Set("X-Principal", p.ID)
	}))
	for _, tc := range []struct {
		name, cookie, authz string
		status              int
		principal           string
	}{
		{"no cookie", "", "", 401, ""},
		{"session", "good", "", 200, "u-1"},
		{"expired", "old", "", 401, ""},
		{"csrf", "csrf", "", 403, ""},
		{"down", "down", "", 503, ""},
		{"bearer wins", "good", "Bearer key", 200, "k-1"},
		{"bad bearer beside a good cookie", "good", "Bearer nope", 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/v1/envelopes", nil)
			if tc.cookie != "" {
				r.AddCookie(&http.Cookie{Name: "s", Value: tc.cookie})
			}
			if tc.authz != "" {
				r.Header.Set("Authorization", tc.authz)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tc.status || rec.Header().Get("X-Principal") != tc.principal {
				t.Fatalf("status %d principal %q, want %d %q: %s", rec.Code, rec.Header().Get("X-Principal"), tc.status, tc.principal, rec.Body)
			}
		})
	}
}

type allowAll struct{}

func (allowAll) Authorize(context.Context, api.Principal, api.AccessCheck) error { return nil }

// TestGatePending: a pending principal reaches only the routes
// PendingAllowed opens; a full one reaches every route; a gate without
// PendingAllowed opens none to pending principals.
func TestGatePending(t *testing.T) {
	rt := api.NewRouter()
	ok := func(w http.ResponseWriter, r *http.Request) {}
	rt.HandleFunc("POST /v1/auth/mfa/totp", ok)
	rt.HandleFunc("GET /v1/envelopes", ok)
	access := map[string]api.Access{
		"POST /v1/auth/mfa/totp": {Action: "account.self"},
		"GET /v1/envelopes":      {Action: "envelope.read"},
	}
	allowed := func(r *http.Request) bool { return r.URL.Path == "/v1/auth/mfa/totp" }
	for _, tc := range []struct {
		name           string
		pending        bool
		pendingAllowed func(*http.Request) bool
		method, path   string
		status         int
	}{
		{"pending, MFA route", true, allowed, "POST", "/v1/auth/mfa/totp", 200},
		{"pending, other route", true, allowed, "GET", "/v1/envelopes", 401},
		{"pending, no allow-list", true, nil, "POST", "/v1/auth/mfa/totp", 401},
		{"full, other route", false, allowed, "GET", "/v1/envelopes", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &api.Gate{Router: rt, Access: access, Authorizer: allowAll{}, PendingAllowed: tc.pendingAllowed}
			r := httptest.NewRequest(tc.method, tc.path, nil)
			r = r.WithContext(api.WithPrincipal(r.Context(), api.Principal{Kind: api.PrincipalUser, ID: "u-1", Tenant: "t-1", Pending: tc.pending}))
			rec := httptest.NewRecorder()
			g.Middleware(rt).ServeHTTP(rec, r)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status == 401 {
				var p api.Problem
				if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Type != api.ProblemBase+"mfa-required" {
					t.Fatalf("problem %+v (%v), want type mfa-required", p, err)
				}
			}
		})
	}
}

// TestDefaultPublicLogin: the password login needs no credential; the
// other /v1/auth/ routes do.
func TestDefaultPublicLogin(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		want         bool
	}{
		{"POST", "/v1/auth/login", true},
		{"GET", "/v1/auth/login", false},
		{"POST", "/v1/auth/logout", false},
		{"GET", "/v1/auth/session", false},
		{"GET", "/v1/auth/oidc/corp/start", true},
		{"GET", "/v1/auth/oidc/corp/callback", true},
		{"POST", "/v1/auth/oidc/corp/callback", false},
		{"GET", "/v1/auth/oidc//start", false},
		{"GET", "/v1/auth/oidc/corp/x/start", false},
		{"GET", "/v1/auth/oidc/corp/other", false},
		{"POST", "/v1/auth/mfa/passkey/begin", false},
	} {
		if got := api.DefaultPublic(httptest.NewRequest(tc.method, tc.path, nil)); got != tc.want {
			t.Errorf("%s %s public: %v, want %v", tc.method, tc.path, got, tc.want)
		}
	}
}
