package login_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/login"
	"github.com/signet-pki/signet/internal/identity/password"
	identitysqlite "github.com/signet-pki/signet/internal/identity/sqlite"
	"github.com/signet-pki/signet/internal/identity/totp"
	"github.com/signet-pki/signet/internal/sqldb"
)

// gcm is the tests' sealer: AES-256-GCM with a random nonce before the
// ciphertext.
type gcm struct{ aead cipher.AEAD }

func newGCM(t testing.TB) gcm {
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
	return gcm{a}
}

func (g gcm) Seal(plain, ad []byte) ([]byte, error) {
	nonce := make([]byte, g.aead.NonceSize())
	rand.Read(nonce)
	return g.aead.Seal(nonce, nonce, plain, ad), nil
}

func (g gcm) Open(sealed, ad []byte) ([]byte, error) {
	n := g.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("short")
	}
	return g.aead.Open(nil, sealed[:n], sealed[n:], ad)
}

// recorder keeps the events it is given, after the log's own validation.
type recorder struct {
	mu     sync.Mutex
	events []auditlog.Event
	fail   bool
}

func (r *recorder) Record(_ context.Context, e auditlog.Event) error {
	if err := e.Validate(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("audit log down")
	}
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) count(typ auditlog.EventType) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Type == typ {
			n++
		}
	}
	return n
}

func (r *recorder) last(typ auditlog.EventType) auditlog.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(r.events) - 1; i >= 0; i-- {
		if r.events[i].Type == typ {
			return r.events[i]
		}
	}
	return auditlog.Event{}
}

// selfOnly is the tests' authorizer: users hold account.self (the gate
// asks nothing else of these routes).
type selfOnly struct{}

func (selfOnly) Authorize(_ context.Context, p api.Principal, c api.AccessCheck) error {
	if p.Kind == api.PrincipalUser && c.Action == string(authz.ActionAccountSelf) {
		return nil
	}
	return api.ErrForbidden
}

// noKeys refuses every bearer credential.
type noKeys struct{}

func (noKeys) VerifyCredential(context.Context, string, netip.Addr) (api.Principal, error) {
	return api.Principal{}, api.ErrUnauthorized
}

// env is one service over a fresh signet.db, served through the API
// middleware (authentication with sessions, the gate).
type env struct {
	t       testing.TB
	dir     string
	store   *identitysqlite.Store
	svc     *login.Service
	audit   *recorder
	h       http.Handler
	mu      sync.Mutex
	now     time.Time
	policy  authz.TenantPolicy
	secrets []string // every secret the flows saw, for the scan
}

const (
	tenant = "t-1"
	pw     = "correct horse battery staple"
)

var start = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)

// An option changes the configuration of a test's service; the env's
// store and clock are ready when it runs.
type option func(e *env, cfg *login.Config)

func newEnv(t testing.TB, opts ...option) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), audit: &recorder{}, now: start, policy: authz.TenantPolicy{Tenant: tenant}}
	pool, err := sqldb.OpenPool(t.Context(), filepath.Join(e.dir, "signet.db"), nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	if e.store, err = identitysqlite.New(t.Context(), pool); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	cfg := login.Config{
		Store: e.store, Sealer: newGCM(t), Recorder: e.audit, RecoveryKey: key, Issuer: "Signet",
		Policy: func(_ context.Context, tn string) (authz.TenantPolicy, error) {
			e.mu.Lock()
			defer e.mu.Unlock()
			p := e.policy
			p.Tenant = tn
			return p, nil
		},
		Now: e.clock,
	}
	for _, o := range opts {
		o(e, &cfg)
	}
	e.svc, err = login.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rt := api.NewRouter()
	e.svc.Register(rt)
	doc, err := api.MergeOpenAPI(api.OpenAPIBase, login.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	access, err := api.OpenAPIAccess(doc)
	if err != nil {
		t.Fatal(err)
	}
	e.h = api.Chain(rt, api.Stack{
		Logger: slog.New(slog.DiscardHandler),
		Auth:   &api.Authenticator{Credentials: noKeys{}, Sessions: e.svc, Public: api.DefaultPublic},
		Gate:   &api.Gate{Router: rt, Access: access, Authorizer: selfOnly{}, PendingAllowed: login.PendingAllowed},
	})
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

// user creates an active user with password pw.
func (e *env) user(id string, mfaRequired bool) identity.User {
	e.t.Helper()
	h, err := password.Hash(pw)
	if err != nil {
		e.t.Fatal(err)
	}
	u := identity.User{ID: id, Tenant: tenant, Email: id + "@example.org", Name: "User " + id, Status: identity.StatusActive,
		CreatedAt: start, PasswordHash: h, MFARequired: mfaRequired}
	if err := e.store.CreateUser(e.t.Context(), u); err != nil {
		e.t.Fatal(err)
	}
	return u
}

// sess is a client's session: its cookie and CSRF token.
type sess struct {
	cookie *http.Cookie
	csrf   string
	ip     string
}

// resp is an answer.
type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
}

func (r resp) problemType() string {
	var p api.Problem
	_ = json.Unmarshal(r.body, &p)
	return strings.TrimPrefix(p.Type, api.ProblemBase)
}

// cookie returns the session cookie the answer sets, nil if none.
func (r resp) cookie() *http.Cookie {
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if strings.HasSuffix(c.Name, login.DefaultCookieName) && c.Value != "" {
			return c
		}
	}
	return nil
}

