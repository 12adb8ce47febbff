package login_test

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/login"
	"github.com/signet-pki/signet/internal/identity/oidc"
	"github.com/signet-pki/signet/internal/identity/oidc/oidctest"
	"github.com/signet-pki/signet/internal/secretscan"
)

const (
	clientSecret = "the-client-secret-of-signet-at-corp"
	callbackURL  = origin + "/v1/auth/oidc/corp/callback"
)

// corpUser is the IdP's user for Ann: verified address, two mapped
// groups, one mapped to an unknown role, one unmapped, and a
// multi-factor login.
func corpUser() oidctest.User {
	return oidctest.User{
		Subject: "ann-at-corp", Email: "U-Ann@Example.org", EmailVerified: true, Name: "Ann",
		Groups: []string{"signers", "auditors", "ghosts", "unmapped"}, AMR: []string{"pwd", "otp"},
	}
}

// withOIDC serves the provider "corp" of the tenant, an in-process OP
// that logs user in; *op receives it.
func withOIDC(user oidctest.User, createUsers bool, op **oidctest.OP) option {
	return func(e *env, cfg *login.Config) {
		o := oidctest.Start(e.t, oidctest.Config{ClientID: "signet", ClientSecret: clientSecret, RedirectURL: callbackURL, User: user})
		c, err := oidc.New(e.t.Context(), oidc.Provider{
			Name: "corp", Issuer: o.Issuer, ClientID: "signet", ClientSecret: clientSecret, RedirectURL: callbackURL,
			Scopes: []string{"openid", "email", "profile", oidctest.ScopeGroups}, Tenant: tenant,
			RoleMap: map[string][]string{"signers": {"sender"}, "auditors": {"auditor"}, "ghosts": {"no-such-role"}},
		}, o.HTTPClient())
		if err != nil {
			e.t.Fatal(err)
		}
		cfg.OIDC = map[string]*oidc.Client{"corp": c}
		cfg.OIDCCreateUsers = createUsers
		e.secrets = append(e.secrets, clientSecret)
		*op = o
	}
}

