package access_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/access"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
	identitysqlite "github.com/signet-pki/signet/internal/identity/sqlite"
	"github.com/signet-pki/signet/internal/sqldb"
)

// recorder keeps the events it records; with fail set it refuses them.
type recorder struct {
	mu     sync.Mutex
	events []auditlog.Event
	fail   bool
}

func (r *recorder) Record(_ context.Context, e auditlog.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("log down")
	}
	if err := e.Validate(); err != nil {
		return err
	}
	r.events = append(r.events, e)
	return nil
}

func (r *recorder) take() []auditlog.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.events
	r.events = nil
	return e
}

var t0 = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)

type fixture struct {
	az     *access.Authorizer
	store  *identitysqlite.Store
	rec    *recorder
	now    time.Time
	policy authz.TenantPolicy
	alerts []auditlog.Event
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	p, err := sqldb.OpenPool(t.Context(), filepath.Join(t.TempDir(), "signet.db"), nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	st, err := identitysqlite.New(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: st, rec: &recorder{}, now: t0, policy: authz.TenantPolicy{Tenant: "t1"}}
	f.az, err = access.New(access.Config{
		Grants: st, Recorder: f.rec, Now: func() time.Time { return f.now },
		Policy: func(_ context.Context, tenant string) (authz.TenantPolicy, error) {
			if tenant == "broken" {
				return authz.TenantPolicy{}, errors.New("policy store down")
			}
			p := f.policy
			p.Tenant = tenant
			return p, nil
		},
		Alert: func(_ context.Context, ev auditlog.Event) { f.alerts = append(f.alerts, ev) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"u1", "u2"} {
		if err := st.CreateUser(t.Context(), identity.User{ID: u, Tenant: "t1", Email: u + "@example.com", Status: identity.StatusActive, CreatedAt: t0.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// grant gives u a standing grant of role.
func (f *fixture) grant(t testing.TB, id, u, role string) {
	t.Helper()
	if err := f.store.AddGrant(t.Context(), identity.Grant{ID: id, Tenant: "t1", UserID: u, Role: role, GrantedBy: "u9", GrantedAt: t0.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

// elevate gives u role for an hour from t0, approved by approver.
func (f *fixture) elevate(t testing.TB, id, u, role, approver string) {
	t.Helper()
	ctx := t.Context()
	e := identity.Elevation{ID: "e-" + id, Tenant: "t1", Role: role, RequestedBy: u, Reason: "incident 42",
		Duration: time.Hour, RequestedAt: t0.Add(-time.Minute), Status: identity.ElevationPending}
	if err := f.store.RequestElevation(ctx, e); err != nil {
		t.Fatal(err)
	}
	g := identity.Grant{ID: id, Tenant: "t1", UserID: u, Role: role, GrantedBy: approver, GrantedAt: t0,
		NotBefore: t0, NotAfter: t0.Add(time.Hour), ElevationID: e.ID}
	if err := f.store.ApproveElevation(ctx, g); err != nil {
		t.Fatal(err)
	}
}

func user(id string) api.Principal {
	return api.Principal{Kind: api.PrincipalUser, ID: id, Tenant: "t1", AuthMethods: []string{"pwd"}}
}

func strong(p api.Principal, at time.Time) api.Principal {
	p.StrongAuth = api.Authentication{Method: "totp", At: at}
	return p
}

// want checks err against an expected answer: "" allows, otherwise the
// problem type.
func want(t *testing.T, name string, err error, problem string) {
	t.Helper()
	if problem == "" {
		if err != nil {
			t.Errorf("%s: %v, want allowed", name, err)
		}
		return
	}
	var e *api.Error
	if !errors.As(err, &e) {
		t.Errorf("%s: %v, want problem %s", name, err, problem)
		return
	}
	if got := api.ProblemFor(nil, err).Type; got != api.ProblemBase+problem {
		t.Errorf("%s: problem %s (%v), want %s", name, got, err, problem)
	}
}

func types(evs []auditlog.Event) []string {
	var s []string
	for _, e := range evs {
		s = append(s, string(e.Type))
	}
	return s
}

func TestUsers(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.grant(t, "g1", "u1", authz.RoleSender)
	f.grant(t, "g2", "u2", authz.RoleTenantAdmin) // privileged: standing does not count

	want(t, "sender sends", f.az.Authorize(ctx, user("u1"), api.AccessCheck{Action: "envelope.send"}), "")
	if ev := f.rec.take(); len(ev) != 0 {
		t.Errorf("a plain allow recorded %v", types(ev))
	}
	want(t, "sender administers keys", f.az.Authorize(ctx, user("u1"), api.AccessCheck{Action: "key.admin"}), "forbidden")
	want(t, "another tenant's resource", f.az.Authorize(ctx, user("u1"), api.AccessCheck{Action: "envelope.send", Tenant: "t2"}), "forbidden")
	want(t, "standing tenant-admin", f.az.Authorize(ctx, user("u2"), api.AccessCheck{Action: "user.admin", Subject: "u1"}), "forbidden")
	if got := types(f.rec.take()); strings.Join(got, " ") != "access.denied access.denied access.denied" {
		t.Errorf("events %v, want three denials", got)
	}

	// A just-in-time elevation approved by someone else counts, with a
	// fresh strong authentication.
	f.elevate(t, "g3", "u2", authz.RoleTenantAdmin, "u1")
	err := f.az.Authorize(ctx, user("u2"), api.AccessCheck{Action: "user.admin", Subject: "u1"})
	want(t, "elevated without step-up", err, "step-up-required")
	if p := api.ProblemFor(nil, err); p.Status != 401 || p.StepUp == nil || p.StepUp.MaxAge != int(authz.DefaultStepUpWindow/time.Second) || len(p.StepUp.Methods) == 0 {
		t.Errorf("step-up problem %+v", p)
	}
	f.now = t0.Add(5 * time.Minute)
	want(t, "elevated with step-up", f.az.Authorize(ctx, strong(user("u2"), t0.Add(4*time.Minute)), api.AccessCheck{Action: "user.admin", Subject: "u1"}), "")
	evs := f.rec.take()
	if got := types(evs); strings.Join(got, " ") != "access.step_up_required access.granted" {
		t.Fatalf("events %v", got)
	}
	g := evs[1]
	if g.Details["role"] != authz.RoleTenantAdmin || g.Details["strong_auth_method"] != "totp" || g.Details["strong_auth_at"] != t0.Add(4*time.Minute).Format(time.RFC3339) || g.Actor.Kind != auditlog.ActorUser {
		t.Errorf("granted event %+v", g)
	}
	want(t, "stale step-up", f.az.Authorize(ctx, strong(user("u2"), t0.Add(-time.Hour)), api.AccessCheck{Action: "user.admin", Subject: "u1"}), "step-up-required")

	// The elevation ends by itself.
	f.now = t0.Add(time.Hour)
	want(t, "elevation expired", f.az.Authorize(ctx, strong(user("u2"), f.now), api.AccessCheck{Action: "user.admin", Subject: "u1"}), "forbidden")

	// Separation of duties: nobody grants themselves a role.
	f.now = t0.Add(time.Minute)
	want(t, "self-grant", f.az.Authorize(ctx, strong(user("u2"), f.now), api.AccessCheck{Action: "role.admin", Subject: "u2"}), "forbidden")
	// Everyone manages their own account.
	want(t, "own account", f.az.Authorize(ctx, user("u1"), api.AccessCheck{Action: "account.self", Subject: "u1"}), "")
	want(t, "another's account", f.az.Authorize(ctx, user("u1"), api.AccessCheck{Action: "account.self", Subject: "u2"}), "forbidden")
}

func TestBreakGlass(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	check := api.AccessCheck{Action: "role.admin", Subject: "u1", Elevation: true}
	want(t, "self-approval", f.az.Authorize(ctx, strong(user("u1"), t0), check), "forbidden")
	f.policy.BreakGlass = []string{"u1"}
	want(t, "break-glass without step-up", f.az.Authorize(ctx, user("u1"), check), "step-up-required")
	if len(f.alerts) != 0 {
		t.Fatal("alert before the self-approval")
	}
	f.rec.take()
	want(t, "break-glass", f.az.Authorize(ctx, strong(user("u1"), t0), check), "")
	evs := f.rec.take()
	if len(evs) != 1 || evs[0].Type != auditlog.AccessBreakGlass || len(f.alerts) != 1 || f.alerts[0].Type != auditlog.AccessBreakGlass {
		t.Errorf("events %v, alerts %d", types(evs), len(f.alerts))
	}
}

func TestServiceAccounts(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	key := api.Principal{Kind: api.PrincipalAPIKey, ID: "k1", Tenant: "t1", Roles: []string{authz.RoleSender, authz.RoleAuditor},
		Actions: []string{"envelope.read", "envelope.send", "audit.export", "not.an-action"}, GrantedBy: "u1", GrantedAt: t0.Add(-time.Hour),
		StrongAuth: api.Authentication{Method: "passkey", At: t0}}
	want(t, "bound and granted", f.az.Authorize(ctx, key, api.AccessCheck{Action: "envelope.send"}), "")
	want(t, "granted, not bound", f.az.Authorize(ctx, key, api.AccessCheck{Action: "document.upload"}), "forbidden")
	want(t, "risky: cannot step up", f.az.Authorize(ctx, key, api.AccessCheck{Action: "audit.export"}), "forbidden")
	want(t, "self-service", f.az.Authorize(ctx, key, api.AccessCheck{Action: "account.self"}), "forbidden")
	platform := api.Principal{Kind: api.PrincipalAPIKey, ID: "k0", Platform: true, Actions: []string{"tenant.admin"}}
	want(t, "platform creates tenants", f.az.Authorize(ctx, platform, api.AccessCheck{Action: "tenant.admin"}), "")
	want(t, "platform reads envelopes", f.az.Authorize(ctx, platform, api.AccessCheck{Action: "envelope.read", Tenant: "t1"}), "forbidden")
	recipient := api.Principal{Kind: api.PrincipalRecipient, ID: "r1", Tenant: "t1", Envelope: "e1"}
	want(t, "recipient signs its envelope", f.az.Authorize(ctx, recipient, api.AccessCheck{Action: "envelope.sign", Envelope: "e1"}), "")
	want(t, "recipient signs another", f.az.Authorize(ctx, recipient, api.AccessCheck{Action: "envelope.sign", Envelope: "e2"}), "forbidden")
	want(t, "high assurance needs a strong proof", f.az.Authorize(ctx, recipient, api.AccessCheck{Action: "envelope.sign", Envelope: "e1", HighAssurance: true}), "step-up-required")
}

// TestFailClosed: a decision that cannot be made, or an allowed risky
// action that cannot be recorded, is refused.
func TestFailClosed(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	f.grant(t, "g1", "u1", authz.RoleAuditor)
	f.rec.fail = true
	want(t, "risky allow unrecorded", f.az.Authorize(ctx, strong(user("u1"), t0), api.AccessCheck{Action: "audit.export"}), "unavailable")
	want(t, "plain allow", f.az.Authorize(ctx, user("u1"), api.AccessCheck{Action: "audit.read"}), "")
	want(t, "denial unrecorded stays a denial", f.az.Authorize(ctx, user("u1"), api.AccessCheck{Action: "key.admin"}), "forbidden")
	f.rec.fail = false
	broken := api.Principal{Kind: api.PrincipalUser, ID: "u1", Tenant: "broken"}
	want(t, "policy unavailable", f.az.Authorize(ctx, broken, api.AccessCheck{Action: "audit.read"}), "unavailable")
	want(t, "unknown action", f.az.Authorize(ctx, user("u1"), api.AccessCheck{Action: "audit.erase"}), "internal")
	if _, err := access.New(access.Config{}); err == nil {
		t.Error("New without stores")
	}
}

// BenchmarkAuthorize measures the gate's decision for a user holding a
// standing grant and an elevation: the grants and the elevation read from
// SQLite, then authz.Decide. BenchmarkDecide is the pure decision on the
// same principal already loaded: the floor the reads add to.
func BenchmarkAuthorize(b *testing.B) {
	f := newFixture(b)
	f.grant(b, "g1", "u1", authz.RoleSender)
	f.elevate(b, "g2", "u1", authz.RoleTenantAdmin, "u2")
	f.now = t0.Add(time.Minute)
	p := strong(user("u1"), f.now)
	ctx := context.Background()
	for b.Loop() {
		if err := f.az.Authorize(ctx, p, api.AccessCheck{Action: "envelope.send", Preliminary: true}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	now := t0.Add(time.Minute)
	p := authz.Principal{Kind: authz.KindUser, ID: "u1", Tenant: "t1",
		StrongAuth: authz.Authentication{Method: authz.MethodTOTP, At: now},
		Grants: []authz.Grant{{Role: authz.RoleSender, Tenant: "t1", GrantedBy: "u9"},
			{Role: authz.RoleTenantAdmin, Tenant: "t1", GrantedBy: "u2", NotBefore: t0, NotAfter: t0.Add(time.Hour),
				Elevation: &authz.Elevation{RequestedBy: "u1", ApprovedBy: "u2", Reason: "incident 42"}}}}
	req := authz.Request{Action: authz.ActionEnvelopeSend, Tenant: "t1", Preliminary: true}
	policy := authz.TenantPolicy{Tenant: "t1"}
	for b.Loop() {
		if d := authz.Decide(p, req, policy, now); !d.Allowed() {
			b.Fatal(d.Reason)
		}
	}
}
