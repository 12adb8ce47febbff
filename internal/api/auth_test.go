package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/api"
)

// TestAuthenticator: the middleware reads "Authorization: Bearer" (any
// case), answers every refused or missing credential alike with 401 and
// WWW-Authenticate, a verifier that cannot answer with 503, and gives
// handlers the verified principal (the gate then checks actions).
func TestAuthenticator(t *testing.T) {
	e := newEnv(t, envOptions{})
	ta := e.tenant("A")
	reader, readerID := e.key(ta, "document.read")
	tests := []struct {
		name, path, header string
		status             int
		slug               string
	}{
		{"no credential", "/v1/whoami", "", 401, "unauthorized"},
		{"not bearer", "/v1/whoami", "Basic " + reader, 401, "unauthorized"},
		{"no space", "/v1/whoami", "Bearer" + reader, 401, "unauthorized"},
		{"unknown", "/v1/whoami", "Bearer tk_unknown", 401, "unauthorized"},
		{"valid", "/v1/whoami", "Bearer " + reader, 200, ""},
		{"lowercase scheme, spaces", "/v1/whoami", "bearer   " + reader + " ", 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", tc.path, "", nil, "Authorization: "+tc.header)
			if tc.slug != "" {
				checkProblem(t, r, tc.status, tc.slug, tc.path)
				if tc.status == 401 && r.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				return
			}
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			var who map[string]string
			r.json(t, &who)
			if who["id"] != readerID || who["tenant"] != ta {
				t.Fatalf("principal %v, want %s of %s", who, readerID, ta)
			}
		})
	}
}

// failingVerifier cannot check any credential.
type failingVerifier struct{}

func (failingVerifier) VerifyCredential(context.Context, string, netip.Addr) (api.Principal, error) {
	return api.Principal{}, errors.New("database is locked")
}

// TestAuthenticatorUnavailable: a credential that cannot be checked is a
// 503, not a refusal, and the cause stays out of the answer; public routes
// need no credential.
func TestAuthenticatorUnavailable(t *testing.T) {
	auth := &api.Authenticator{Credentials: failingVerifier{}}
	h := auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) }))
	r := httptest.NewRequest("GET", "/v1/envelopes", nil)
	r.Header.Set("Authorization", "Bearer sk_x")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", rec.Code)
	}
	if body := rec.Body.String(); body == "" || strings.Contains(body, "locked") {
		t.Fatalf("body %q", body)
	}
	for _, path := range []string{"/healthz", "/readyz", "/v1/openapi.json", "/v1/recipient/x"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 299 {
			t.Errorf("%s: status %d, want the handler's", path, rec.Code)
		}
	}
}

// remoteVerifier records the client address it was given.
type remoteVerifier struct{ got *netip.Addr }

func (v remoteVerifier) VerifyCredential(_ context.Context, _ string, remote netip.Addr) (api.Principal, error) {
	*v.got = remote
	return api.Principal{Kind: api.PrincipalAPIKey, ID: "key_1", Tenant: "t-1"}, nil
}

// TestAuthenticatorPassesClientAddress: the verifier gets the request's
// client address (IPv4-mapped IPv6 unmapped), or the zero Addr when
// RemoteAddr is not an IP address.
func TestAuthenticatorPassesClientAddress(t *testing.T) {
	for _, tc := range []struct {
		remote string
		want   netip.Addr
	}{
		{"192.0.2.7:4711", netip.MustParseAddr("192.0.2.7")},
		{"[2001:db8::1]:443", netip.MustParseAddr("2001:db8::1")},
		{"[::ffff:192.0.2.9]:80", netip.MustParseAddr("192.0.2.9")},
		{"198.51.100.3", netip.MustParseAddr("198.51.100.3")},
		{"local", netip.Addr{}},
		{"", netip.Addr{}},
	} {
		var got netip.Addr
		got = netip.MustParseAddr("203.0.113.1") // overwritten by the verifier
		auth := &api.Authenticator{Credentials: remoteVerifier{got: &got}}
		h := auth.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) }))
		r := httptest.NewRequest("GET", "/v1/envelopes", nil)
		r.RemoteAddr = tc.remote
		r.Header.Set("Authorization", "Bearer sk_x")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != 299 || got != tc.want {
			t.Errorf("RemoteAddr %q: status %d, verifier got %v, want %v", tc.remote, rec.Code, got, tc.want)
		}
	}
}
