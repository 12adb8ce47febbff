package login_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity/login"
	"github.com/signet-pki/signet/internal/identity/passkey"
	"github.com/signet-pki/signet/internal/identity/passkey/passkeytest"
	"github.com/signet-pki/signet/internal/secretscan"
)

const (
	rpID   = "signet.example"
	origin = "https://signet.example"
)

// withPasskeys serves passkeys for rpID, on the env's clock.
func withPasskeys(e *env, cfg *login.Config) {
	svc, err := passkey.New(passkey.Config{RPID: rpID, RPName: "Signet", Origins: []string{origin}}, e.store, e.clock)
	if err != nil {
		e.t.Fatal(err)
	}
	cfg.Passkeys = svc
}

// begun is the answer of a passkey begin.
type begun struct {
	Options  json.RawMessage `json:"options"`
	Ceremony string          `json:"ceremony"`
}

// begin posts to base+"/begin" and returns the options and ceremony.
func (e *env) begin(s *sess, base string) begun {
	e.t.Helper()
	r := e.do(s, "POST", base+"/begin", nil, false)
	if r.status != http.StatusOK {
		e.t.Fatalf("%s/begin: %d %s", base, r.status, r.body)
	}
	var b begun
	r.json(e.t, &b)
	if len(b.Options) == 0 || b.Ceremony == "" {
		e.t.Fatalf("%s/begin: %s", base, r.body)
	}
	return b
}

// finish posts the ceremony and response to base+"/finish".
func (e *env) finish(s *sess, base, ceremony string, response []byte, name string) resp {
	e.t.Helper()
	return e.do(s, "POST", base+"/finish", map[string]any{"ceremony": ceremony, "response": json.RawMessage(response), "name": name}, false)
}

// register registers a new passkey of a in s's session, which rotates.
func (e *env) register(s *sess, a *passkeytest.Authenticator, name string) {
	e.t.Helper()
	b := e.begin(s, "/v1/me/passkeys")
	res, err := a.Create(b.Options, origin)
	if err != nil {
		e.t.Fatal(err)
	}
	r := e.finish(s, "/v1/me/passkeys", b.Ceremony, res, name)
	if r.status != http.StatusOK {
		e.t.Fatalf("register: %d %s", r.status, r.body)
	}
	e.adopt(s, r)
}

// assert passes a passkey of a at base (/v1/auth/mfa/passkey or
// /v1/auth/step-up/passkey) and returns the finish's answer.
func (e *env) assert(s *sess, a *passkeytest.Authenticator, base string) resp {
	e.t.Helper()
	b := e.begin(s, base)
	res, err := a.Get(b.Options, origin)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.finish(s, base, b.Ceremony, res, "")
}

type sessionState struct {
	Pending     bool     `json:"pending"`
	MFA         string   `json:"mfa"`
	Factors     []string `json:"factors"`
	AuthMethods []string `json:"auth_methods"`
	StrongAuth  *struct {
		Method string    `json:"method"`
		At     time.Time `json:"at"`
	} `json:"strong_auth"`
}

func (e *env) state(s *sess) sessionState {
	e.t.Helper()
	r := e.do(s, "GET", "/v1/auth/session", nil, true)
	if r.status != http.StatusOK {
		e.t.Fatalf("session: %d %s", r.status, r.body)
	}
	var st sessionState
	r.json(e.t, &st)
	return st
}

