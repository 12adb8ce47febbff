package login_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/login"
	"github.com/signet-pki/signet/internal/secretscan"
)

// TestNewNamesMissingFields: a config without its dependencies is refused
// with their names.
func TestNewNamesMissingFields(t *testing.T) {
	_, err := login.New(login.Config{})
	if err == nil {
		t.Fatal("empty config accepted")
	}
	for _, f := range []string{"Store", "Sealer", "Recorder", "Policy", "RecoveryKey", "Issuer"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not name %s", err, f)
		}
	}
}

// TestLogin: a password login sets a __Host- cookie (Secure, HttpOnly,
// SameSite=Strict, Path=/), answers the CSRF token and the MFA state,
// stores only hashes, and is audited with the method.
func TestLogin(t *testing.T) {
	e := newEnv(t)
	e.policy.MFAOptional = true
	e.user("u-ann", false)
	s, r := e.login(" Ann-placeholder", pw)
	if s != nil {
		t.Fatal("malformed address logged in")
	}
	s = e.mustLogin("U-Ann@Example.org", "none")
	c := s.cookie
	if c.Name != "__Host-signet_session" || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" {
		t.Fatalf("cookie %+v", c)
	}
	_, r = e.login("u-ann@example.org", pw)
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q on the login answer", cc)
	}
	r = e.do(s, "GET", "/v1/auth/session", nil, true)
	var info struct {
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		MFA         string   `json:"mfa"`
		Pending     bool     `json:"pending"`
		AuthMethods []string `json:"auth_methods"`
	}
	r.json(t, &info)
	if r.status != 200 || info.User.ID != "u-ann" || info.MFA != "none" || info.Pending || strings.Join(info.AuthMethods, ",") != "pwd" {
		t.Fatalf("session: %d %s", r.status, r.body)
	}
	ev := e.audit.last(auditlog.UserLoggedIn)
	if ev.Actor.ID != "u-ann" || ev.Actor.Kind != auditlog.ActorUser || strings.Join(ev.Actor.AuthMethods, ",") != "pwd" || ev.Tenant != tenant {
		t.Fatalf("logged-in event %+v", ev)
	}
	p, err := e.verify(s)
	if err != nil || p.Kind != api.PrincipalUser || p.ID != "u-ann" || p.Tenant != tenant || p.Pending || len(p.Session) != 64 {
		t.Fatalf("principal %+v, %v", p, err)
	}
}

// problemOf returns the parts of a problem that must not tell an unknown
// account from a known one.
func problemOf(r resp) string {
	return strconv.Itoa(r.status) + " " + r.problemType() + " " + r.header.Get("Retry-After") + " " + func() string {
		var p api.Problem
		_ = jsonUnmarshal(r.body, &p)
		return p.Title + " / " + p.Detail
	}()
}

// TestWrongPasswordAndUnknownUser: a wrong password, an unknown address,
// an unknown tenant and a disabled user get the same 401, and each
// failure is audited without the password.
func TestWrongPasswordAndUnknownUser(t *testing.T) {
	e := newEnv(t)
	e.user("u-ann", false)
	e.user("u-off", false)
	if _, err := e.store.DisableUser(t.Context(), tenant, "u-off", start); err != nil {
		t.Fatal(err)
	}
	_, wrong := e.login("u-ann@example.org", "not the password at all")
	want := problemOf(wrong)
	if wrong.status != 401 || wrong.problemType() != "invalid-credentials" {
		t.Fatalf("wrong password: %s", want)
	}
	for _, tc := range []struct{ name, tenant, email, pw string }{
		{"unknown address", tenant, "nobody@example.org", "not the password at all"},
		{"unknown tenant", "t-none", "u-ann@example.org", pw},
		{"disabled user, right password", tenant, "u-off@example.org", pw},
	} {
		r := e.do(nil, "POST", "/v1/auth/login", map[string]string{"tenant": tc.tenant, "email": tc.email, "password": tc.pw}, true)
		if got := problemOf(r); got != want || r.cookie() != nil {
			t.Errorf("%s: %q, want %q", tc.name, got, want)
		}
	}
	if n := e.audit.count(auditlog.UserLoginFailed); n != 4 {
		t.Fatalf("%d login_failed events, want 4", n)
	}
	for _, ev := range e.audit.events {
		for _, v := range ev.Details {
			if strings.Contains(v, pw) || strings.Contains(v, "not the password") {
				t.Fatalf("event %s carries the password", ev.Type)
			}
		}
	}
}