// do sends a request as s (nil: no session) with the CSRF token unless
// noCSRF.
func (e *env) do(s *sess, method, path string, body any, noCSRF bool) resp {
	e.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	r := httptest.NewRequest(method, path, rd)
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	r.RemoteAddr = "192.0.2.1:4242"
	if s != nil {
		if s.ip != "" {
			r.RemoteAddr = s.ip + ":4242"
		}
		if s.cookie != nil {
			r.AddCookie(&http.Cookie{Name: s.cookie.Name, Value: s.cookie.Value})
		}
		if !noCSRF && s.csrf != "" {
			r.Header.Set(login.CSRFHeader, s.csrf)
		}
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return resp{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

// sessionAnswer is the body that hands out a session.
type sessionAnswer struct {
	CSRFToken string `json:"csrf_token"`
	MFA       string `json:"mfa"`
	User      struct {
		ID string `json:"id"`
	} `json:"user"`
	ExpiresAt  time.Time `json:"expires_at"`
	StrongAuth *struct {
		Method string    `json:"method"`
		At     time.Time `json:"at"`
	} `json:"strong_auth"`
}

// login logs in as email with password p and returns the session and
// the answer.
func (e *env) login(email, p string) (*sess, resp) {
	e.t.Helper()
	r := e.do(nil, "POST", "/v1/auth/login", map[string]string{"tenant": tenant, "email": email, "password": p}, true)
	if r.status != http.StatusOK {
		return nil, r
	}
	var a sessionAnswer
	r.json(e.t, &a)
	s := &sess{cookie: r.cookie(), csrf: a.CSRFToken}
	e.secrets = append(e.secrets, s.cookie.Value, s.csrf)
	return s, r
}

// mustLogin logs in and checks the MFA state.
func (e *env) mustLogin(email, mfa string) *sess {
	e.t.Helper()
	s, r := e.login(email, pw)
	if s == nil {
		e.t.Fatalf("login %s: %d %s", email, r.status, r.body)
	}
	var a sessionAnswer
	r.json(e.t, &a)
	if a.MFA != mfa {
		e.t.Fatalf("login %s: mfa %q, want %q", email, a.MFA, mfa)
	}
	return s
}

// adopt takes the new cookie and CSRF token of a rotating answer.
func (e *env) adopt(s *sess, r resp) {
	e.t.Helper()
	var a sessionAnswer
	r.json(e.t, &a)
	c := r.cookie()
	if c == nil || a.CSRFToken == "" {
		e.t.Fatalf("no new session in %d %s", r.status, r.body)
	}
	s.cookie, s.csrf = c, a.CSRFToken
	e.secrets = append(e.secrets, c.Value, a.CSRFToken)
}

// enrolTOTP enrols a TOTP authenticator in s's session and returns its
// key; the session rotates.
func (e *env) enrolTOTP(s *sess) totp.Key {
	e.t.Helper()
	r := e.do(s, "POST", "/v1/me/mfa/totp", nil, false)
	if r.status != http.StatusCreated {
		e.t.Fatalf("begin enrolment: %d %s", r.status, r.body)
	}
	var en struct {
		URI    string `json:"otpauth_uri"`
		Secret string `json:"secret"`
	}
	r.json(e.t, &en)
	k, _, _, err := totp.ParseURI(en.URI)
	if err != nil {
		e.t.Fatal(err)
	}
	if sec, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(en.Secret); err != nil || !bytes.Equal(sec, k.Secret) {
		e.t.Fatalf("secret %q does not match the URI's", en.Secret)
	}
	e.secrets = append(e.secrets, en.Secret, string(k.Secret))
	r = e.do(s, "POST", "/v1/me/mfa/totp/confirm", map[string]string{"code": e.code(k)}, false)
	if r.status != http.StatusOK {
		e.t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	e.adopt(s, r)
	return k
}

// code returns k's code now.
func (e *env) code(k totp.Key) string {
	e.t.Helper()
	c, err := k.CodeAt(e.clock())
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// verify returns what VerifySession makes of s's cookie on a GET.
func (e *env) verify(s *sess) (api.Principal, error) {
	r := httptest.NewRequest("GET", "/v1/auth/session", nil)
	r.AddCookie(&http.Cookie{Name: s.cookie.Name, Value: s.cookie.Value})
	return e.svc.VerifySession(r)
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