// TestPasskeyFlow: a user who must enrol registers a passkey from the
// pending session (which completes the login), logs in with password and
// passkey, steps up with the passkey (StrongAuth "passkey" at the time),
// lists, adds (after a step-up) and removes passkeys, never the last one.
func TestPasskeyFlow(t *testing.T) {
	e := newEnv(t, withPasskeys)
	e.user("u-ann", true)
	a := &passkeytest.Authenticator{Synced: true}

	s := e.mustLogin("u-ann@example.org", "enrol")
	if r := e.do(s, "GET", "/v1/me/passkeys", nil, true); r.status != http.StatusUnauthorized || r.problemType() != "mfa-required" {
		t.Fatalf("list from a pending session: %d %s", r.status, r.body)
	}
	e.register(s, a, "Laptop")
	if st := e.state(s); st.Pending || st.StrongAuth == nil || st.StrongAuth.Method != "passkey" {
		t.Fatalf("after registering from a pending session: %+v", st)
	}
	if ev := e.audit.last(auditlog.UserMFAEnrolled); ev.Details["method"] != "passkey" || ev.Details["passkey"] == "" {
		t.Fatalf("enrolled event %+v", ev)
	}

	e.advance(time.Hour)
	p := e.mustLogin("u-ann@example.org", "required")
	if st := e.state(p); !st.Pending || strings.Join(st.Factors, ",") != "passkey" {
		t.Fatalf("pending session: %+v", st)
	}
	if r := e.do(p, "POST", "/v1/auth/step-up/passkey/begin", nil, false); r.status != http.StatusUnauthorized || r.problemType() != "mfa-required" {
		t.Fatalf("step-up from a pending session: %d %s", r.status, r.body)
	}
	r := e.assert(p, a, "/v1/auth/mfa/passkey")
	if r.status != http.StatusOK {
		t.Fatalf("second factor: %d %s", r.status, r.body)
	}
	old := *p
	e.adopt(p, r)
	if x := e.do(&old, "GET", "/v1/auth/session", nil, true); x.status != http.StatusUnauthorized {
		t.Fatalf("the session before the second factor still works: %d", x.status)
	}
	st := e.state(p)
	if st.Pending || st.MFA != "none" || strings.Join(st.AuthMethods, ",") != "pwd,hwk" || st.StrongAuth == nil || st.StrongAuth.Method != "passkey" {
		t.Fatalf("after the passkey: %+v", st)
	}
	if ev := e.audit.last(auditlog.UserLoggedIn); ev.Details["method"] != "passkey" || strings.Join(ev.Actor.AuthMethods, ",") != "pwd,hwk" || ev.Actor.AuthStrength != "aal2" {
		t.Fatalf("logged-in event %+v", ev)
	}

	// Past the step-up window a second passkey needs a step-up.
	e.advance(authz.DefaultStepUpWindow + time.Minute)
	b := &passkeytest.Authenticator{}
	if r := e.do(p, "POST", "/v1/me/passkeys/begin", nil, false); r.status != http.StatusUnauthorized || r.problemType() != "step-up-required" {
		t.Fatalf("second passkey without a step-up: %d %s", r.status, r.body)
	}
	r = e.assert(p, a, "/v1/auth/step-up/passkey")
	if r.status != http.StatusOK {
		t.Fatalf("step-up: %d %s", r.status, r.body)
	}
	e.adopt(p, r)
	pr, err := e.verify(p)
	if err != nil || pr.StrongAuth.Method != string(authz.MethodPasskey) || !pr.StrongAuth.At.Equal(e.clock()) {
		t.Fatalf("principal after the step-up %+v, %v", pr, err)
	}
	if ev := e.audit.last(auditlog.UserSteppedUp); ev.Details["method"] != "passkey" {
		t.Fatalf("stepped-up event %+v", ev)
	}
	e.register(p, b, "Key")

	r = e.do(p, "GET", "/v1/me/passkeys", nil, true)
	var list struct {
		Passkeys []struct {
			ID             string     `json:"id"`
			Name           string     `json:"name"`
			LastUsedAt     *time.Time `json:"last_used_at"`
			BackupEligible bool       `json:"backup_eligible"`
			BackupState    bool       `json:"backup_state"`
		} `json:"passkeys"`
	}
	r.json(t, &list)
	if r.status != 200 || len(list.Passkeys) != 2 || list.Passkeys[0].Name != "Laptop" || list.Passkeys[0].LastUsedAt == nil ||
		!list.Passkeys[0].BackupEligible || !list.Passkeys[0].BackupState || list.Passkeys[1].LastUsedAt != nil || list.Passkeys[1].BackupEligible {
		t.Fatalf("list: %d %s", r.status, r.body)
	}

	// Removal: after a step-up; another user's id is not found; the last
	// factor of a user who must have one stays.
	if r := e.do(p, "DELETE", "/v1/me/passkeys/"+list.Passkeys[1].ID, nil, false); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := e.do(p, "DELETE", "/v1/me/passkeys/"+list.Passkeys[1].ID, nil, false); r.status != http.StatusNotFound {
		t.Fatalf("delete again: %d %s", r.status, r.body)
	}
	if r := e.do(p, "DELETE", "/v1/me/passkeys/"+list.Passkeys[0].ID, nil, false); r.status != http.StatusConflict || r.problemType() != "last-factor" {
		t.Fatalf("delete the last factor: %d %s", r.status, r.body)
	}
	e.advance(authz.DefaultStepUpWindow + time.Minute)
	if r := e.do(p, "DELETE", "/v1/me/passkeys/"+list.Passkeys[0].ID, nil, false); r.status != http.StatusUnauthorized || r.problemType() != "step-up-required" {
		t.Fatalf("delete without a step-up: %d %s", r.status, r.body)
	}
	if n := e.audit.count(auditlog.UserMFARemoved); n != 1 {
		t.Fatalf("%d removal events, want 1", n)
	}

	// Another user's passkey is not found for Bob.
	e.user("u-bob", false)
	e.policy.MFAOptional = true
	bob := e.mustLogin("u-bob@example.org", "none")
	e.register(bob, &passkeytest.Authenticator{}, "")
	if r := e.do(bob, "DELETE", "/v1/me/passkeys/"+list.Passkeys[0].ID, nil, false); r.status != http.StatusNotFound {
		t.Fatalf("Bob deletes Ann's passkey: %d %s", r.status, r.body)
	}

	e.secrets = append(e.secrets, pw)
	if n := secretscan.Check(t, e.dir, e.secrets...); n == 0 {
		t.Fatal("no file scanned")
	}
}