// TestLockout: five wrong passwords in the window lock the account for
// the lock's duration, for the right password too, with 429 and
// Retry-After, the same for an address that has no account; the failures
// and the lock are audited; the lock ends by itself. A client IP that
// fails across many accounts is locked too.
func TestLockout(t *testing.T) {
	e := newEnv(t)
	e.policy.MFAOptional = true
	e.user("u-ann", false)
	ann := &sess{ip: "198.51.100.1"}
	ghost := &sess{ip: "198.51.100.2"}
	try := func(s *sess, email, p string) resp {
		return e.do(s, "POST", "/v1/auth/login", map[string]string{"tenant": tenant, "email": email, "password": p}, true)
	}
	for i := range 5 {
		if r := try(ann, "u-ann@example.org", "wrong password "+strconv.Itoa(i)); r.status != 401 {
			t.Fatalf("failure %d: %d %s", i+1, r.status, r.body)
		}
		if r := try(ghost, "ghost@example.org", "wrong password "+strconv.Itoa(i)); r.status != 401 {
			t.Fatalf("unknown failure %d: %d %s", i+1, r.status, r.body)
		}
		e.advance(time.Minute)
	}
	locked := try(ann, "u-ann@example.org", pw)
	ghostLocked := try(ghost, "ghost@example.org", pw)
	if locked.status != 429 || locked.problemType() != "locked-out" || locked.cookie() != nil {
		t.Fatalf("locked account: %d %s", locked.status, locked.body)
	}
	if problemOf(locked) != problemOf(ghostLocked) {
		t.Fatalf("locked known %q, unknown %q", problemOf(locked), problemOf(ghostLocked))
	}
	// Locked at start+4m for 15 minutes; the clock is at start+5m.
	if ra := locked.header.Get("Retry-After"); ra != "840" {
		t.Errorf("Retry-After %q, want 840", ra)
	}
	if n := e.audit.count(auditlog.UserLoginFailed); n != 10 {
		t.Errorf("%d login_failed events, want 10", n)
	}
	if n := e.audit.count(auditlog.UserLockedOut); n != 2 {
		t.Errorf("%d locked_out events, want 2", n)
	}
	if ev := e.audit.last(auditlog.UserLockedOut); ev.Outcome != auditlog.OutcomeDenied || ev.Details["scope"] != "account" {
		t.Errorf("locked_out event %+v", ev)
	}
	e.advance(13 * time.Minute)
	if s, r := e.login("u-ann@example.org", pw); s != nil || r.status != 429 {
		t.Fatalf("login at the lock's last minute: %d", r.status)
	}
	e.advance(time.Minute)
	if s, r := e.login("u-ann@example.org", pw); s == nil {
		t.Fatalf("login after the lock: %d %s", r.status, r.body)
	}

	// One client trying many accounts: locked at the client limit.
	bot := &sess{ip: "203.0.113.9"}
	for i := range login.DefaultMaxClientFailures {
		if r := try(bot, "victim"+strconv.Itoa(i)+"@example.org", "guess"); r.status != 401 {
			t.Fatalf("client failure %d: %d", i+1, r.status)
		}
	}
	if r := try(bot, "u-ann@example.org", pw); r.status != 429 {
		t.Fatalf("locked client with a right password: %d %s", r.status, r.body)
	}
	if ev := e.audit.last(auditlog.UserLockedOut); ev.Details["scope"] != "client" {
		t.Errorf("client lock event %+v", ev)
	}
}

