package accounts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
	"github.com/signet-pki/signet/internal/accounts"
	accountssqlite "github.com/signet-pki/signet/internal/accounts/sqlite"
	"github.com/signet-pki/signet/internal/api"
	apisqlite "github.com/signet-pki/signet/internal/api/sqlite"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/sqldb"
)

// env is the real HTTP stack of package api (request ids, access log,
// authentication through the accounts' key verifier, idempotency over
// SQLite) with the accounts endpoints, over SQLite in a temporary
// directory and an audit log in memory.
type env struct {
	t       *testing.T
	srv     *httptest.Server
	dir     string
	svc     *accounts.Service
	authz   *testAuthorizer
	users   *userCredentials
	store   *accountssqlite.Store
	idem    *apisqlite.Store
	audit   *auditlog.Log
	events  *auditlog.MemStore
	logs    *syncBuffer
	clock   *clock
	router  *api.Router
	limiter *api.RateLimiter
	admin   string // bootstrap admin secret
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type envOptions struct {
	// extra registers more routes and returns their OpenAPI fragment.
	extra func(mux api.Mux, e *env) []byte
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	pool, err := sqldb.OpenPool(ctx, filepath.Join(dir, "signet.db"), nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	st, err := accountssqlite.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	idem, err := apisqlite.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auditlog.NewDerivedKeys(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	mem := auditlog.NewMemStore()
	log, err := auditlog.New(ctx, auditlog.Config{Storage: mem, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Shutdown(context.Background()) })
	e := &env{t: t, dir: dir, store: st, idem: idem, audit: log, events: mem, logs: &syncBuffer{}, clock: &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	secret, k, err := accounts.NewAPIKey(nil, accounts.KeySpec{Name: "bootstrap", Actions: accounts.PlatformActions}, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	e.admin = secret

	rt := api.NewRouter()
	svc := &accounts.Service{Tenants: st, Keys: st, Tokens: st, Recorder: log, Now: e.clock.Now}
	e.svc = svc
	(&accounts.Handler{Service: svc}).Register(rt)
	frags := [][]byte{accounts.OpenAPI}
	if o.extra != nil {
		frags = append(frags, o.extra(rt, e))
	}
	doc, err := api.MergeOpenAPI(api.OpenAPIBase, frags...)
	if err != nil {
		t.Fatal(err)
	}
	access, err := api.OpenAPIAccess(doc)
	if err != nil {
		t.Fatal(err)
	}
	e.authz = &testAuthorizer{users: map[string][]string{}, now: e.clock.Now}
	e.users = &userCredentials{keys: svc.Verifier(), users: map[string]api.Principal{}}
	e.router = rt
	e.limiter = api.NewRateLimiter(api.RateLimits{PerIP: api.Rate{PerSecond: 1000, Burst: 1000}, PerKey: api.Rate{PerSecond: 1000, Burst: 1000}})
	e.limiter.Now = e.clock.Now
	h := api.Chain(rt, api.Stack{
		Logger:      logger,
		MaxBody:     1 << 20,
		Limiter:     e.limiter,
		Auth:        &api.Authenticator{Credentials: e.users},
		Gate:        &api.Gate{Router: rt, Access: access, Authorizer: e.authz},
		Idempotency: &api.Idempotency{Store: idem, Now: e.clock.Now},
	})
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	return e
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request with an optional bearer secret, JSON body and extra
// headers ("Name: value").
func (e *env) do(method, path, secret string, body any, headers ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// tenant creates a tenant as the admin and returns its id.
func (e *env) tenant(name string) string {
	e.t.Helper()
	r := e.do("POST", "/v1/tenants", e.admin, map[string]string{"name": name})
	if r.status != http.StatusCreated {
		e.t.Fatalf("create tenant: %d %s", r.status, r.body)
	}
	var t accounts.Tenant
	r.json(e.t, &t)
	return t.ID
}

// key provisions a key of tenant bound to actions (role sender) as the
// platform administrator and returns its secret and id.
func (e *env) key(tenant string, actions ...string) (string, string) {
	e.t.Helper()
	return e.keyWith(tenant, map[string]any{"name": "k", "roles": []string{"sender"}, "actions": actions})
}

// keyWith provisions a key of tenant described by body as the platform
// administrator and returns its secret and id.
func (e *env) keyWith(tenant string, body map[string]any) (string, string) {
	e.t.Helper()
	r := e.do("POST", "/v1/tenants/"+tenant+"/api-keys", e.admin, body)
	if r.status != http.StatusCreated {
		e.t.Fatalf("provision key: %d %s", r.status, r.body)
	}
	var k struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	r.json(e.t, &k)
	return k.Secret, k.ID
}

// user returns a bearer credential of user id of tenant holding roles
// (standing grants), who authenticated strongly just now.
func (e *env) user(tenant, id string, roles ...string) string {
	e.t.Helper()
	return e.users.add(api.Principal{
		Kind: api.PrincipalUser, ID: id, Tenant: tenant, AuthMethods: []string{"pwd", "otp"},
		StrongAuth: api.Authentication{Method: string(authz.MethodTOTP), At: e.clock.Now()},
	}, e.authz, roles)
}

// userCredentials is the test stack's credential verifier: the accounts'
// key verifier, and bearer credentials "usr_..." standing for users (the
// session cookies of the real service).
type userCredentials struct {
	keys  accounts.KeyVerifier
	mu    sync.Mutex
	users map[string]api.Principal
}

func (u *userCredentials) add(p api.Principal, az *testAuthorizer, roles []string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	cred := fmt.Sprintf("usr_%d_%s", len(u.users), p.ID)
	u.users[cred] = p
	az.mu.Lock()
	az.users[p.ID] = roles
	az.mu.Unlock()
	return cred
}

// VerifyCredential implements [api.CredentialVerifier].
func (u *userCredentials) VerifyCredential(ctx context.Context, secret string, remote netip.Addr) (api.Principal, error) {
	u.mu.Lock()
	p, ok := u.users[secret]
	u.mu.Unlock()
	if ok {
		return p, nil
	}
	return u.keys.VerifyCredential(ctx, secret, remote)
}

// testAuthorizer decides with package authz over standing grants: a
// service account's come from its key (Roles, narrowed to Actions), a
// test user's from users. The tenants' policy lets standing privileged
// grants count (so that a test user may hold tenant-admin).
type testAuthorizer struct {
	mu    sync.Mutex
	users map[string][]string
	now   func() time.Time
}

// Authorize implements [api.Authorizer].
func (a *testAuthorizer) Authorize(_ context.Context, p api.Principal, c api.AccessCheck) error {
	ap := authz.Principal{ID: p.ID, Tenant: p.Tenant, Platform: p.Platform,
		StrongAuth: authz.Authentication{Method: authz.Method(p.StrongAuth.Method), At: p.StrongAuth.At}}
	roles := p.Roles
	switch p.Kind {
	case api.PrincipalAPIKey:
		ap.Kind = authz.KindServiceAccount
		for _, x := range p.Actions {
			ap.KeyActions = append(ap.KeyActions, authz.Action(x))
		}
	case api.PrincipalUser:
		ap.Kind = authz.KindUser
		a.mu.Lock()
		roles = a.users[p.ID]
		a.mu.Unlock()
	default:
		return &api.Error{Kind: api.KindForbidden, Detail: "unknown principal"}
	}
	for _, r := range roles {
		ap.Grants = append(ap.Grants, authz.Grant{Role: r, Tenant: p.Tenant, GrantedBy: "test"})
	}
	tenant := c.Tenant
	if tenant == "" {
		tenant = p.Tenant
	}
	policy := authz.TenantPolicy{Tenant: p.Tenant, StandingPrivileged: true}
	d := authz.Decide(ap, authz.Request{Action: authz.Action(c.Action), Tenant: tenant, Subject: c.Subject}, policy, a.now())
	switch d.Effect {
	case authz.Allow:
		return nil
	case authz.StepUpRequired:
		return &api.Error{Kind: api.KindUnauthorized, Type: "step-up-required", Detail: d.Reason}
	}
	return &api.Error{Kind: api.KindForbidden, Detail: d.Reason}
}

// checkProblem asserts that r is an RFC 9457 problem with status and
// type slug, for path, carrying the response's request id.
func checkProblem(t *testing.T, r resp, status int, slug, path string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != api.ContentTypeProblem {
		t.Errorf("Content-Type %q, want %q", ct, api.ContentTypeProblem)
	}
	var p map[string]any
	r.json(t, &p)
	if p["type"] != api.ProblemBase+slug {
		t.Errorf("type %v, want %s", p["type"], api.ProblemBase+slug)
	}
	if s, _ := p["title"].(string); s == "" {
		t.Errorf("no title in %s", r.body)
	}
	if n, _ := p["status"].(float64); int(n) != status {
		t.Errorf("status member %v, want %d", p["status"], status)
	}
	if p["instance"] != path {
		t.Errorf("instance %v, want %s", p["instance"], path)
	}
	if id := r.header.Get(api.HeaderRequestID); id == "" || p["request_id"] != id {
		t.Errorf("request_id %v, header %q", p["request_id"], id)
	}
}
