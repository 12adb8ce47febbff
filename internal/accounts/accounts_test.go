package accounts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/accounts"
	accountssqlite "github.com/signet-pki/signet/internal/accounts/sqlite"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/sqldb"
)

type fixture struct {
	dir    string
	pool   *sqldb.Pool
	store  *accountssqlite.Store
	log    *auditlog.Log
	events *auditlog.MemStore
	svc    *accounts.Service
	clock  *clock
}

// The principals of the service tests.
var (
	platformAdmin = api.Principal{Kind: api.PrincipalAPIKey, ID: "key_admin", Platform: true, Actions: accounts.PlatformActions}
)

// newFixture is a service over SQLite in a temporary directory, an audit
// log in memory and a clock the test moves.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	pool, err := sqldb.OpenPool(ctx, filepath.Join(dir, "signet.db"), nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	st, err := accountssqlite.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auditlog.NewDerivedKeys(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	mem := auditlog.NewMemStore()
	log, err := auditlog.New(ctx, auditlog.Config{Storage: mem, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Shutdown(context.Background()) })
	c := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	return &fixture{dir: dir, pool: pool, store: st, log: log, events: mem, clock: c,
		svc: &accounts.Service{Tenants: st, Keys: st, Tokens: st, Recorder: log, Now: c.Now}}
}

// event is the part of a recorded event's leaf the tests read.
type event struct {
	Type    string            `json:"type"`
	Tenant  string            `json:"tenant"`
	Outcome string            `json:"outcome"`
	Reason  string            `json:"reason"`
	Details map[string]string `json:"details"`
	Actor   struct {
		Kind string `json:"kind"`
		ID   string `json:"id"`
	} `json:"actor"`
}