// TestTOTPLoginAndReplay: a user with TOTP gets a pending session that
// only the MFA routes accept; the code completes the login once: the
// code of a step already used (at enrolment, or at a previous login) is
// refused; the session rotates.
func TestTOTPLoginAndReplay(t *testing.T) {
	e := newEnv(t)
	e.policy.MFAOptional = true
	e.user("u-ann", false)
	s := e.mustLogin("u-ann@example.org", "none")
	k := e.enrolTOTP(s)
	if n := e.audit.count(auditlog.UserMFAEnrolled); n != 1 {
		t.Fatalf("%d mfa_enrolled events", n)
	}
	enrolCode := e.code(k)

	p := e.mustLogin("u-ann@example.org", "required")
	if pr, err := e.verify(p); err != nil || !pr.Pending || strings.Join(pr.AuthMethods, ",") != "pwd" {
		t.Fatalf("pending principal %+v, %v", pr, err)
	}
	for _, rt := range []struct{ method, path string }{
		{"PUT", "/v1/me/password"}, {"POST", "/v1/me/recovery-codes"}, {"DELETE", "/v1/me/mfa/totp"}, {"POST", "/v1/auth/step-up/totp"},
	} {
		if r := e.do(p, rt.method, rt.path, map[string]string{"code": enrolCode}, false); r.status != 401 || r.problemType() != "mfa-required" {
			t.Errorf("pending %s %s: %d %s", rt.method, rt.path, r.status, r.body)
		}
	}
	if r := e.do(p, "POST", "/v1/me/mfa/totp", nil, false); r.status != 401 || r.problemType() != "mfa-required" {
		t.Errorf("pending session enrolling a second TOTP: %d %s", r.status, r.body)
	}
	if r := e.do(p, "GET", "/v1/auth/session", nil, true); r.status != 200 || !bytes.Contains(r.body, []byte(`"pending":true`)) {
		t.Errorf("pending session info: %d %s", r.status, r.body)
	}
	if r := e.do(p, "POST", "/v1/auth/mfa/totp", map[string]string{"code": enrolCode}, false); r.status != 401 || r.problemType() != "invalid-code" {
		t.Fatalf("replayed enrolment code: %d %s", r.status, r.body)
	}
	e.advance(30 * time.Second)
	code := e.code(k)
	old := *p
	r := e.do(p, "POST", "/v1/auth/mfa/totp", map[string]string{"code": code}, false)
	if r.status != 200 {
		t.Fatalf("TOTP: %d %s", r.status, r.body)
	}
	e.adopt(p, r)
	if p.cookie.Value == old.cookie.Value {
		t.Fatal("the session did not rotate")
	}
	if _, err := e.verify(&old); !errors.Is(err, api.ErrUnauthorized) {
		t.Fatalf("old token after rotation: %v", err)
	}
	pr, err := e.verify(p)
	if err != nil || pr.Pending || pr.StrongAuth.Method != "totp" || !pr.StrongAuth.At.Equal(e.clock()) || strings.Join(pr.AuthMethods, ",") != "pwd,otp" {
		t.Fatalf("principal after TOTP %+v, %v", pr, err)
	}
	if ev := e.audit.last(auditlog.UserLoggedIn); strings.Join(ev.Actor.AuthMethods, ",") != "pwd,otp" {
		t.Fatalf("logged_in after TOTP: %+v", ev.Actor)
	}
	// The same code on another pending login is a replay.
	q := e.mustLogin("u-ann@example.org", "required")
	if r := e.do(q, "POST", "/v1/auth/mfa/totp", map[string]string{"code": code}, false); r.status != 401 {
		t.Fatalf("the same code twice: %d %s", r.status, r.body)
	}
}

// TestSecondFactorLockout: five wrong codes lock the user's second
// factor, the right code too.
func TestSecondFactorLockout(t *testing.T) {
	e := newEnv(t)
	e.policy.MFAOptional = true
	e.user("u-ann", false)
	k := e.enrolTOTP(e.mustLogin("u-ann@example.org", "none"))
	p := e.mustLogin("u-ann@example.org", "required")
	e.advance(time.Minute)
	right := e.code(k)
	wrong := "000000"
	if wrong == right {
		wrong = "000001"
	}
	for i := range 5 {
		if r := e.do(p, "POST", "/v1/auth/mfa/totp", map[string]string{"code": wrong}, false); r.status != 401 {
			t.Fatalf("wrong code %d: %d", i+1, r.status)
		}
	}
	if r := e.do(p, "POST", "/v1/auth/mfa/totp", map[string]string{"code": right}, false); r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("right code while locked: %d %s", r.status, r.body)
	}
	if r := e.do(p, "POST", "/v1/auth/mfa/recovery", map[string]string{"code": "AAAA-BBBB-CCCC"}, false); r.status != 429 {
		t.Fatalf("recovery code while locked: %d %s", r.status, r.body)
	}
	if ev := e.audit.last(auditlog.UserLockedOut); ev.Actor.ID != "u-ann" || ev.Details["scope"] != "second-factor" {
		t.Fatalf("locked_out %+v", ev)
	}
}

