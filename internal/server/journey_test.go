package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/identity/totp"
)

// browser is one person's client: its own cookie jar and CSRF token.
type browser struct {
	t      *testing.T
	r      *running
	client *http.Client
	csrf   string
	last   []byte
}

func (r *running) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	tr := r.client.Transport
	return &browser{t: t, r: r, client: &http.Client{Transport: tr, Jar: jar, Timeout: 20 * time.Second}}
}

// call sends a JSON request with the session cookie and CSRF token (or
// the bearer secret) and decodes a JSON answer into out.
func (b *browser) call(method, path, bearer string, body, out any) int {
	b.t.Helper()
	var rd io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, b.r.base+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if b.csrf != "" {
		req.Header.Set("X-CSRF-Token", b.csrf)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	b.last = raw
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			b.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	var tok struct {
		CSRF string `json:"csrf_token"`
	}
	if json.Unmarshal(raw, &tok) == nil && tok.CSRF != "" {
		b.csrf = tok.CSRF
	}
	return res.StatusCode
}

// must fails the test unless call answers want.
func (b *browser) must(want int, method, path string, body, out any) {
	b.t.Helper()
	if got := b.call(method, path, "", body, out); got != want {
		b.t.Fatalf("%s %s: %d, want %d: %s", method, path, got, want, b.last)
	}
}

// enrolTOTP enrols and confirms a TOTP authenticator for the browser's
// user and returns its key.
func (b *browser) enrolTOTP(at time.Time) totp.Key {
	b.t.Helper()
	var enrol struct {
		URI string `json:"otpauth_uri"`
	}
	b.must(http.StatusCreated, "POST", "/v1/me/mfa/totp", nil, &enrol)
	key, _, _, err := totp.ParseURI(enrol.URI)
	if err != nil {
		b.t.Fatal(err)
	}
	code, _ := key.CodeAt(at)
	if got := b.call("POST", "/v1/me/mfa/totp/confirm", "", map[string]string{"code": code}, nil); got != http.StatusOK {
		b.t.Fatalf("confirm TOTP: %d", got)
	}
	return key
}

// TestFirstAdministratorJourney follows a tenant from its creation: the
// platform administrator creates it and its first administrator, who
// accepts the invitation, signs in, enrols TOTP, finds that a standing
// privileged role does not count, elevates by break-glass (which alerts),
// invites a colleague and grants them a role by an approved elevation;
// the colleague creates an API key; when the colleague is disabled, their
// session and their key stop working on the next request, and the access
// review shows both people.
func TestFirstAdministratorJourney(t *testing.T) {
	r := start(t, filepath.Join(t.TempDir(), "data"), nil)
	platform := r.bootstrapKey()
	res := r.do("POST", "/v1/tenants", platform, map[string]string{"name": "Journey"})
	var tn accounts.Tenant
	if res.status != http.StatusCreated || json.Unmarshal(res.body, &tn) != nil {
		t.Fatalf("tenant: %d %s", res.status, res.body)
	}
	var first struct {
		UserID     string `json:"user_id"`
		Invitation struct{ Token string }
	}
	res = r.do("POST", "/v1/tenants/"+tn.ID+"/first-admin", platform, map[string]string{"email": "ada@example.com", "name": "Ada"})
	if res.status != http.StatusCreated || json.Unmarshal(res.body, &first) != nil || first.Invitation.Token == "" {
		t.Fatalf("first admin: %d %s", res.status, res.body)
	}
	if res = r.do("POST", "/v1/tenants/"+tn.ID+"/first-admin", platform, map[string]string{"email": "eve@example.com"}); res.status != http.StatusConflict {
		t.Fatalf("a second first admin: %d %s", res.status, res.body)
	}
	const adaPassword, bobPassword = "correct horse battery staple 1917", "a long passphrase nobody guesses 42"
	ada := r.browser(t)
	ada.must(http.StatusNoContent, "POST", "/v1/invitations/redeem", map[string]string{"token": first.Invitation.Token, "password": adaPassword}, nil)
	ada.must(http.StatusOK, "POST", "/v1/auth/login", map[string]string{"tenant": tn.ID, "email": "ada@example.com", "password": adaPassword}, nil)
	// A password alone opens only the enrolment of a second factor.
	if got := ada.call("GET", "/v1/users", "", nil, nil); got != http.StatusUnauthorized {
		t.Fatalf("pending session lists users: %d", got)
	}
	now := time.Now()
	adaKey := ada.enrolTOTP(now.Add(-30 * time.Second))
	// The standing tenant-admin grant does not count; break-glass does.
	if got := ada.call("GET", "/v1/users", "", nil, nil); got != http.StatusForbidden {
		t.Fatalf("standing privileged role: %d, want 403", got)
	}
	var el struct{ ID string }
	ada.must(http.StatusCreated, "POST", "/v1/elevations", map[string]any{"role": "tenant-admin", "reason": "bootstrap the tenant", "duration_seconds": 3600}, &el)
	ada.must(http.StatusOK, "POST", "/v1/elevations/"+el.ID+"/break-glass", nil, nil)
	if !strings.Contains(r.logs.String(), "ALERT") {
		t.Error("the break-glass self-approval raised no alert")
	}
	var bob struct {
		User       struct{ ID string }
		Invitation struct{ Token string }
	}
	ada.must(http.StatusCreated, "POST", "/v1/users", map[string]any{"email": "bob@example.com", "name": "Bob"}, &bob)

	b := r.browser(t)
	b.must(http.StatusNoContent, "POST", "/v1/invitations/redeem", map[string]string{"token": bob.Invitation.Token, "password": bobPassword}, nil)
	b.must(http.StatusOK, "POST", "/v1/auth/login", map[string]string{"tenant": tn.ID, "email": "bob@example.com", "password": bobPassword}, nil)
	// New users must enrol a second factor before anything else.
	if got := b.call("POST", "/v1/elevations", "", map[string]any{"role": "tenant-admin", "reason": "x", "duration_seconds": 60}, nil); got != http.StatusUnauthorized {
		t.Fatalf("Bob's password-only session asks for an elevation: %d, want 401 mfa-required", got)
	}
	b.enrolTOTP(now.Add(-30 * time.Second))
	var req struct{ ID string }
	b.must(http.StatusCreated, "POST", "/v1/elevations", map[string]any{"role": "tenant-admin", "reason": "manage the integration keys", "duration_seconds": 1800}, &req)
	// Approving needs a fresh strong authentication: Ada steps up.
	code, _ := adaKey.CodeAt(now)
	ada.must(http.StatusOK, "POST", "/v1/auth/step-up/totp", map[string]string{"code": code}, nil)
	ada.must(http.StatusOK, "POST", "/v1/elevations/"+req.ID+"/approve", nil, nil)
	var key struct{ Secret string }
	b.must(http.StatusCreated, "POST", "/v1/api-keys", map[string]any{"name": "review export", "roles": []string{"auditor"}, "actions": []string{"access.review"}}, &key)
	if got := b.call("GET", "/v1/access-review", key.Secret, nil, nil); got != http.StatusOK {
		t.Fatalf("Bob's key: %d", got)
	}

	// Offboarding: disabling Bob ends his session and his key at once.
	ada.must(http.StatusOK, "POST", "/v1/users/"+bob.User.ID+"/disable", nil, nil)
	if got := b.call("GET", "/v1/auth/session", "", nil, nil); got != http.StatusUnauthorized {
		t.Errorf("disabled user's session: %d, want 401", got)
	}
	probe := r.browser(t)
	if got := probe.call("GET", "/v1/access-review", key.Secret, nil, nil); got != http.StatusUnauthorized {
		t.Errorf("disabled user's API key: %d, want 401", got)
	}

	var review struct {
		Principals []struct {
			ID   string `json:"id"`
			Kind string `json:"kind"`
		} `json:"principals"`
	}
	ada.must(http.StatusOK, "GET", "/v1/access-review?format=json", nil, &review)
	ids := map[string]bool{}
	for _, p := range review.Principals {
		ids[p.ID] = true
	}
	if !ids[first.UserID] || !ids[bob.User.ID] {
		t.Errorf("review lists %v, want Ada and Bob", ids)
	}
}
