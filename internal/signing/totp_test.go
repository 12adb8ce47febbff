package signing_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/login"
	"github.com/signet-pki/signet/internal/identity/totp"
	"github.com/signet-pki/signet/internal/secretscan"
	"github.com/signet-pki/signet/internal/signing"
	"github.com/signet-pki/signet/internal/workflow"
)

// gcmSealer is the tests' sealer of TOTP secrets: AES-256-GCM with a
// random nonce before the ciphertext, authenticating the associated data.
type gcmSealer struct{ aead cipher.AEAD }

func newGCMSealer(t testing.TB) gcmSealer {
	key := make([]byte, 32)
	rand.Read(key)
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	a, err := cipher.NewGCM(b)
	if err != nil {
		t.Fatal(err)
	}
	return gcmSealer{a}
}

func (g gcmSealer) Seal(plain, ad []byte) ([]byte, error) {
	nonce := make([]byte, g.aead.NonceSize())
	rand.Read(nonce)
	return g.aead.Seal(nonce, nonce, plain, ad), nil
}

func (g gcmSealer) Open(sealed, ad []byte) ([]byte, error) {
	n := g.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("short")
	}
	return g.aead.Open(nil, sealed[:n], sealed[n:], ad)
}

// enrolTOTP gives u a TOTP enrolment, sealed as the login service seals
// it, confirmed (by a step before the current window, so that the codes
// of the window still verify) unless pending is set, and returns its key.
func (e *env) enrolTOTP(u identity.User, pending bool) totp.Key {
	e.t.Helper()
	ctx := context.Background()
	k, err := totp.GenerateKey(totp.SHA1, 6)
	if err != nil {
		e.t.Fatal(err)
	}
	sealed, err := login.SealTOTPKey(e.totpSealer, u, k)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.users.SetTOTP(ctx, tenant, identity.TOTPEnrolment{UserID: u.ID, SealedSecret: sealed}); err != nil {
		e.t.Fatal(err)
	}
	if !pending {
		if err := e.users.AcceptTOTPStep(ctx, tenant, u.ID, totp.StepAt(e.clock.Now())-3, e.clock.Now()); err != nil {
			e.t.Fatal(err)
		}
	}
	return k
}