// TestRecoveryCode: codes are issued after a step-up only, shown once,
// complete a pending login once each, and are no step-up themselves.
func TestRecoveryCode(t *testing.T) {
	e := newEnv(t)
	e.policy.MFAOptional = true
	e.user("u-ann", false)
	s := e.mustLogin("u-ann@example.org", "none")
	if r := e.do(s, "POST", "/v1/me/recovery-codes", nil, false); r.status != 401 || r.problemType() != "step-up-required" {
		t.Fatalf("codes without step-up: %d %s", r.status, r.body)
	}
	e.enrolTOTP(s) // the confirmation is a strong authentication
	r := e.do(s, "POST", "/v1/me/recovery-codes", nil, false)
	if r.status != 201 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("codes: %d %s", r.status, r.body)
	}
	var codes struct {
		Codes []string `json:"codes"`
	}
	r.json(t, &codes)
	if len(codes.Codes) != 10 {
		t.Fatalf("%d codes", len(codes.Codes))
	}
	e.secrets = append(e.secrets, codes.Codes...)

	p := e.mustLogin("u-ann@example.org", "required")
	r = e.do(p, "POST", "/v1/auth/mfa/recovery", map[string]string{"code": strings.ToLower(codes.Codes[3])}, false)
	if r.status != 200 {
		t.Fatalf("recovery code: %d %s", r.status, r.body)
	}
	e.adopt(p, r)
	pr, err := e.verify(p)
	if err != nil || pr.Pending || pr.StrongAuth.Method != "" {
		t.Fatalf("principal after a recovery code %+v, %v (a recovery code is no step-up)", pr, err)
	}
	q := e.mustLogin("u-ann@example.org", "required")
	if r := e.do(q, "POST", "/v1/auth/mfa/recovery", map[string]string{"code": codes.Codes[3]}, false); r.status != 401 || r.problemType() != "invalid-code" {
		t.Fatalf("used code again: %d %s", r.status, r.body)
	}
	if r := e.do(q, "POST", "/v1/auth/mfa/recovery", map[string]string{"code": codes.Codes[4]}, false); r.status != 200 {
		t.Fatalf("another code: %d %s", r.status, r.body)
	}
}