// get sends a GET with the cookies.
func (e *env) get(path string, cookies ...*http.Cookie) resp {
	e.t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	r.RemoteAddr = "192.0.2.1:4242"
	for _, c := range cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return resp{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

func cookieNamed(r resp, name string) *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// oidcStart starts a login and returns the provider's callback query and
// the pending cookie.
func (e *env) oidcStart(op *oidctest.OP) (url.Values, *http.Cookie) {
	e.t.Helper()
	r := e.get("/v1/auth/oidc/corp/start")
	if r.status != http.StatusFound || !strings.HasPrefix(r.header.Get("Location"), op.Issuer+"/") {
		e.t.Fatalf("start: %d %v %s", r.status, r.header, r.body)
	}
	pending := cookieNamed(r, "__Secure-"+login.PendingCookieName)
	if pending == nil {
		e.t.Fatalf("start set no pending cookie: %v", r.header)
	}
	q, err := op.Browse(e.t.Context(), r.header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	e.secrets = append(e.secrets, pending.Value, q.Get("code"))
	return q, pending
}

// oidcCallback completes a login; on success it returns the session.
func (e *env) oidcCallback(q url.Values, pending *http.Cookie) (*sess, resp) {
	e.t.Helper()
	var cookies []*http.Cookie
	if pending != nil {
		cookies = append(cookies, pending)
	}
	r := e.get("/v1/auth/oidc/corp/callback?"+q.Encode(), cookies...)
	if c := cookieNamed(r, "__Secure-"+login.PendingCookieName); c == nil || c.MaxAge >= 0 || c.Path != "/v1/auth/oidc/corp/callback" {
		e.t.Fatalf("callback did not clear the pending cookie: %+v", c)
	}
	if r.status != http.StatusFound {
		return nil, r
	}
	csrf := cookieNamed(r, "__Host-"+login.CSRFCookieName)
	s := &sess{cookie: r.cookie(), csrf: csrf.Value}
	e.secrets = append(e.secrets, s.cookie.Value, s.csrf)
	return s, r
}

func (e *env) oidcLogin(op *oidctest.OP) (*sess, resp) {
	e.t.Helper()
	q, pending := e.oidcStart(op)
	return e.oidcCallback(q, pending)
}

// grantsBy returns the user's current grants' roles made by by.
func (e *env) grantsBy(user, by string) []string {
	e.t.Helper()
	gs, err := e.store.Grants(e.t.Context(), tenant, user)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, g := range gs {
		if g.GrantedBy == by {
			out = append(out, g.Role)
		}
	}
	slices.Sort(out)
	return out
}

// TestOIDCLogin: start (a sealed pending cookie: __Secure-, HttpOnly,
// Secure, SameSite=Lax, scoped to the callback) → the provider → the
// callback: a session, the roles the groups map to granted, the amr,
// acr, auth_time and provider recorded. A multi-factor login at the
// provider is not pending but is no step-up; when the provider stops
// sending a group its grant is revoked, a person's grant stays, and a
// password-only login of a user to whom MFA applies is pending.
func TestOIDCLogin(t *testing.T) {
	var op *oidctest.OP
	e := newEnv(t, withOIDC(corpUser(), false, &op))
	e.user("u-ann", false)
	if err := e.store.AddGrant(t.Context(), identity.Grant{ID: "g-person", Tenant: tenant, UserID: "u-ann", Role: "approver",
		GrantedBy: "u-admin", GrantedAt: start}); err != nil {
		t.Fatal(err)
	}

	r := e.get("/v1/auth/oidc/corp/start")
	pc := cookieNamed(r, "__Secure-"+login.PendingCookieName)
	if r.status != http.StatusFound || pc == nil || !pc.HttpOnly || !pc.Secure || pc.SameSite != http.SameSiteLaxMode ||
		pc.Path != "/v1/auth/oidc/corp/callback" || pc.MaxAge != int(oidc.PendingLifetime/time.Second) || pc.Domain != "" {
		t.Fatalf("start: %d, pending cookie %+v", r.status, pc)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	loc, _ := url.Parse(r.header.Get("Location"))
	if q := loc.Query(); q.Get("code_challenge_method") != "S256" || q.Get("state") == "" || q.Get("nonce") == "" {
		t.Fatalf("authorization URL %s", loc)
	}

	s, r := e.oidcLogin(op)
	if s == nil {
		t.Fatalf("callback: %d %s", r.status, r.body)
	}
	if r.header.Get("Location") != "/" {
		t.Fatalf("redirected to %q", r.header.Get("Location"))
	}
	c := s.cookie
	if c.Name != "__Host-signet_session" || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Fatalf("session cookie %+v", c)
	}
	if cc := cookieNamed(r, "__Host-"+login.CSRFCookieName); cc.HttpOnly || !cc.Secure || cc.SameSite != http.SameSiteStrictMode || cc.Path != "/" || cc.MaxAge <= 0 || cc.MaxAge > 300 {
		t.Fatalf("CSRF hand-over cookie %+v", cc)
	}
	st := e.state(s)
	if st.Pending || st.MFA != "none" || strings.Join(st.AuthMethods, ",") != "oidc,pwd,otp,oidc-mfa" || st.StrongAuth == nil || st.StrongAuth.Method != oidc.MethodOIDCMFA {
		t.Fatalf("session after an MFA login at the provider: %+v", st)
	}
	p, err := e.verify(s)
	if err != nil || p.Pending || p.StrongAuth.Method != "" || strings.Join(p.AuthMethods, ",") != "oidc,pwd,otp,oidc-mfa" {
		t.Fatalf("principal %+v, %v", p, err)
	}
	// The CSRF token works, and a provider's MFA is no step-up.
	if r := e.do(s, "POST", "/v1/me/recovery-codes", nil, false); r.status != http.StatusUnauthorized || r.problemType() != "step-up-required" {
		t.Fatalf("recovery codes after an OIDC login: %d %s", r.status, r.body)
	}
	stored, err := e.store.SessionByHash(t.Context(), sha(s.cookie.Value))
	if err != nil || stored.Method != identity.SessionOIDC || stored.Provider != "corp" || strings.Join(stored.AMR, ",") != "pwd,otp" ||
		stored.AuthTime.IsZero() || stored.AuthTime.After(time.Now()) {
		t.Fatalf("stored session %+v, %v", stored, err)
	}
	if got := e.grantsBy("u-ann", "oidc:corp"); strings.Join(got, ",") != "auditor,sender" {
		t.Fatalf("granted by the provider: %v", got)
	}
	ev := e.audit.last(auditlog.UserLoggedIn)
	if ev.Actor.ID != "u-ann" || ev.Details["provider"] != "corp" || ev.Details["method"] != "oidc-mfa" || ev.Details["roles_added"] != "auditor,sender" ||
		strings.Join(ev.Actor.AuthMethods, ",") != "oidc,pwd,otp,oidc-mfa" {
		t.Fatalf("logged-in event %+v", ev)
	}

	// The same groups again: nothing changes.
	if s, r := e.oidcLogin(op); s == nil {
		t.Fatalf("second login: %d %s", r.status, r.body)
	}
	if ev := e.audit.last(auditlog.UserLoggedIn); ev.Details["roles_added"] != "" || ev.Details["roles_revoked"] != "" {
		t.Fatalf("an unchanged login changed roles: %+v", ev.Details)
	}

	// The provider stops sending "auditors" and logs in with a password
	// only: the auditor grant is revoked, the person's approver grant
	// stays, and Ann, holding grants, must enrol a second factor.
	u := corpUser()
	u.Groups, u.AMR = []string{"signers"}, []string{"pwd"}
	op.SetUser(u)
	s, r = e.oidcLogin(op)
	if s == nil {
		t.Fatalf("password-only login: %d %s", r.status, r.body)
	}
	if got := e.grantsBy("u-ann", "oidc:corp"); strings.Join(got, ",") != "sender" {
		t.Fatalf("granted by the provider after the change: %v", got)
	}
	if got := e.grantsBy("u-ann", "u-admin"); strings.Join(got, ",") != "approver" {
		t.Fatalf("the person's grant: %v", got)
	}
	if ev := e.audit.last(auditlog.UserRolesSynced); ev.Actor.ID != "u-ann" || ev.Details["provider"] != "corp" ||
		ev.Details["added"] != "" || ev.Details["revoked"] != "auditor" || e.audit.count(auditlog.UserRolesSynced) != 2 {
		t.Fatalf("roles-synced event %+v (%d)", ev, e.audit.count(auditlog.UserRolesSynced))
	}
	st = e.state(s)
	if !st.Pending || st.MFA != "enrol" || strings.Join(st.AuthMethods, ",") != "oidc,pwd" {
		t.Fatalf("session after a password-only login: %+v", st)
	}
	if r := e.do(s, "GET", "/v1/me/passkeys", nil, true); r.status != http.StatusUnauthorized || r.problemType() != "mfa-required" {
		t.Fatalf("a pending OIDC session reached a full route: %d %s", r.status, r.body)
	}
	// It completes with TOTP like a password login.
	e.enrolTOTP(s)
	if st := e.state(s); st.Pending || strings.Join(st.AuthMethods, ",") != "oidc,pwd,otp" || st.StrongAuth.Method != "totp" {
		t.Fatalf("after TOTP: %+v", st)
	}
	if ev := e.audit.last(auditlog.UserLoggedIn); strings.Join(ev.Actor.AuthMethods, ",") != "oidc,pwd,otp" {
		t.Fatalf("logged-in event after TOTP: %+v", ev)
	}

	e.secrets = append(e.secrets, pw)
	if n := secretscan.Check(t, e.dir, e.secrets...); n == 0 {
		t.Fatal("no file scanned")
	}
}

// TestOIDCRolesAuditedFirst: a change of the provider's grants that
// cannot be audited is not made, and the login fails.
func TestOIDCRolesAuditedFirst(t *testing.T) {
	var op *oidctest.OP
	e := newEnv(t, withOIDC(corpUser(), false, &op))
	e.user("u-ann", false)
	e.audit.mu.Lock()
	e.audit.fail = true
	e.audit.mu.Unlock()
	if s, r := e.oidcLogin(op); s != nil || r.status < 500 {
		t.Fatalf("login without audit: %d %s", r.status, r.body)
	}
	if got := e.grantsBy("u-ann", "oidc:corp"); len(got) != 0 {
		t.Fatalf("granted without audit: %v", got)
	}
}

// TestOIDCRefused: a tampered state, a missing or tampered pending
// cookie, a replayed callback, a refusal at the provider and an unknown
// provider fail; an unknown, unverified or disabled address gets the
// same answer as a wrong password; nothing grants a role or a session.
func TestOIDCRefused(t *testing.T) {
	var op *oidctest.OP
	e := newEnv(t, withOIDC(corpUser(), false, &op))
	e.user("u-ann", false)
	e.user("u-off", false)
	if _, err := e.store.DisableUser(t.Context(), tenant, "u-off", start); err != nil {
		t.Fatal(err)
	}
	_, wrong := e.login("u-ann@example.org", "not the password at all")
	want := problemOf(wrong)

	failed := func(name string, s *sess, r resp) {
		t.Helper()
		if s != nil || r.status != http.StatusUnauthorized || r.problemType() != "oidc-login-failed" || r.cookie() != nil {
			t.Fatalf("%s: %d %s", name, r.status, r.body)
		}
	}
	q, pending := e.oidcStart(op)
	tq := url.Values{}
	for k, v := range q {
		tq[k] = slices.Clone(v)
	}
	tq.Set("state", strings.Repeat("A", len(q.Get("state"))))
	s, r := e.oidcCallback(tq, pending)
	failed("tampered state", s, r)
	s, r = e.oidcCallback(q, nil)
	failed("no pending cookie", s, r)
	bad := *pending
	bad.Value = bad.Value[:len(bad.Value)-2] + "AA"
	s, r = e.oidcCallback(q, &bad)
	failed("tampered pending cookie", s, r)
	if s, r := e.oidcCallback(q, pending); s == nil {
		t.Fatalf("the genuine callback after the refused ones: %d %s", r.status, r.body)
	}
	s, r = e.oidcCallback(q, pending)
	failed("replayed callback", s, r)

	for _, c := range []struct {
		name string
		edit func(*oidctest.User)
	}{
		{"unknown address", func(u *oidctest.User) { u.Email = "nobody@example.org" }},
		{"unverified address", func(u *oidctest.User) { u.EmailVerified = false }},
		{"disabled user", func(u *oidctest.User) { u.Email = "u-off@example.org" }},
	} {
		// Another account at the provider: Ann's is linked by now, and
		// its logins reach her whatever address it states
		// (TestOIDCLinks).
		u := corpUser()
		u.Subject = "other-at-corp"
		c.edit(&u)
		op.SetUser(u)
		s, r := e.oidcLogin(op)
		if s != nil || problemOf(r) != want {
			t.Fatalf("%s: %s, want %s", c.name, problemOf(r), want)
		}
		if got := e.grantsBy("u-off", "oidc:corp"); len(got) != 0 {
			t.Fatalf("%s: granted %v", c.name, got)
		}
	}
	n := e.audit.count(auditlog.UserLoginFailed)
	if n < 7 {
		t.Fatalf("%d failures audited", n)
	}
	if ev := e.audit.last(auditlog.UserLoginFailed); ev.Details["method"] != "oidc" || ev.Details["provider"] != "corp" {
		t.Fatalf("failure event %+v", ev)
	}

	if r := e.get("/v1/auth/oidc/other/start"); r.status != http.StatusNotFound || r.problemType() != "not-configured" {
		t.Fatalf("unknown provider: %d %s", r.status, r.body)
	}
	plain := newEnv(t)
	if r := plain.get("/v1/auth/oidc/corp/start"); r.status != http.StatusNotFound || r.problemType() != "not-configured" {
		t.Fatalf("OIDC not configured: %d %s", r.status, r.body)
	}

	// The provider declines.
	var deny *oidctest.OP
	u := corpUser()
	u.Deny = true
	d := newEnv(t, withOIDC(u, false, &deny))
	d.user("u-ann", false)
	s, r = d.oidcLogin(deny)
	failed("declined at the provider", s, r)
}

// TestOIDCCreateUsers: with OIDCCreateUsers, the first login of a
// verified address creates an active user without a password, with the
// mapped roles; an unverified address still creates nothing.
func TestOIDCCreateUsers(t *testing.T) {
	var op *oidctest.OP
	u := corpUser()
	u.EmailVerified = false
	e := newEnv(t, withOIDC(u, true, &op))
	if s, _ := e.oidcLogin(op); s != nil {
		t.Fatal("an unverified address logged in")
	}
	if _, err := e.store.UserByEmail(t.Context(), tenant, "u-ann@example.org"); err == nil {
		t.Fatal("an unverified address created a user")
	}
	op.SetUser(corpUser())
	s, r := e.oidcLogin(op)
	if s == nil {
		t.Fatalf("first login: %d %s", r.status, r.body)
	}
	nu, err := e.store.UserByEmail(t.Context(), tenant, "u-ann@example.org")
	if err != nil || nu.Status != identity.StatusActive || nu.PasswordHash != "" || nu.Name != "Ann" {
		t.Fatalf("created user %+v, %v", nu, err)
	}
	if got := e.grantsBy(nu.ID, "oidc:corp"); strings.Join(got, ",") != "auditor,sender" {
		t.Fatalf("created user's grants: %v", got)
	}
	// The new user is linked to the provider's account.
	ls, err := e.store.ExternalLinksOf(t.Context(), tenant, nu.ID)
	if err != nil || len(ls) != 1 || ls[0].Issuer != op.Issuer || ls[0].Subject != "ann-at-corp" {
		t.Fatalf("created user's links: %+v, %v", ls, err)
	}
	if s2, r := e.oidcLogin(op); s2 == nil {
		t.Fatalf("second login: %d %s", r.status, r.body)
	}
	if _, err := e.store.UserByEmail(t.Context(), tenant, "u-ann@example.org"); err != nil {
		t.Fatal(err)
	}
	// Another account presenting the address neither reaches the user
	// nor creates one.
	other := corpUser()
	other.Subject = "not-ann-at-corp"
	op.SetUser(other)
	if s3, r := e.oidcLogin(op); s3 != nil || r.status != http.StatusUnauthorized {
		t.Fatalf("another account with the address: %d %s", r.status, r.body)
	}
	if ev := e.audit.last(auditlog.UserLoginFailed); ev.Actor.ID != nu.ID || ev.Reason != "the user is linked to another account at the provider" {
		t.Fatalf("failure event %+v", ev)
	}
	// A user without a password cannot log in with one.
	if x, _ := e.login("u-ann@example.org", ""); x != nil {
		t.Fatal("empty password logged in")
	}
}

func sha(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// TestOIDCLinks: the first login links the user to the provider's
// account (issuer, subject); later logins of that account reach the same
// user when the provider's address changes, to an unknown address or to
// another user's; another account presenting the linked user's address
// gets the answer of an unknown user, is audited with its reason and
// linked to nobody; a disabled linked user is refused.
func TestOIDCLinks(t *testing.T) {
	ctx := t.Context()
	var op *oidctest.OP
	e := newEnv(t, withOIDC(corpUser(), false, &op))
	e.user("u-ann", false)
	e.user("u-bob", false)
	_, wrong := e.login("u-ann@example.org", "not the password at all")
	want := problemOf(wrong)

	loggedInAs := func(what, user, linked string) {
		t.Helper()
		s, r := e.oidcLogin(op)
		if s == nil {
			t.Fatalf("%s: %d %s", what, r.status, r.body)
		}
		if p, err := e.verify(s); err != nil || p.ID != user {
			t.Fatalf("%s: principal %+v, %v, want %s", what, p, err, user)
		}
		if ev := e.audit.last(auditlog.UserLoggedIn); ev.Actor.ID != user || ev.Details["linked"] != linked {
			t.Fatalf("%s: logged-in event %+v", what, ev)
		}
	}
	refused := func(what, actor, reason string) {
		t.Helper()
		n := e.audit.count(auditlog.UserLoginFailed)
		s, r := e.oidcLogin(op)
		if s != nil || problemOf(r) != want {
			t.Fatalf("%s: %s, want %s", what, problemOf(r), want)
		}
		ev := e.audit.last(auditlog.UserLoginFailed)
		if e.audit.count(auditlog.UserLoginFailed) != n+1 || ev.Actor.ID != actor || ev.Reason != reason ||
			ev.Outcome != auditlog.OutcomeFailure || ev.Details["provider"] != "corp" {
			t.Fatalf("%s: failure event %+v", what, ev)
		}
	}

	loggedInAs("first login", "u-ann", "true")
	l, err := e.store.ExternalLink(ctx, tenant, op.Issuer, "ann-at-corp")
	if err != nil || l.UserID != "u-ann" || l.CreatedAt.IsZero() {
		t.Fatalf("link after the first login: %+v, %v", l, err)
	}
	loggedInAs("second login", "u-ann", "")

	for _, email := range []string{"ann.new@example.org", "u-bob@example.org"} {
		u := corpUser()
		u.Email = email
		op.SetUser(u)
		loggedInAs("address changed to "+email, "u-ann", "")
	}
	if ls, err := e.store.ExternalLinksOf(ctx, tenant, "u-bob"); err != nil || len(ls) != 0 {
		t.Fatalf("u-bob's links: %+v, %v", ls, err)
	}

	// The address passes to another person at the provider.
	recycled := corpUser()
	recycled.Subject, recycled.Name = "mallory-at-corp", "Mallory"
	op.SetUser(recycled)
	refused("another account with the linked user's address", "u-ann", "the user is linked to another account at the provider")
	if _, err := e.store.ExternalLink(ctx, tenant, op.Issuer, "mallory-at-corp"); !errors.Is(err, identity.ErrNotFound) {
		t.Fatalf("the other account was linked: %v", err)
	}
	if ls, err := e.store.ExternalLinksOf(ctx, tenant, "u-ann"); err != nil || len(ls) != 1 || ls[0].Subject != "ann-at-corp" {
		t.Fatalf("u-ann's links: %+v, %v", ls, err)
	}

	// Bob's own account links to Bob.
	bob := corpUser()
	bob.Subject, bob.Email = "bob-at-corp", "u-bob@example.org"
	op.SetUser(bob)
	loggedInAs("Bob's account", "u-bob", "true")

	// A disabled user's account is refused, and stays linked.
	if _, err := e.store.DisableUser(ctx, tenant, "u-ann", start); err != nil {
		t.Fatal(err)
	}
	op.SetUser(corpUser())
	refused("the linked user disabled", "u-ann", "the linked user is disabled")
	if l, err := e.store.ExternalLink(ctx, tenant, op.Issuer, "ann-at-corp"); err != nil || l.UserID != "u-ann" {
		t.Fatalf("link of the disabled user: %+v, %v", l, err)
	}
}
