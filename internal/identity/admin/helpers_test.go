package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/admin"
	identitysqlite "github.com/signet-pki/signet/internal/identity/sqlite"
	"github.com/signet-pki/signet/internal/sqldb"
)

const tenant = "t-1"

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recorder keeps the events, validated as the log would; fail makes it
// refuse.
type recorder struct {
	mu     sync.Mutex
	events []auditlog.Event
	fail   bool
}

func (r *recorder) Record(_ context.Context, e auditlog.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("audit log down")
	}
	if err := e.Validate(); err != nil {
		return err
	}
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) setFail(v bool) {
	r.mu.Lock()
	r.fail = v
	r.mu.Unlock()
}

// of returns the events of type t.
func (r *recorder) of(t auditlog.EventType) []auditlog.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []auditlog.Event
	for _, e := range r.events {
		if e.Type == t {
			out = append(out, e)
		}
	}
	return out
}

// authorizer decides with authz.Decide over the stored grants and policy,
// as internal/access does.
type authorizer struct {
	store identity.Store
	now   func() time.Time
}

func (a authorizer) principal(ctx context.Context, p api.Principal) (authz.Principal, error) {
	ap := authz.Principal{Kind: authz.KindUser, ID: p.ID, Tenant: p.Tenant,
		StrongAuth: authz.Authentication{Method: authz.Method(p.StrongAuth.Method), At: p.StrongAuth.At}}
	gs, err := a.store.Grants(ctx, p.Tenant, p.ID)
	if err != nil {
		return ap, err
	}
	for _, g := range gs {
		ag := authz.Grant{Role: g.Role, Tenant: g.Tenant, GrantedBy: g.GrantedBy, NotBefore: g.NotBefore, NotAfter: g.NotAfter}
		if g.ElevationID != "" {
			e, err := a.store.Elevation(ctx, g.Tenant, g.ElevationID)
			if err != nil {
				return ap, err
			}
			ag.Elevation = &authz.Elevation{RequestedBy: e.RequestedBy, ApprovedBy: g.GrantedBy, Reason: e.Reason,
				BreakGlass: g.GrantedBy == e.RequestedBy}
		}
		ap.Grants = append(ap.Grants, ag)
	}
	return ap, nil
}

func (a authorizer) decide(ctx context.Context, p api.Principal, c api.AccessCheck) (authz.Decision, error) {
	ap, err := a.principal(ctx, p)
	if err != nil {
		return authz.Decision{}, err
	}
	policy, err := a.store.Policy(ctx, p.Tenant)
	if err != nil {
		return authz.Decision{}, err
	}
	req := authz.Request{Action: authz.Action(c.Action), Tenant: c.Tenant, Subject: c.Subject, Elevation: c.Elevation,
		EnvelopeSender: c.EnvelopeSender}
	if req.Tenant == "" {
		req.Tenant = p.Tenant
	}
	return authz.Decide(ap, req, policy, a.now()), nil
}

func (a authorizer) Authorize(ctx context.Context, p api.Principal, c api.AccessCheck) error {
	d, err := a.decide(ctx, p, c)
	if err != nil {
		return &api.Error{Kind: api.KindUnavailable, Err: err}
	}
	switch d.Effect {
	case authz.Allow:
		return nil
	case authz.StepUpRequired:
		return &api.Error{Kind: api.KindUnauthorized, Type: "step-up-required", Detail: d.Reason}
	}
	return &api.Error{Kind: api.KindForbidden, Detail: "not permitted: " + d.Reason}
}

// env is one service over a fresh SQLite store, behind the action gate.
type env struct {
	t        *testing.T
	store    *identitysqlite.Store
	clock    *clock
	rec      *recorder
	az       authorizer
	svc      *admin.Service
	handler  http.Handler
	alerts   []auditlog.Event
	offboard []string
	keys     []admin.ReviewKey
	mu       sync.Mutex
}