// TestSessionFixation: a cookie the browser had before the login (an
// attacker's planted token) is not the session after it, and is dead.
func TestSessionFixation(t *testing.T) {
	e := newEnv(t)
	e.policy.MFAOptional = true
	e.user("u-ann", false)
	e.user("u-eve", false)
	eve := e.mustLogin("u-eve@example.org", "none")
	planted := &sess{cookie: eve.cookie}
	r := e.do(planted, "POST", "/v1/auth/login", map[string]string{"tenant": tenant, "email": "u-ann@example.org", "password": pw}, true)
	if r.status != 200 {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	ann := r.cookie()
	if ann == nil || ann.Value == eve.cookie.Value {
		t.Fatal("the login kept the planted token")
	}
	if _, err := e.verify(planted); !errors.Is(err, api.ErrUnauthorized) {
		t.Fatalf("planted token after the login: %v", err)
	}
	// A made-up token never becomes a session either.
	made := &sess{cookie: &http.Cookie{Name: ann.Name, Value: strings.Repeat("A", 43)}}
	if r := e.do(made, "GET", "/v1/auth/session", nil, true); r.status != 401 {
		t.Fatalf("made-up token: %d", r.status)
	}
}

// TestCSRF: unsafe methods need the session's CSRF token; safe ones do
// not.
func TestCSRF(t *testing.T) {
	e := newEnv(t)
	e.policy.MFAOptional = true
	e.user("u-ann", false)
	e.user("u-bob", false)
	s := e.mustLogin("u-ann@example.org", "none")
	bob := e.mustLogin("u-bob@example.org", "none")
	if r := e.do(s, "POST", "/v1/auth/logout", nil, true); r.status != 403 || r.problemType() != "csrf-token-invalid" {
		t.Fatalf("no token: %d %s", r.status, r.body)
	}
	for _, bad := range []string{"wrong", bob.csrf, s.csrf + "x"} {
		w := &sess{cookie: s.cookie, csrf: bad}
		if r := e.do(w, "POST", "/v1/auth/logout", nil, false); r.status != 403 {
			t.Fatalf("token %q: %d", bad, r.status)
		}
	}
	if r := e.do(s, "GET", "/v1/auth/session", nil, true); r.status != 200 {
		t.Fatalf("GET without token: %d", r.status)
	}
	if r := e.do(s, "POST", "/v1/auth/logout", nil, false); r.status != 204 {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	if r := e.do(s, "GET", "/v1/auth/session", nil, true); r.status != 401 {
		t.Fatalf("after logout: %d", r.status)
	}
	if e.audit.count(auditlog.UserLoggedOut) != 1 {
		t.Fatal("logout not audited")
	}
}

// TestTimeouts: a session idle for the idle timeout, or past its absolute
// end however active, is refused and deleted; activity is written at
// most once a minute.
func TestTimeouts(t *testing.T) {
	e := newEnv(t)
	e.policy.MFAOptional = true
	e.user("u-ann", false)
	idle := e.mustLogin("u-ann@example.org", "none")
	e.advance(29 * time.Minute)
	if _, err := e.verify(idle); err != nil {
		t.Fatalf("29 minutes idle: %v", err)
	}
	sessHash := func(s *sess) [32]byte {
		p, err := e.verify(s)
		if err != nil {
			t.Fatal(err)
		}
		var h [32]byte
		for i := range h {
			v, _ := strconv.ParseUint(p.Session[2*i:2*i+2], 16, 8)
			h[i] = byte(v)
		}
		return h
	}
	h := sessHash(idle)
	stored, _ := e.store.SessionByHash(t.Context(), h)
	if !stored.LastSeen.Equal(e.clock()) {
		t.Fatalf("LastSeen %v, want %v", stored.LastSeen, e.clock())
	}
	e.advance(30 * time.Second)
	sessHash(idle)
	if again, _ := e.store.SessionByHash(t.Context(), h); !again.LastSeen.Equal(stored.LastSeen) {
		t.Fatalf("LastSeen written again within a minute: %v", again.LastSeen)
	}
	e.advance(30 * time.Minute)
	if _, err := e.verify(idle); !errors.Is(err, api.ErrUnauthorized) {
		t.Fatalf("idle session: %v", err)
	}
	if _, err := e.store.SessionByHash(t.Context(), h); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("idle session still stored: %v", err)
	}

	active := e.mustLogin("u-ann@example.org", "none")
	for range 12*3 - 1 {
		e.advance(20 * time.Minute)
		if _, err := e.verify(active); err != nil {
			t.Fatalf("active session at %v: %v", e.clock(), err)
		}
	}
	e.advance(20 * time.Minute) // 12 hours after the login
	if _, err := e.verify(active); !errors.Is(err, api.ErrUnauthorized) {
		t.Fatalf("session past its absolute end: %v", err)
	}
}

// TestDisabledUser: a disabled user's session stops working on the next
// request.
func TestDisabledUser(t *testing.T) {
	e := newEnv(t)
	e.policy.MFAOptional = true
	e.user("u-ann", false)
	s := e.mustLogin("u-ann@example.org", "none")
	if r := e.do(s, "GET", "/v1/auth/session", nil, true); r.status != 200 {
		t.Fatal(r.status)
	}
	if _, err := e.store.DisableUser(t.Context(), tenant, "u-ann", e.clock()); err != nil {
		t.Fatal(err)
	}
	if r := e.do(s, "GET", "/v1/auth/session", nil, true); r.status != 401 {
		t.Fatalf("disabled user's session: %d", r.status)
	}
}

// disabledView is a store that sees one user disabled while their
// sessions are still stored (as a node might between another node's
// DisableUser and its own reads).
type disabledView struct {
	identity.Store
	id string
}

func (d disabledView) UserByID(ctx context.Context, tenant, id string) (identity.User, error) {
	u, err := d.Store.UserByID(ctx, tenant, id)
	if err == nil && id == d.id {
		u.Status, u.DisabledAt = identity.StatusDisabled, start
	}
	return u, err
}

// TestDisabledUserStatusChecked: the verifier reads the user's status on
// every request, not only the session: a session of a user it sees
// disabled is refused and deleted.
func TestDisabledUserStatusChecked(t *testing.T) {
	e := newEnv(t)
	e.policy.MFAOptional = true
	e.user("u-ann", false)
	s := e.mustLogin("u-ann@example.org", "none")
	svc, err := login.New(login.Config{
		Store: disabledView{e.store, "u-ann"}, Sealer: newGCM(t), Recorder: e.audit, RecoveryKey: make([]byte, 32), Issuer: "Signet",
		Policy: func(context.Context, string) (authz.TenantPolicy, error) { return e.policy, nil }, Now: e.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/v1/auth/session", nil)
	r.AddCookie(&http.Cookie{Name: s.cookie.Name, Value: s.cookie.Value})
	if _, err := svc.VerifySession(r); !errors.Is(err, api.ErrUnauthorized) {
		t.Fatalf("session of a disabled user: %v", err)
	}
	if _, err := e.verify(s); !errors.Is(err, api.ErrUnauthorized) {
		t.Fatalf("the refused session was not deleted: %v", err)
	}
}

// TestMFAEnrolRequired: a user who holds a grant must enrol a second
// factor under the default policy; the pending session may enrol, and
// the confirmation completes the login. With MFA optional, no enrolment.
func TestMFAEnrolRequired(t *testing.T) {
	e := newEnv(t)
	e.user("u-ann", false)
	e.user("u-bob", false)
	if err := e.store.AddGrant(t.Context(), identity.Grant{ID: "g-1", Tenant: tenant, UserID: "u-ann", Role: "sender", GrantedBy: "u-admin", GrantedAt: start}); err != nil {
		t.Fatal(err)
	}
	e.mustLogin("u-bob@example.org", "none") // no grant: no second factor needed
	p := e.mustLogin("u-ann@example.org", "enrol")
	if r := e.do(p, "POST", "/v1/auth/step-up/totp", map[string]string{"code": "123456"}, false); r.status != 401 {
		t.Fatalf("pending step-up: %d", r.status)
	}
	e.enrolTOTP(p)
	pr, err := e.verify(p)
	if err != nil || pr.Pending || pr.StrongAuth.Method != "totp" {
		t.Fatalf("after enrolment: %+v %v", pr, err)
	}
	if e.audit.last(auditlog.UserLoggedIn).Actor.ID != "u-ann" {
		t.Fatal("the completed login was not audited")
	}

	// A grant given after a password-only login makes the session
	// pending on its next request.
	b := e.mustLogin("u-bob@example.org", "none")
	if err := e.store.AddGrant(t.Context(), identity.Grant{ID: "g-2", Tenant: tenant, UserID: "u-bob", Role: "sender", GrantedBy: "u-admin", GrantedAt: e.clock()}); err != nil {
		t.Fatal(err)
	}
	if pr, err := e.verify(b); err != nil || !pr.Pending {
		t.Fatalf("password-only session of a new grantee: %+v %v", pr, err)
	}
	e.policy.MFAOptional = true
	if pr, _ := e.verify(b); pr.Pending {
		t.Fatal("pending although the policy makes MFA optional")
	}
}

// TestStepUp: removing TOTP needs a strong authentication within the
// window; the step-up records it, rotates the session and is audited.
func TestStepUp(t *testing.T) {
	e := newEnv(t)
	e.policy.MFAOptional = true
	e.user("u-ann", false)
	s := e.mustLogin("u-ann@example.org", "none")
	k := e.enrolTOTP(s)
	e.advance(11 * time.Minute) // past the default 10-minute window
	r := e.do(s, "DELETE", "/v1/me/mfa/totp", nil, false)
	if r.status != 401 || r.problemType() != "step-up-required" {
		t.Fatalf("stale: %d %s", r.status, r.body)
	}
	var prob api.Problem
	r.json(t, &prob)
	if prob.StepUp == nil || prob.StepUp.MaxAge != 600 || len(prob.StepUp.Methods) == 0 {
		t.Fatalf("step-up problem %s", r.body)
	}
	old := *s
	r = e.do(s, "POST", "/v1/auth/step-up/totp", map[string]string{"code": e.code(k)}, false)
	if r.status != 200 {
		t.Fatalf("step-up: %d %s", r.status, r.body)
	}
	e.adopt(s, r)
	if _, err := e.verify(&old); err == nil {
		t.Fatal("the pre-step-up token still works")
	}
	pr, err := e.verify(s)
	if err != nil || pr.StrongAuth.Method != "totp" || !pr.StrongAuth.At.Equal(e.clock()) {
		t.Fatalf("principal %+v %v", pr, err)
	}
	if ev := e.audit.last(auditlog.UserSteppedUp); ev.Actor.ID != "u-ann" || ev.Details["method"] != "totp" {
		t.Fatalf("stepped_up event %+v", ev)
	}
	if r := e.do(s, "DELETE", "/v1/me/mfa/totp", nil, false); r.status != 204 {
		t.Fatalf("delete after step-up: %d %s", r.status, r.body)
	}
	if e.audit.count(auditlog.UserMFARemoved) != 1 {
		t.Fatal("removal not audited")
	}
}

// TestChangePassword: the current password is checked, a weak new one
// refused, and a change ends the other sessions and rotates this one.
func TestChangePassword(t *testing.T) {
	e := newEnv(t)
	e.policy.MFAOptional = true
	e.user("u-ann", false)
	s := e.mustLogin("u-ann@example.org", "none")
	other := e.mustLogin("u-ann@example.org", "none")
	const next = "a much longer passphrase of mine"
	e.secrets = append(e.secrets, pw, next)
	if r := e.do(s, "PUT", "/v1/me/password", map[string]string{"current": "wrong", "new": next}, false); r.status != 403 {
		t.Fatalf("wrong current: %d %s", r.status, r.body)
	}
	for _, weak := range []string{"short", "password1234567890", "u-ann-example-org-signet"} {
		if r := e.do(s, "PUT", "/v1/me/password", map[string]string{"current": pw, "new": weak}, false); r.status != 422 || r.problemType() != "weak-password" {
			t.Fatalf("weak %q: %d %s", weak, r.status, r.body)
		}
	}
	old := *s
	r := e.do(s, "PUT", "/v1/me/password", map[string]string{"current": pw, "new": next}, false)
	if r.status != 200 {
		t.Fatalf("change: %d %s", r.status, r.body)
	}
	e.adopt(s, r)
	for name, x := range map[string]*sess{"other session": other, "old token": &old} {
		if _, err := e.verify(x); !errors.Is(err, api.ErrUnauthorized) {
			t.Errorf("%s after the change: %v", name, err)
		}
	}
	if _, err := e.verify(s); err != nil {
		t.Fatalf("rotated session: %v", err)
	}
	if x, _ := e.login("u-ann@example.org", pw); x != nil {
		t.Fatal("the old password still works")
	}
	if x, r := e.login("u-ann@example.org", next); x == nil {
		t.Fatalf("new password: %d %s", r.status, r.body)
	}
}

// TestAuditDownFailsClosed: a login that cannot be audited does not
// happen.
func TestAuditDownFailsClosed(t *testing.T) {
	e := newEnv(t)
	e.policy.MFAOptional = true
	e.user("u-ann", false)
	e.audit.fail = true
	if s, r := e.login("u-ann@example.org", pw); s != nil || r.status < 500 {
		t.Fatalf("login without audit: %d %s", r.status, r.body)
	}
}

// TestPendingAllowed: the routes open to a pending principal.
func TestPendingAllowed(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		want         bool
	}{
		{"POST", "/v1/auth/mfa/totp", true},
		{"POST", "/v1/auth/mfa/recovery", true},
		{"POST", "/v1/auth/mfa/passkey/finish", true},
		{"POST", "/v1/me/mfa/totp", true},
		{"POST", "/v1/me/mfa/totp/confirm", true},
		{"DELETE", "/v1/me/mfa/totp", false},
		{"POST", "/v1/auth/logout", true},
		{"GET", "/v1/auth/session", true},
		{"POST", "/v1/auth/step-up/totp", false},
		{"POST", "/v1/me/recovery-codes", false},
		{"PUT", "/v1/me/password", false},
		{"GET", "/v1/envelopes", false},
		{"POST", "/v1/auth/mfa", false},
		{"POST", "/v1/auth/mfa/passkey/begin", true},
		{"POST", "/v1/me/passkeys/begin", true},
		{"POST", "/v1/me/passkeys/finish", true},
		{"GET", "/v1/me/passkeys", false},
		{"DELETE", "/v1/me/passkeys/abc", false},
		{"POST", "/v1/auth/step-up/passkey/begin", false},
		{"POST", "/v1/auth/step-up/passkey/finish", false},
	} {
		if got := login.PendingAllowed(httptest.NewRequest(tc.method, tc.path, nil)); got != tc.want {
			t.Errorf("%s %s: %v, want %v", tc.method, tc.path, got, tc.want)
		}
	}
}

// TestOpenAPIMatchesRoutes: every registered route is documented and
// declares an action or security: [], and only the logins (password,
// OIDC start and callback) are public.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	e := newEnv(t)
	rt := api.NewRouter()
	e.svc.Register(rt)
	routes, err := api.OpenAPIRoutes(login.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(rt.Patterns(), "\n"), strings.Join(routes, "\n"); got != want {
		t.Fatalf("registered:\n%s\ndocumented:\n%s", got, want)
	}
	access, err := api.OpenAPIAccess(login.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	for route, a := range access {
		public := route == "POST /v1/auth/login" || route == "GET /v1/auth/oidc/{provider}/start" || route == "GET /v1/auth/oidc/{provider}/callback"
		if !a.Declared() || a.Public != public {
			t.Errorf("%s declares %+v", route, a)
		}
	}
}

// TestNoSecretsAtRest: after the flows, signet.db (with its WAL) holds no
// password, session or CSRF token, TOTP secret or recovery code.
func TestNoSecretsAtRest(t *testing.T) {
	e := newEnv(t)
	e.policy.MFAOptional = true
	e.user("u-ann", false)
	s := e.mustLogin("u-ann@example.org", "none")
	k := e.enrolTOTP(s)
	r := e.do(s, "POST", "/v1/me/recovery-codes", nil, false)
	var codes struct {
		Codes []string `json:"codes"`
	}
	r.json(t, &codes)
	e.secrets = append(e.secrets, codes.Codes...)
	e.advance(time.Minute)
	p := e.mustLogin("u-ann@example.org", "required")
	e.adopt(p, e.do(p, "POST", "/v1/auth/mfa/totp", map[string]string{"code": e.code(k)}, false))
	if x, _ := e.login("u-ann@example.org", "a wrong password"); x != nil {
		t.Fatal("wrong password accepted")
	}
	// The lockout keys are stored hashed.
	e.secrets = append(e.secrets, pw, "a wrong password", "login\x00t-1\x00u-ann@example.org", "login-ip\x00192.0.2.1")
	if n := secretscan.Check(t, e.dir, e.secrets...); n == 0 {
		t.Fatal("no file scanned")
	}
	if len(e.secrets) < 20 {
		t.Fatalf("only %d secrets collected", len(e.secrets))
	}
}

// TestSessionRoles: GET /v1/auth/session names the roles of the user's
// grants in force now, each once and sorted: not an expired grant, not
// one that starts later, not a revoked one.
func TestSessionRoles(t *testing.T) {
	e := newEnv(t)
	e.policy.MFAOptional = true
	e.user("u-ann", false)
	now := e.clock()
	for _, g := range []identity.Grant{
		{ID: "g-1", Role: "sender"},
		{ID: "g-2", Role: "sender", NotAfter: now.Add(time.Hour)},
		{ID: "g-3", Role: "auditor", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)},
		{ID: "g-4", Role: "tenant-admin", NotBefore: now.Add(-2 * time.Hour), NotAfter: now.Add(-time.Hour)},
		{ID: "g-5", Role: "key-custodian", NotBefore: now.Add(time.Hour)},
		{ID: "g-6", Role: "approver"},
	} {
		g.Tenant, g.UserID, g.GrantedBy, g.GrantedAt = tenant, "u-ann", "u-boss", now.Add(-3*time.Hour)
		if err := e.store.AddGrant(t.Context(), g); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.store.RevokeGrant(t.Context(), tenant, "g-6", "u-boss", now); err != nil {
		t.Fatal(err)
	}
	s := e.mustLogin("u-ann@example.org", "none")
	var info struct {
		Roles []string `json:"roles"`
	}
	r := e.do(s, "GET", "/v1/auth/session", nil, true)
	r.json(t, &info)
	if r.status != 200 || strings.Join(info.Roles, ",") != "auditor,sender" {
		t.Fatalf("session: %d %s", r.status, r.body)
	}
}