// recorded returns the events recorded so far, and their raw leaves.
func (f *fixture) recorded(t testing.TB) ([]event, [][]byte) {
	t.Helper()
	n, err := f.events.Size(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	recs, err := f.events.Records(t.Context(), 0, n)
	if err != nil {
		t.Fatal(err)
	}
	var out []event
	var leaves [][]byte
	for _, r := range recs {
		var e event
		if err := json.Unmarshal(r.Leaf, &e); err != nil {
			t.Fatal(err)
		}
		e.Type = r.Type
		out = append(out, e)
		leaves = append(leaves, r.Leaf)
	}
	return out, leaves
}

func (f *fixture) types(t *testing.T) []string {
	t.Helper()
	evs, _ := f.recorded(t)
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// tenant creates a tenant as the platform administrator.
func (f *fixture) tenant(t testing.TB, name string) string {
	t.Helper()
	tn, err := f.svc.CreateTenant(t.Context(), platformAdmin, auditlog.Request{}, name)
	if err != nil {
		t.Fatal(err)
	}
	return tn.ID
}

// provision creates a key of tenant as the platform administrator.
func (f *fixture) provision(t testing.TB, tenant string, in accounts.CreateKeyRequest) (string, accounts.APIKey) {
	t.Helper()
	secret, k, err := f.svc.ProvisionKey(t.Context(), platformAdmin, auditlog.Request{}, tenant, in)
	if err != nil {
		t.Fatal(err)
	}
	return secret, k
}

// TestBootstrap: the first start creates one platform administrator key,
// recorded before it is stored; later starts create none.
func TestBootstrap(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	secret, err := f.svc.Bootstrap(ctx)
	if err != nil || !strings.HasPrefix(secret, accounts.KeyPrefix) {
		t.Fatalf("bootstrap: %q %v", secret, err)
	}
	p, err := f.svc.Verifier().VerifyCredential(ctx, secret, addr("192.0.2.1"))
	if err != nil || p.Tenant != "" || !p.Platform || !slices.Equal(p.Actions, []string{"tenant.admin"}) || len(p.Roles) != 0 ||
		p.GrantedBy != "platform" || !p.GrantedAt.Equal(f.clock.Now()) || !slices.Equal(p.AuthMethods, []string{"api-key"}) {
		t.Fatalf("bootstrap key: %+v %v", p, err)
	}
	again, err := f.svc.Bootstrap(ctx)
	if err != nil || again != "" {
		t.Fatalf("second bootstrap: %q %v", again, err)
	}
	ks, err := f.store.Keys(ctx, "")
	if err != nil || len(ks) != 1 {
		t.Fatalf("platform keys %+v %v", ks, err)
	}
	if got := f.types(t); len(got) != 1 || got[0] != string(auditlog.APIKeyCreated) {
		t.Fatalf("events %q", got)
	}
}

// TestBootstrapFailsClosed: without an audit log no key is created, and a
// later start with the log creates it.
func TestBootstrapFailsClosed(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	if err := f.log.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if secret, err := f.svc.Bootstrap(ctx); err == nil || secret != "" {
		t.Fatalf("bootstrap without an audit log: %q %v", secret, err)
	}
	if ks, err := f.store.Keys(ctx, ""); err != nil || len(ks) != 0 {
		t.Fatalf("keys after a refused bootstrap: %+v %v", ks, err)
	}
}

// TestServiceRules: the rules the service keeps without the gate: only
// the platform administrator creates tenants and provisions keys, tenant
// principals manage only their own tenant's keys (the platform
// administrator not at all), and a refused request stores nothing.
func TestServiceRules(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a, b := f.tenant(t, "A"), f.tenant(t, "B")
	_, kb := f.provision(t, b, accounts.CreateKeyRequest{Name: "b", Roles: []string{"sender"}})
	ka := api.Principal{Kind: api.PrincipalAPIKey, ID: "key_a", Tenant: a, Roles: []string{"tenant-admin"}, Actions: []string{"apikey.read", "apikey.admin"}}
	in := accounts.CreateKeyRequest{Name: "x", Roles: []string{"sender"}}
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"tenant key creates a tenant", func() error { _, err := f.svc.CreateTenant(ctx, ka, auditlog.Request{}, "C"); return err }, api.ErrForbidden},
		{"platform flag with a tenant", func() error {
			p := ka
			p.Platform = true
			_, err := f.svc.CreateTenant(ctx, p, auditlog.Request{}, "C")
			return err
		}, api.ErrForbidden},
		{"blank tenant name", func() error { _, err := f.svc.CreateTenant(ctx, platformAdmin, auditlog.Request{}, "  "); return err }, &api.Error{Kind: api.KindInvalid}},
		{"tenant key provisions", func() error { _, _, err := f.svc.ProvisionKey(ctx, ka, auditlog.Request{}, b, in); return err }, api.ErrForbidden},
		{"provision in a missing tenant", func() error {
			_, _, err := f.svc.ProvisionKey(ctx, platformAdmin, auditlog.Request{}, "t-none", in)
			return err
		}, api.ErrNotFound},
		{"provision in no tenant", func() error {
			_, _, err := f.svc.ProvisionKey(ctx, platformAdmin, auditlog.Request{}, "", in)
			return err
		}, api.ErrNotFound},
		{"provision a platform action", func() error {
			_, _, err := f.svc.ProvisionKey(ctx, platformAdmin, auditlog.Request{}, a, accounts.CreateKeyRequest{Name: "x", Actions: []string{"tenant.admin"}})
			return err
		}, &api.Error{Kind: api.KindInvalid, Type: "invalid-action"}},
		{"platform creates a tenant key", func() error { _, _, err := f.svc.CreateKey(ctx, platformAdmin, auditlog.Request{}, in); return err }, api.ErrForbidden},
		{"platform lists keys", func() error { _, err := f.svc.ListKeys(ctx, platformAdmin); return err }, api.ErrForbidden},
		{"platform revokes", func() error { return f.svc.RevokeKey(ctx, platformAdmin, auditlog.Request{}, kb.ID) }, api.ErrForbidden},
		{"revoke another tenant's key", func() error { return f.svc.RevokeKey(ctx, ka, auditlog.Request{}, kb.ID) }, api.ErrNotFound},
		{"rotate another tenant's key", func() error {
			_, _, err := f.svc.RotateKey(ctx, ka, auditlog.Request{}, kb.ID, accounts.RotateKeyRequest{})
			return err
		}, api.ErrNotFound},
		{"revoke a missing key", func() error { return f.svc.RevokeKey(ctx, ka, auditlog.Request{}, "key_none") }, api.ErrNotFound},
		{"disable a missing key", func() error { return f.svc.DisableKey(ctx, a, kb.ID, f.clock.Now()) }, api.ErrNotFound},
		{"revoke keys of no user", func() error { _, err := f.svc.RevokeKeysOwnedBy(ctx, a, "", f.clock.Now()); return err }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if tc.want == nil {
				if err == nil {
					t.Fatal("accepted")
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
	for _, tn := range []string{a, ""} {
		if ks, err := f.store.Keys(ctx, tn); err != nil || len(ks) != 0 {
			t.Errorf("tenant %q holds keys %+v after refused requests (%v)", tn, ks, err)
		}
	}
	if got, _ := f.store.Key(ctx, b, kb.ID); got.RevokedAt != nil || got.ReplacedBy != "" {
		t.Errorf("B's key changed: %+v", got)
	}
	if ts, err := f.svc.ListTenants(ctx); err != nil || len(ts) != 2 {
		t.Errorf("tenants %+v %v", ts, err)
	}
}

// TestRevokeKeysOwnedBy: offboarding a user revokes every key they own,
// with the keys they replaced still in overlap and all their tokens, and
// nothing else; each revocation is recorded.
func TestRevokeKeysOwnedBy(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a, b := f.tenant(t, "A"), f.tenant(t, "B")
	mk := func(tenant, owner string) (string, accounts.APIKey) {
		t.Helper()
		secret, k, err := accounts.NewAPIKey(nil, accounts.KeySpec{Tenant: tenant, Name: "k", Roles: []string{"sender"}, Actions: []string{"document.read"}, Owner: owner}, f.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := f.store.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		return secret, k
	}
	s1, k1 := mk(a, "u-alice")
	s2, k2 := mk(a, "u-alice")
	s3, _ := mk(a, "u-bob")
	s4, _ := mk(b, "u-alice") // another tenant's user of the same id
	s5, _ := mk(a, "")        // provisioned by the platform
	// k2 was rotated: its replacement is alice's too, its old secret in
	// overlap.
	next := accounts.APIKey{}
	{
		secret, n, err := accounts.NewAPIKey(nil, accounts.KeySpec{Tenant: a, Name: "k", Roles: []string{"sender"}, Actions: []string{"document.read"}, Owner: "u-alice"}, f.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := f.store.RotateKey(ctx, a, k2.ID, n, f.clock.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		next = n
		s2 = s2 + " " + secret
	}
	v := f.svc.Verifier()
	tok, _, err := f.svc.ExchangeToken(ctx, s1, addr("192.0.2.1"), auditlog.Request{}, accounts.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	ids, err := f.svc.RevokeKeysOwnedBy(ctx, a, "u-alice", f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ids)
	want := []string{k1.ID, k2.ID, next.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("revoked %v, want %v", ids, want)
	}
	for _, s := range append([]string{s1, tok}, strings.Fields(s2)...) {
		if _, err := v.VerifyCredential(ctx, s, addr("192.0.2.1")); !errors.Is(err, api.ErrUnauthorized) {
			t.Errorf("alice's credential %.6s… still works: %v", s, err)
		}
	}
	for _, s := range []string{s3, s4, s5} {
		if _, err := v.VerifyCredential(ctx, s, addr("192.0.2.1")); err != nil {
			t.Errorf("another credential stopped working: %v", err)
		}
	}
	if _, err := f.store.TokenByHash(ctx, accounts.HashSecret(tok)); !errors.Is(err, accounts.ErrNoRecord) {
		t.Errorf("alice's token kept: %v", err)
	}
	evs, _ := f.recorded(t)
	revoked := 0
	for _, e := range evs {
		if e.Type == string(auditlog.APIKeyRevoked) {
			revoked++
			if e.Actor.Kind != "system" || e.Tenant != a || e.Details["owner"] != "u-alice" {
				t.Errorf("revocation event %+v", e)
			}
		}
	}
	if revoked != 3 {
		t.Errorf("%d revocations recorded, want 3", revoked)
	}
	// Again: nothing left to revoke.
	if ids, err := f.svc.RevokeKeysOwnedBy(ctx, a, "u-alice", f.clock.Now()); err != nil || len(ids) != 0 {
		t.Fatalf("second offboarding: %v %v", ids, err)
	}
}

// TestDisableKey: disabling a key revokes it for good, with the key it
// replaced whose overlap has not ended, and deletes their tokens; its
// replacement (if it was itself replaced) is not touched.
func TestDisableKey(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a := f.tenant(t, "A")
	oldSecret, old := f.provision(t, a, accounts.CreateKeyRequest{Name: "ci", Roles: []string{"sender"}})
	p := api.Principal{Kind: api.PrincipalUser, ID: "u-admin", Tenant: a}
	ctxAz := api.WithAuthorizer(api.WithPrincipal(ctx, p), allowAll{})
	newSecret, next, err := f.svc.RotateKey(ctxAz, p, auditlog.Request{}, old.ID, accounts.RotateKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	oldTok, _, err := f.svc.ExchangeToken(ctx, oldSecret, addr("192.0.2.1"), auditlog.Request{}, accounts.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	newTok, _, err := f.svc.ExchangeToken(ctx, newSecret, addr("192.0.2.1"), auditlog.Request{}, accounts.TokenRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DisableKey(ctx, a, next.ID, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{oldSecret, newSecret, oldTok, newTok} {
		if _, err := f.svc.Verifier().VerifyCredential(ctx, s, addr("192.0.2.1")); !errors.Is(err, api.ErrUnauthorized) {
			t.Errorf("credential %.6s… works after disabling: %v", s, err)
		}
	}
	for _, id := range []string{old.ID, next.ID} {
		if k, err := f.store.Key(ctx, a, id); err != nil || k.RevokedAt == nil {
			t.Errorf("key %s not revoked: %+v %v", id, k, err)
		}
	}
	if err := f.svc.DisableKey(ctx, a, next.ID, f.clock.Now()); err != nil {
		t.Fatalf("disable twice: %v", err)
	}
}

// allowAll is an authorizer that allows everything, for service tests of
// what comes after the authorization.
type allowAll struct{}

func (allowAll) Authorize(context.Context, api.Principal, api.AccessCheck) error { return nil }

// TestOpenAPIRoutes: the routes the handler registers are exactly those
// its fragment documents, and each declares its action or is public.
func TestOpenAPIRoutes(t *testing.T) {
	rt := api.NewRouter()
	(&accounts.Handler{}).Register(rt)
	doc, err := api.MergeOpenAPI(api.OpenAPIBase, accounts.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	documented, err := api.OpenAPIRoutes(doc)
	if err != nil {
		t.Fatal(err)
	}
	if got := rt.Patterns(); !slices.Equal(got, documented) {
		t.Fatalf("registered %v\ndocumented %v", got, documented)
	}
	access, err := api.OpenAPIAccess(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]api.Access{
		"POST /v1/tenants":               {Action: "tenant.admin"},
		"GET /v1/tenants":                {Action: "tenant.admin"},
		"DELETE /v1/tenants/{id}":        {Action: "tenant.admin"},
		"POST /v1/tenants/{id}/api-keys": {Action: "tenant.admin"},
		"POST /v1/api-keys":              {Action: "apikey.admin"},
		"GET /v1/api-keys":               {Action: "apikey.read"},
		"DELETE /v1/api-keys/{id}":       {Action: "apikey.admin"},
		"POST /v1/api-keys/{id}/rotate":  {Action: "apikey.admin"},
		"POST /v1/tokens":                {Public: true},
	}
	for _, p := range documented {
		if access[p] != want[p] || !access[p].Declared() {
			t.Errorf("%s declares %+v, want %+v", p, access[p], want[p])
		}
	}
	if len(documented) != len(want) {
		t.Errorf("%d routes, want %d", len(documented), len(want))
	}
}
