package api_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
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

	"github.com/signet-pki/signet/internal/api"
	apisqlite "github.com/signet-pki/signet/internal/api/sqlite"
	"github.com/signet-pki/signet/internal/sqldb"
)

// env is a real API stack over SQLite in a temporary directory. Its
// principals are those of a [keyring]: package api does not know how
// credentials are stored (package accounts does, and tests the stack with
// its own keys).
type env struct {
	t       *testing.T
	srv     *httptest.Server
	keys    *keyring
	idem    *apisqlite.Store
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
	limits api.RateLimits
	extra  func(mux api.Mux, e *env)
	checks []api.Check
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	pool, err := sqldb.OpenPool(ctx, filepath.Join(t.TempDir(), "signet.db"), nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	idem, err := apisqlite.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, keys: &keyring{m: map[string]api.Principal{}}, idem: idem, logs: &syncBuffer{}, clock: &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	e.admin, _ = e.keys.mint("", "tenant.admin")

	rt := api.NewRouter()
	rt.HandleFunc("GET /v1/whoami", whoami)
	(&api.Health{Checks: o.checks}).Register(rt)
	if o.extra != nil {
		o.extra(rt, e)
	}
	e.router = rt
	if o.limits == (api.RateLimits{}) {
		o.limits = api.RateLimits{PerIP: api.Rate{PerSecond: 1000, Burst: 1000}, PerKey: api.Rate{PerSecond: 1000, Burst: 1000}}
	}
	e.limiter = api.NewRateLimiter(o.limits)
	e.limiter.Now = e.clock.Now
	h := api.Chain(rt, api.Stack{
		Logger:      logger,
		MaxBody:     1 << 20,
		Limiter:     e.limiter,
		Auth:        &api.Authenticator{Credentials: e.keys},
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

// keyring is the stack's [api.CredentialVerifier]: credentials minted by
// the test, each naming a principal.
type keyring struct {
	mu sync.Mutex
	m  map[string]api.Principal
	n  int
}

// VerifyCredential implements [api.CredentialVerifier].
func (k *keyring) VerifyCredential(_ context.Context, secret string, _ netip.Addr) (api.Principal, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p, ok := k.m[secret]
	if !ok {
		return api.Principal{}, api.ErrUnauthorized
	}
	return p, nil
}

// mint returns a new credential of an API key of tenant bound to actions,
// and the key's id.
func (k *keyring) mint(tenant string, actions ...string) (string, string) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.n++
	id := fmt.Sprintf("key_%d", k.n)
	secret := "tk_" + hex.EncodeToString(b[:])
	k.m[secret] = api.Principal{Kind: api.PrincipalAPIKey, ID: id, Tenant: tenant, Platform: tenant == "", Actions: actions}
	return secret, id
}

// whoami answers the principal of the request.
func whoami(w http.ResponseWriter, r *http.Request) {
	p, _ := api.PrincipalFrom(r.Context())
	api.WriteJSON(w, http.StatusOK, map[string]string{"id": p.ID, "tenant": p.Tenant})
}

// tenant returns the id of a tenant named name (tenants are not stored
// here: a principal's tenant is only a name).
func (e *env) tenant(name string) string { return "t-" + name }

// key mints a credential of tenant bound to actions and returns it and its id.
func (e *env) key(tenant string, actions ...string) (string, string) {
	return e.keys.mint(tenant, actions...)
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
