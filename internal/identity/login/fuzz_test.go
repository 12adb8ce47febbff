package login_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/identity/oidc/oidctest"
	"github.com/signet-pki/signet/internal/identity/passkey/passkeytest"
)

// fuzzStatus reports whether a status is one the routes may answer to a
// client's body: never a server error.
func fuzzStatus(status int) bool {
	switch status {
	case 200, 400, 401, 409, 413, 415, 422, 429:
		return true
	}
	return false
}

// FuzzLoginBody posts arbitrary bodies to the login (seeds in
// testdata/fuzz/FuzzLoginBody): no server error, and a session only for
// a body that strictly decodes to the user's exact credentials.
func FuzzLoginBody(f *testing.F) {
	e := newEnv(f)
	e.policy.MFAOptional = true
	e.user("u-ann", false)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest("POST", "/v1/auth/login", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if !fuzzStatus(w.Code) {
			t.Fatalf("status %d for %q: %s", w.Code, body, w.Body)
		}
		if w.Code != http.StatusOK {
			return
		}
		var req struct {
			Tenant   string `json:"tenant"`
			Email    string `json:"email"`
			Password string `json:"password"`
		}
		if err := api.UnmarshalStrict(body, &req); err != nil || req.Tenant != tenant || req.Password != pw {
			t.Fatalf("logged in with %q", body)
		}
	})
}

// FuzzCodeBody posts arbitrary bodies to the second-factor routes of a
// pending session (seeds in testdata/fuzz/FuzzCodeBody): no server
// error, and never a completed login (the user has no valid code to
// guess within the fuzzer's reach: a wrong TOTP or recovery code).
func FuzzCodeBody(f *testing.F) {
	e := newEnv(f)
	e.policy.MFAOptional = true
	e.user("u-ann", false)
	e.enrolTOTP(e.mustLogin("u-ann@example.org", "none"))
	p := e.mustLogin("u-ann@example.org", "required")
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, path := range []string{"/v1/auth/mfa/totp", "/v1/auth/mfa/recovery", "/v1/me/mfa/totp/confirm"} {
			r := httptest.NewRequest("POST", path, bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("X-CSRF-Token", p.csrf)
			r.AddCookie(&http.Cookie{Name: p.cookie.Name, Value: p.cookie.Value})
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			if !fuzzStatus(w.Code) || w.Code == http.StatusOK {
				var pb api.Problem
				_ = json.Unmarshal(w.Body.Bytes(), &pb)
				t.Fatalf("%s: status %d for %q: %+v", path, w.Code, body, pb)
			}
		}
	})
}

// FuzzPasskeyFinishBody posts arbitrary bodies to the passkey finishes
// of a pending and of a full session (seeds in
// testdata/fuzz/FuzzPasskeyFinishBody): no server error, and never a
// success (no body within the fuzzer's reach holds a sealed ceremony of
// these sessions with a signed response).
func FuzzPasskeyFinishBody(f *testing.F) {
	e := newEnv(f, withPasskeys)
	e.policy.MFAOptional = true
	e.user("u-ann", false)
	full := e.mustLogin("u-ann@example.org", "none")
	e.register(full, &passkeytest.Authenticator{}, "")
	pending := e.mustLogin("u-ann@example.org", "required")
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, c := range []struct {
			s    *sess
			path string
		}{
			{pending, "/v1/auth/mfa/passkey/finish"},
			{full, "/v1/auth/step-up/passkey/finish"},
			{full, "/v1/me/passkeys/finish"},
		} {
			r := httptest.NewRequest("POST", c.path, bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			r.Header.Set("X-CSRF-Token", c.s.csrf)
			r.AddCookie(&http.Cookie{Name: c.s.cookie.Name, Value: c.s.cookie.Value})
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, r)
			if !fuzzStatus(w.Code) || w.Code == http.StatusOK {
				t.Fatalf("%s: status %d for %q: %s", c.path, w.Code, body, w.Body)
			}
		}
	})
}

// FuzzOIDCCallbackQuery sends arbitrary callback queries with a genuine
// pending cookie (seeds in testdata/fuzz/FuzzOIDCCallbackQuery): no
// server error, and never a session (the state is not within reach).
func FuzzOIDCCallbackQuery(f *testing.F) {
	var op *oidctest.OP
	e := newEnv(f, withOIDC(corpUser(), false, &op))
	e.user("u-ann", false)
	_, pending := e.oidcStart(op)
	f.Fuzz(func(t *testing.T, query string) {
		r := httptest.NewRequest("GET", "/v1/auth/oidc/corp/callback", nil)
		r.URL.RawQuery = query
		r.AddCookie(&http.Cookie{Name: pending.Name, Value: pending.Value})
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		if !fuzzStatus(w.Code) || w.Code == http.StatusFound || w.Code == http.StatusOK {
			t.Fatalf("status %d for %q: %s", w.Code, query, w.Body)
		}
	})
}