func newEnv(t *testing.T) *env {
	t.Helper()
	p, err := sqldb.OpenPool(t.Context(), filepath.Join(t.TempDir(), "signet.db"), nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	store, err := identitysqlite.New(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: store, clock: &clock{t: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)}, rec: &recorder{}}
	e.az = authorizer{store: store, now: e.clock.Now}
	e.svc, err = admin.New(admin.Config{
		Store: store, Recorder: e.rec, Now: e.clock.Now,
		Alert: func(_ context.Context, ev auditlog.Event) {
			e.mu.Lock()
			e.alerts = append(e.alerts, ev)
			e.mu.Unlock()
		},
		Offboard: func(_ context.Context, tenant, userID string, _ time.Time) ([]string, error) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.offboard = append(e.offboard, tenant+"/"+userID)
			return []string{"key-of-" + userID}, nil
		},
		Keys: func(context.Context, string) ([]admin.ReviewKey, error) { return e.keys, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	rt := api.NewRouter()
	e.svc.Register(rt)
	access, err := api.OpenAPIAccess(admin.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	gate := &api.Gate{Router: rt, Access: access, Authorizer: e.az}
	inner := gate.Middleware(rt)
	// The test's authentication: X-Test-User names a user of the tenant
	// who passed TOTP just now, unless X-Test-Weak is set.
	e.handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := r.Header.Get("X-Test-User"); id != "" {
			p := api.Principal{Kind: api.PrincipalUser, ID: id, Tenant: tenant, AuthMethods: []string{"pwd", "otp"}}
			if r.Header.Get("X-Test-Tenant") != "" {
				p.Tenant = r.Header.Get("X-Test-Tenant")
			}
			if r.Header.Get("X-Test-Weak") == "" {
				p.StrongAuth = api.Authentication{Method: "totp", At: e.clock.Now()}
			}
			r = r.WithContext(api.WithPrincipal(r.Context(), p))
		}
		inner.ServeHTTP(w, r)
	})
	return e
}

// do sends a request as user (none if ""), with a JSON body unless nil.
func (e *env) do(user, method, path string, body any, header ...string) *httptest.ResponseRecorder {
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
	if user != "" {
		r.Header.Set("X-Test-User", user)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	e.handler.ServeHTTP(w, r)
	return w
}

// want fails unless w has status code.
func want(t *testing.T, what string, w *httptest.ResponseRecorder, code int) {
	t.Helper()
	if w.Code != code {
		t.Fatalf("%s: status %d, want %d: %s", what, w.Code, code, w.Body.String())
	}
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", w.Body.String(), err)
	}
	return v
}

// problemType returns the problem type slug of w.
func problemType(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	p := decode[api.Problem](t, w)
	return p.Type[len(api.ProblemBase):]
}

const goodPassword = "correct horse battery staple 42"

// bootstrap creates the first administrator, who sets a password and
// elevates to tenant-admin by break-glass; it returns their id.
func (e *env) bootstrap() string {
	e.t.Helper()
	id, tok, err := e.svc.CreateFirstAdmin(e.t.Context(), tenant, "ada@example.org", "Ada Admin", "platform")
	if err != nil {
		e.t.Fatal(err)
	}
	want(e.t, "redeem", e.do("", "POST", "/v1/invitations/redeem", admin.RedeemRequest{Token: tok, Password: goodPassword}), http.StatusNoContent)
	e.elevate(id, authz.RoleTenantAdmin, "")
	return id
}

// elevate has user request role and approver approve it ("" for
// break-glass); it returns the grant.
func (e *env) elevate(user, role, approver string) admin.Grant {
	e.t.Helper()
	w := e.do(user, "POST", "/v1/elevations", admin.ElevationBody{Role: role, Reason: "ticket 7", DurationSeconds: 3600})
	want(e.t, "request elevation", w, http.StatusCreated)
	el := decode[admin.Elevation](e.t, w)
	if approver == "" {
		w = e.do(user, "POST", "/v1/elevations/"+el.ID+"/break-glass", nil)
	} else {
		w = e.do(approver, "POST", "/v1/elevations/"+el.ID+"/approve", nil)
	}
	want(e.t, "approve elevation", w, http.StatusOK)
	return decode[admin.Grant](e.t, w)
}

// createUser creates a user with roles as by and returns its id and
// invitation token.
func (e *env) createUser(by, email string, roles ...string) (string, string) {
	e.t.Helper()
	w := e.do(by, "POST", "/v1/users", admin.CreateUserRequest{Email: email, Name: "Name " + email, Roles: roles})
	want(e.t, "create user "+email, w, http.StatusCreated)
	out := decode[struct {
		User       admin.User       `json:"user"`
		Invitation admin.Invitation `json:"invitation"`
	}](e.t, w)
	return out.User.ID, out.Invitation.Token
}

// allowed reports whether user may perform action (on subject) now.
func (e *env) allowed(user string, action authz.Action) bool {
	e.t.Helper()
	d, err := e.az.decide(e.t.Context(), api.Principal{Kind: api.PrincipalUser, ID: user, Tenant: tenant,
		StrongAuth: api.Authentication{Method: "totp", At: e.clock.Now()}},
		api.AccessCheck{Action: string(action), EnvelopeSender: "u-someone-else"})
	if err != nil {
		e.t.Fatal(err)
	}
	return d.Allowed()
}