// TestPasskeyEnrolmentBesideFactor: a pending session of a user who has
// a TOTP authenticator may not register a passkey (that would bypass the
// factor the login waits for).
func TestPasskeyEnrolmentBesideFactor(t *testing.T) {
	e := newEnv(t, withPasskeys)
	e.policy.MFAOptional = true
	e.user("u-ann", false)
	e.enrolTOTP(e.mustLogin("u-ann@example.org", "none"))
	p := e.mustLogin("u-ann@example.org", "required")
	for _, path := range []string{"/v1/me/passkeys/begin", "/v1/me/passkeys/finish"} {
		r := e.do(p, "POST", path, map[string]any{"ceremony": "x", "response": map[string]any{}}, false)
		if r.status != http.StatusUnauthorized || r.problemType() != "mfa-required" {
			t.Fatalf("%s from a pending session beside TOTP: %d %s", path, r.status, r.body)
		}
	}
	// The passkey second factor of a user without a passkey.
	if r := e.do(p, "POST", "/v1/auth/mfa/passkey/begin", nil, false); r.status != http.StatusConflict || r.problemType() != "no-passkey" {
		t.Fatalf("passkey begin without a passkey: %d %s", r.status, r.body)
	}
}

// TestPasskeyCeremonyRefused: a sealed ceremony finishes only in the
// session and for the purpose it was begun for, unchanged, in time, once.
func TestPasskeyCeremonyRefused(t *testing.T) {
	e := newEnv(t, withPasskeys)
	e.policy.MFAOptional = true
	e.user("u-ann", false)
	a := &passkeytest.Authenticator{}
	full := e.mustLogin("u-ann@example.org", "none")
	e.register(full, a, "")
	e.advance(time.Minute)
	p1 := e.mustLogin("u-ann@example.org", "required")
	p2 := e.mustLogin("u-ann@example.org", "required")

	refused := func(name string, r resp) {
		t.Helper()
		if r.status != http.StatusUnprocessableEntity || r.problemType() != "invalid-ceremony" {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
	}
	b := e.begin(p1, "/v1/auth/mfa/passkey")
	res, err := a.Get(b.Options, origin)
	if err != nil {
		t.Fatal(err)
	}
	refused("another session's ceremony", e.finish(p2, "/v1/auth/mfa/passkey", b.Ceremony, res, ""))
	raw, err := base64.RawURLEncoding.DecodeString(b.Ceremony)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, len(raw) / 2, len(raw) - 1} {
		raw[i] ^= 1
		refused("tampered ceremony", e.finish(p1, "/v1/auth/mfa/passkey", base64.RawURLEncoding.EncodeToString(raw), res, ""))
		raw[i] ^= 1
	}
	refused("garbage ceremony", e.finish(p1, "/v1/auth/mfa/passkey", "!!", res, ""))

	// Step-up ceremonies do not finish a login, nor the reverse.
	sb := e.begin(full, "/v1/auth/step-up/passkey")
	sres, err := a.Get(sb.Options, origin)
	if err != nil {
		t.Fatal(err)
	}
	refused("step-up ceremony at the second factor", e.finish(full, "/v1/auth/mfa/passkey", sb.Ceremony, sres, ""))
	refused("step-up ceremony at the registration", e.finish(full, "/v1/me/passkeys", sb.Ceremony, sres, ""))

	// Expired.
	e.advance(passkey.DefaultTimeout + time.Second)
	refused("expired ceremony", e.finish(p1, "/v1/auth/mfa/passkey", b.Ceremony, res, ""))

	// Used once: the finish rotates the session, so a replay (with the
	// new session, or the old cookie) fails.
	b = e.begin(p1, "/v1/auth/mfa/passkey")
	res, err = a.Get(b.Options, origin)
	if err != nil {
		t.Fatal(err)
	}
	r := e.finish(p1, "/v1/auth/mfa/passkey", b.Ceremony, res, "")
	if r.status != http.StatusOK {
		t.Fatalf("finish: %d %s", r.status, r.body)
	}
	old := *p1
	e.adopt(p1, r)
	if r := e.finish(&old, "/v1/auth/mfa/passkey", b.Ceremony, res, ""); r.status != http.StatusUnauthorized {
		t.Fatalf("replay with the old session: %d %s", r.status, r.body)
	}
	refused("replay in the rotated session", e.finish(p1, "/v1/auth/mfa/passkey", b.Ceremony, res, ""))

	// A registration replayed: refused by the ceremony's binding to the
	// rotated-away session, and in any session by the duplicate id.
	c := &passkeytest.Authenticator{}
	rb := e.begin(p1, "/v1/me/passkeys")
	cres, err := c.Create(rb.Options, origin)
	if err != nil {
		t.Fatal(err)
	}
	// (p1 authenticated strongly just now, so it may add a passkey.)
	r = e.finish(p1, "/v1/me/passkeys", rb.Ceremony, cres, "")
	if r.status != http.StatusOK {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	e.adopt(p1, r)
	refused("registration replayed", e.finish(p1, "/v1/me/passkeys", rb.Ceremony, cres, ""))
	rb2 := e.begin(p1, "/v1/me/passkeys")
	if r := e.finish(p1, "/v1/me/passkeys", rb2.Ceremony, cres, ""); r.status == http.StatusOK {
		t.Fatalf("an old registration response accepted against a new ceremony: %s", r.body)
	}

	// Not configured: 404.
	plain := newEnv(t)
	plain.policy.MFAOptional = true
	plain.user("u-ann", false)
	ps := plain.mustLogin("u-ann@example.org", "none")
	for _, path := range []string{"/v1/me/passkeys/begin", "/v1/auth/mfa/passkey/begin", "/v1/auth/step-up/passkey/begin"} {
		if r := plain.do(ps, "POST", path, nil, false); r.status != http.StatusNotFound || r.problemType() != "not-configured" {
			t.Fatalf("%s without passkeys: %d %s", path, r.status, r.body)
		}
	}
}

// TestPasskeyLockout: wrong passkeys (no user verification, a cloned
// authenticator's stale counter) count toward the second-factor lockout
// like wrong TOTP codes, and the lock holds the passkey routes.
func TestPasskeyLockout(t *testing.T) {
	e := newEnv(t, withPasskeys)
	e.policy.MFAOptional = true
	e.user("u-ann", false)
	a := &passkeytest.Authenticator{}
	e.register(e.mustLogin("u-ann@example.org", "none"), a, "")
	clone := a.Clone()
	if r := e.assert(e.mustLogin("u-ann@example.org", "required"), a, "/v1/auth/mfa/passkey"); r.status != http.StatusOK {
		t.Fatalf("passkey: %d %s", r.status, r.body)
	}
	p := e.mustLogin("u-ann@example.org", "required")
	// The clone's counter lags behind the original's.
	if r := e.assert(p, clone, "/v1/auth/mfa/passkey"); r.status != http.StatusUnauthorized || r.problemType() != "invalid-passkey" {
		t.Fatalf("cloned authenticator: %d %s", r.status, r.body)
	}
	a.NoUserVerification = true
	for i := 1; i < login.DefaultMaxFailures; i++ {
		if r := e.assert(p, a, "/v1/auth/mfa/passkey"); r.status != http.StatusUnauthorized || r.problemType() != "invalid-passkey" {
			t.Fatalf("wrong passkey %d: %d %s", i, r.status, r.body)
		}
	}
	if n := e.audit.count(auditlog.UserLoginFailed); n != login.DefaultMaxFailures {
		t.Fatalf("%d failures audited, want %d", n, login.DefaultMaxFailures)
	}
	if ev := e.audit.last(auditlog.UserLockedOut); ev.Details["method"] != "passkey" || ev.Details["scope"] != "second-factor" {
		t.Fatalf("locked-out event %+v", ev)
	}
	a.NoUserVerification = false
	r := e.do(p, "POST", "/v1/auth/mfa/passkey/begin", nil, false)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("begin while locked: %d %s", r.status, r.body)
	}
	// The TOTP and passkey factors share the lock.
	if r := e.do(p, "POST", "/v1/auth/mfa/totp", map[string]string{"code": "123456"}, false); r.status != http.StatusTooManyRequests {
		t.Fatalf("TOTP while locked: %d %s", r.status, r.body)
	}
	e.advance(login.DefaultLockoutDuration + time.Second)
	if r := e.assert(p, a, "/v1/auth/mfa/passkey"); r.status != http.StatusOK {
		t.Fatalf("passkey after the lock: %d %s", r.status, r.body)
	}
}