// totpCode returns k's code now.
func (e *env) totpCode(k totp.Key) string {
	e.t.Helper()
	c, err := k.CodeAt(e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// wrongTOTP returns a code of k's length that matches no step of the
// current window.
func (e *env) wrongTOTP(k totp.Key) string {
	e.t.Helper()
	now := totp.StepAt(e.clock.Now())
	var window []string
	for s := now - totp.Skew; s <= now+totp.Skew; s++ {
		c, err := k.Code(s)
		if err != nil {
			e.t.Fatal(err)
		}
		window = append(window, c)
	}
	for i := 0; ; i++ {
		if c := fmt.Sprintf("%0*d", k.Digits, i); !slices.Contains(window, c) {
			return c
		}
	}
}

// verifyTOTP posts code to /verify with link and returns the status, the
// problem and the session token.
func (e *env) verifyTOTP(link, code string) (int, api.Problem, string) {
	e.t.Helper()
	var v struct{ Session string }
	st, p := e.call("POST", "/v1/recipient/verify", "Link", link, map[string]string{"code": code}, &v)
	return st, p, v.Session
}

func totpSigner(name, email string, order int) workflow.RecipientInput {
	return workflow.RecipientInput{Role: workflow.RoleSigner, Name: name, Email: email, Auth: workflow.AuthTOTP, Order: order}
}

// TestTOTPRecipientSigns: a totp recipient (a registered user with a
// confirmed TOTP enrolment) gets no code from /code (409, nothing sent),
// verifies with a code of their authenticator, and signs; the session,
// the audit events and the signer certificate inside the signed PDF
// carry otp and user at aal2, and the accepted step is stored as the
// enrolment's last.
func TestTOTPRecipientSigns(t *testing.T) {
	e := newEnv(t)
	u := e.user("ann@example.com", nil)
	k := e.enrolTOTP(u, false)
	env := e.sendDeed(1, false, totpSigner("Ann", "ann@example.com", 1))
	rcp := env.Recipients[0].ID
	link := e.link("ann@example.com", 1)
	if msgs := e.mailbox.To("ann@example.com"); !strings.Contains(msgs[0].Body, "authenticator app") {
		t.Fatalf("the link e-mail does not say what is asked: %q", msgs[0].Body)
	}

	if st, p := e.call("POST", "/v1/recipient/code", "Link", link, nil, nil); st != http.StatusConflict || p.Type != api.ProblemBase+"no-code-to-send" {
		t.Fatalf("code: %d %+v", st, p)
	}
	if n := len(e.mailbox.To("ann@example.com")); n != 1 {
		t.Fatalf("%d messages to the recipient, want the link only", n)
	}
	if st, p := e.call("POST", "/v1/recipient/passkey/begin", "Link", link, nil, nil); st != http.StatusConflict || p.Type != api.ProblemBase+"not-a-passkey-recipient" {
		t.Fatalf("passkey begin: %d %+v", st, p)
	}

	at := e.clock.Now()
	st, p, ss := e.verifyTOTP(link, e.totpCode(k))
	if st != http.StatusOK {
		t.Fatalf("verify: %d %+v", st, p)
	}
	en, err := e.users.TOTP(context.Background(), tenant, u.ID)
	if err != nil || en.LastStep != totp.StepAt(at) {
		t.Fatalf("last step %d, want %d (%v)", en.LastStep, totp.StepAt(at), err)
	}
	res := e.signAs(ss)
	if len(res.Signed) != 1 || !res.Completed {
		t.Fatalf("sign result %+v", res)
	}

	var mine string
	for _, s := range e.audit.byType(auditlog.SignatureCreated) {
		mine = s.Subject.DocumentSHA256
		if s.Details["auth_method"] != "totp" || s.Details["auth_time"] != at.UTC().Format(time.RFC3339) ||
			!slices.Equal(s.Actor.AuthMethods, []string{"otp", "user"}) || s.Actor.AuthStrength != "aal2" {
			t.Fatalf("signature.created %+v %+v", s.Actor, s.Details)
		}
	}
	ev := e.lastSignerEvidence(e.blob(mine))
	if !slices.Equal(ev.Methods, []string{"otp", "user"}) || ev.AssuranceLevel != "aal2" || !ev.Time.Equal(at) || ev.SigningIntent != nil {
		t.Fatalf("evidence %v %s %v %v", ev.Methods, ev.AssuranceLevel, ev.Time, ev.SigningIntent)
	}
	// The secret is stored sealed only: it is in no stored file (the
	// six-digit code is not scanned for: digits occur in any PDF), and
	// neither it nor the session token is in a log line.
	if n := secretscan.Check(t, e.dir, string(k.Secret), ss); n == 0 {
		t.Fatal("no file scanned")
	}
	for _, sec := range []string{string(k.Secret), ss} {
		if strings.Contains(e.logs.String(), sec) {
			t.Fatal("the TOTP secret or the session token is in the logs")
		}
	}
	evs := e.audit.authEvents(rcp)
	if len(evs) != 1 || evs[0].Outcome != auditlog.OutcomeSuccess || evs[0].Details["method"] != "totp" ||
		evs[0].Details["user_id"] != u.ID || evs[0].Actor.AuthStrength != "aal2" ||
		!slices.Equal(evs[0].Actor.AuthMethods, []string{"otp", "user"}) {
		t.Fatalf("authentication events %+v", evs)
	}
}

// TestTOTPReplay: a code accepted once, for a recipient or at login (the
// same enrolment's last step), is refused for another recipient of the
// same user (401 invalid-code, counted toward that recipient's lockout);
// the next step's code verifies.
func TestTOTPReplay(t *testing.T) {
	e := newEnv(t)
	u := e.user("ann@example.com", nil)
	k := e.enrolTOTP(u, false)
	first := e.sendDeed(1, false, totpSigner("Ann", "ann@example.com", 1))
	second := e.sendDeed(1, false, totpSigner("Ann", "ann@example.com", 1))
	third := e.sendDeed(1, false, totpSigner("Ann", "ann@example.com", 1))
	code := e.totpCode(k)
	if st, p, _ := e.verifyTOTP(e.link("ann@example.com", 1), code); st != http.StatusOK {
		t.Fatalf("verify: %d %+v", st, p)
	}
	link2 := e.link("ann@example.com", 2)
	if st, p, _ := e.verifyTOTP(link2, code); st != http.StatusUnauthorized || p.Type != api.ProblemBase+"invalid-code" {
		t.Fatalf("replayed code: %d %+v", st, p)
	}
	s, err := e.store.AuthState(context.Background(), second.ID, second.Recipients[0].ID)
	if err != nil || s.Failures != 1 {
		t.Fatalf("state after the replay %+v, %v", s, err)
	}

	// A code the login accepted (its step stored) is refused here too.
	e.clock.Advance(totp.Step)
	login := e.totpCode(k)
	if err := e.users.AcceptTOTPStep(context.Background(), tenant, u.ID, totp.StepAt(e.clock.Now()), e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	link3 := e.link("ann@example.com", 3)
	if st, p, _ := e.verifyTOTP(link3, login); st != http.StatusUnauthorized || p.Type != api.ProblemBase+"invalid-code" {
		t.Fatalf("code used at login: %d %+v", st, p)
	}
	evs := e.audit.authEvents(third.Recipients[0].ID)
	if len(evs) != 1 || evs[0].Outcome != auditlog.OutcomeFailure || !strings.Contains(evs[0].Reason, "TOTP") {
		t.Fatalf("events %+v", evs)
	}

	e.clock.Advance(totp.Step)
	if st, p, _ := e.verifyTOTP(link2, e.totpCode(k)); st != http.StatusOK {
		t.Fatalf("the next step's code: %d %+v", st, p)
	}
	if fst := first.Recipients[0].ID; len(e.audit.authEvents(fst)) != 1 {
		t.Fatal("the first recipient's attempt is not recorded once")
	}
}

// staleEnrolments reads every enrolment as if no code had been accepted
// since its confirmation: what a concurrent request that read it before
// another one accepted a code sees.
type staleEnrolments struct{ signing.TOTPEnrolments }

func (s staleEnrolments) TOTP(ctx context.Context, tenant, userID string) (identity.TOTPEnrolment, error) {
	e, err := s.TOTPEnrolments.TOTP(ctx, tenant, userID)
	e.LastStep = 0
	return e, err
}

// TestTOTPReplayRace: when two verifications of the same code both pass
// totp.Verify (each read the enrolment before the other accepted the
// code), the store's compare-and-set lets one through and refuses the
// other as a replay, counted toward its recipient's lockout.
func TestTOTPReplayRace(t *testing.T) {
	e := newEnvOptions(t, envOptions{adjust: func(cfg *signing.Config, _ *workflow.Config) {
		cfg.TOTPEnrolments = staleEnrolments{cfg.TOTPEnrolments}
	}})
	u := e.user("ann@example.com", nil)
	k := e.enrolTOTP(u, false)
	e.sendDeed(1, false, totpSigner("Ann", "ann@example.com", 1))
	second := e.sendDeed(1, false, totpSigner("Ann", "ann@example.com", 1))
	code := e.totpCode(k)
	if st, p, _ := e.verifyTOTP(e.link("ann@example.com", 1), code); st != http.StatusOK {
		t.Fatalf("verify: %d %+v", st, p)
	}
	if st, p, _ := e.verifyTOTP(e.link("ann@example.com", 2), code); st != http.StatusUnauthorized || p.Type != api.ProblemBase+"invalid-code" {
		t.Fatalf("the same code again: %d %+v", st, p)
	}
	evs := e.audit.authEvents(second.Recipients[0].ID)
	if len(evs) != 1 || evs[0].Outcome != auditlog.OutcomeFailure || evs[0].Reason != "TOTP code replayed" {
		t.Fatalf("events %+v", evs)
	}
	s, err := e.store.AuthState(context.Background(), second.ID, second.Recipients[0].ID)
	if err != nil || s.Failures != 1 {
		t.Fatalf("state %+v, %v", s, err)
	}
}

// TestTOTPLockout: wrong and malformed TOTP codes count toward the
// recipient's lockout like wrong e-mailed codes: after MaxFailures of
// them the recipient is locked out (429), even with a correct code,
// which is then not consumed; the lockout is recorded.
func TestTOTPLockout(t *testing.T) {
	e := newEnv(t)
	u := e.user("ann@example.com", nil)
	k := e.enrolTOTP(u, false)
	env := e.sendDeed(1, false, totpSigner("Ann", "ann@example.com", 1))
	link := e.link("ann@example.com", 1)
	for i := range signing.DefaultMaxFailures {
		code := e.wrongTOTP(k)
		if i%2 == 1 {
			code = "12ab56"
		}
		st, p, _ := e.verifyTOTP(link, code)
		want := http.StatusUnauthorized
		if i == signing.DefaultMaxFailures-1 {
			want = http.StatusTooManyRequests
		}
		if st != want {
			t.Fatalf("wrong code %d: %d %+v, want %d", i+1, st, p, want)
		}
	}
	if st, p, _ := e.verifyTOTP(link, e.totpCode(k)); st != http.StatusTooManyRequests || p.Type != api.ProblemBase+"recipient-locked" {
		t.Fatalf("correct code while locked out: %d %+v", st, p)
	}
	if n := e.audit.count(auditlog.RecipientLockedOut, ""); n != 1 {
		t.Fatalf("%d lockout events", n)
	}
	s, err := e.store.AuthState(context.Background(), env.ID, env.Recipients[0].ID)
	if err != nil || s.Lockouts != 1 || s.LockedUntil.IsZero() {
		t.Fatalf("state %+v, %v", s, err)
	}
	en, err := e.users.TOTP(context.Background(), tenant, u.ID)
	if err != nil || en.LastStep >= totp.StepAt(e.clock.Now())-1 {
		t.Fatalf("a code was accepted while locked out: last step %d (%v)", en.LastStep, err)
	}
	e.clock.Advance(signing.DefaultLockouts()[0] + time.Second)
	if st, p, _ := e.verifyTOTP(link, e.totpCode(k)); st != http.StatusOK {
		t.Fatalf("after the lockout: %d %+v", st, p)
	}
}

// TestTOTPUnavailable: a totp recipient without a registered user, with
// a disabled one, with one without a TOTP enrolment or with a pending
// one is refused with 403 totp-unavailable (recorded as denied, not
// counted toward the lockout), and /code sends nothing; a server that
// cannot check TOTP codes answers 503; a configuration with half of what
// TOTP needs is refused.
func TestTOTPUnavailable(t *testing.T) {
	e := newEnv(t)
	e.user("nokey@example.com", nil)
	pend := e.user("pending@example.com", nil)
	pk := e.enrolTOTP(pend, true)
	dis := e.user("gone@example.com", nil)
	dk := e.enrolTOTP(dis, false)
	if _, err := e.users.DisableUser(context.Background(), tenant, dis.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	env := e.sendDeed(1, false,
		totpSigner("Nobody", "nobody@example.com", 1), totpSigner("No Key", "nokey@example.com", 1),
		totpSigner("Pending", "pending@example.com", 1), totpSigner("Gone", "gone@example.com", 1))
	for i, tt := range []struct{ addr, detail, code string }{
		{"nobody@example.com", "no registered user", "123456"},
		{"nokey@example.com", "no TOTP authenticator", "123456"},
		{"pending@example.com", "not confirmed", e.totpCode(pk)},
		{"gone@example.com", "disabled", e.totpCode(dk)},
	} {
		link := e.link(tt.addr, 1)
		for range signing.DefaultMaxFailures + 1 {
			st, p, _ := e.verifyTOTP(link, tt.code)
			if st != http.StatusForbidden || p.Type != api.ProblemBase+"totp-unavailable" || !strings.Contains(p.Detail, tt.detail) {
				t.Fatalf("%s: verify %d %+v", tt.addr, st, p)
			}
		}
		if st, p := e.call("POST", "/v1/recipient/code", "Link", link, nil, nil); st != http.StatusConflict || p.Type != api.ProblemBase+"no-code-to-send" {
			t.Fatalf("%s: code %d %+v", tt.addr, st, p)
		}
		rcp := env.Recipients[i].ID
		s, err := e.store.AuthState(context.Background(), env.ID, rcp)
		if err != nil || s.Failures != 0 || s.Lockouts != 0 {
			t.Fatalf("%s: state %+v, %v", tt.addr, s, err)
		}
		evs := e.audit.authEvents(rcp)
		if len(evs) != signing.DefaultMaxFailures+1 || evs[0].Outcome != auditlog.OutcomeDenied || evs[0].Details["method"] != "totp" {
			t.Fatalf("%s: events %+v", tt.addr, evs)
		}
	}
	if n := len(e.mailbox.To("nobody@example.com")); n != 1 {
		t.Fatalf("%d messages, want the link only", n)
	}
	// The pending enrolment was not confirmed by the attempts.
	if en, err := e.users.TOTP(context.Background(), tenant, pend.ID); err != nil || !en.ConfirmedAt.IsZero() {
		t.Fatalf("pending enrolment %+v, %v", en, err)
	}

	// A server that cannot check TOTP codes: 503, nothing weaker.
	off := newEnvOptions(t, envOptions{adjust: func(cfg *signing.Config, _ *workflow.Config) {
		cfg.TOTPSecrets, cfg.TOTPEnrolments = nil, nil
	}})
	ou := off.user("ann@example.com", nil)
	ok := off.enrolTOTP(ou, false)
	off.sendDeed(1, false, totpSigner("Ann", "ann@example.com", 1))
	if st, p, _ := off.verifyTOTP(off.link("ann@example.com", 1), off.totpCode(ok)); st != http.StatusServiceUnavailable {
		t.Fatalf("without TOTP: %d %+v", st, p)
	}

	for name, adjust := range map[string]func(c *signing.Config){
		"no enrolments":  func(c *signing.Config) { c.TOTPEnrolments = nil },
		"no secrets":     func(c *signing.Config) { c.TOTPSecrets = nil },
		"no users":       func(c *signing.Config) { c.Users, c.Passkeys = nil, nil },
		"passkeys alone": func(c *signing.Config) { c.Users = nil; c.TOTPSecrets, c.TOTPEnrolments = nil, nil },
	} {
		bad := e.cfg
		adjust(&bad)
		if _, err := signing.New(bad, e.wf, e.notifier); err == nil {
			t.Errorf("%s: the configuration was accepted", name)
		}
	}
	good := e.cfg
	good.Passkeys = nil
	if _, err := signing.New(good, e.wf, e.notifier); err != nil {
		t.Errorf("TOTP without passkeys: %v", err)
	}
}

// TestTOTPHighAssurance: a high-assurance envelope's totp signer consents
// and signs in the session their TOTP code opened (the strong
// authentication the authorizer demands); once the tenant's step-up
// window has passed the authorizer asks for a new one (401
// step-up-required), and a fresh code signs.
func TestTOTPHighAssurance(t *testing.T) {
	e := newEnv(t)
	u := e.user("ann@example.com", nil)
	k := e.enrolTOTP(u, false)
	env := e.sendDeed(1, true, totpSigner("Ann", "ann@example.com", 1))
	if !env.HighAssurance {
		t.Fatal("not high-assurance")
	}
	link := e.link("ann@example.com", 1)
	st, p, ss := e.verifyTOTP(link, e.totpCode(k))
	if st != http.StatusOK {
		t.Fatalf("verify: %d %+v", st, p)
	}
	allowed := e.authz.count(authz.Allow)
	e.clock.Advance(authz.DefaultStepUpWindow + time.Second)
	for _, path := range []string{"/v1/recipient/consent", "/v1/recipient/sign"} {
		st, p := e.call("POST", path, "Session", ss, map[string]bool{"consent": true}, nil)
		if st != http.StatusUnauthorized || p.Type != api.ProblemBase+"step-up-required" {
			t.Fatalf("%s after the step-up window: %d %+v", path, st, p)
		}
	}
	st, p, ss = e.verifyTOTP(link, e.totpCode(k))
	if st != http.StatusOK {
		t.Fatalf("verify again: %d %+v", st, p)
	}
	if res := e.signAs(ss); !res.Completed {
		t.Fatalf("sign: %+v", res)
	}
	if e.authz.count(authz.Allow) <= allowed {
		t.Fatal("the authorizer did not allow the signature")
	}
	sig := e.audit.byType(auditlog.SignatureCreated)[0]
	if sig.Details["auth_method"] != "totp" || sig.Actor.AuthStrength != "aal2" {
		t.Fatalf("signature.created %+v %+v", sig.Actor, sig.Details)
	}
}

// TestSessionStrongAuth: only a session opened by a passkey confirmation
// or a TOTP code carries a strong authentication in its principal, at
// its time.
func TestSessionStrongAuth(t *testing.T) {
	at := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name    string
		methods []string
		intent  bool
		want    string
	}{
		{name: "totp", methods: []string{"otp", "user"}, want: "totp"},
		{name: "email code", methods: []string{"otp", "email"}},
		{name: "sms code", methods: []string{"otp", "sms"}},
		{name: "access code", methods: []string{"pwd"}},
		{name: "link only", methods: []string{"email"}},
		{name: "otp alone", methods: []string{"otp"}},
		{name: "passkey", methods: []string{"swk", "user"}, intent: true, want: "passkey"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ss := signing.Session{Tenant: tenant, EnvelopeID: "e", RecipientID: "r", AuthTime: at, Methods: tt.methods}
			if tt.intent {
				ss.Intent = &signing.Intent{}
			}
			p := ss.Principal()
			if p.StrongAuth.Method != tt.want || (tt.want != "" && !p.StrongAuth.At.Equal(at)) || (tt.want == "" && !p.StrongAuth.At.IsZero()) {
				t.Fatalf("strong authentication %+v, want %q", p.StrongAuth, tt.want)
			}
			if !slices.Equal(p.AuthMethods, tt.methods) {
				t.Fatalf("methods %v", p.AuthMethods)
			}
		})
	}
}
