package accounts_test

import (
	"bytes"
	"context"
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
	pool   *sqldb.Pool
	store  *accountssqlite.Store
	log    *auditlog.Log
	events *auditlog.MemStore
	svc    *accounts.Service
}

// newFixture is a service over SQLite in a temporary directory and an
// audit log in memory.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	pool, err := sqldb.OpenPool(ctx, filepath.Join(t.TempDir(), "signet.db"), nil, 1)
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
	return &fixture{pool: pool, store: st, log: log, events: mem,
		svc: &accounts.Service{Tenants: st, Keys: st, Recorder: log}}
}

func (f *fixture) types(t *testing.T) []string {
	t.Helper()
	n, err := f.events.Size(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	recs, err := f.events.Records(t.Context(), 0, n)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.Type)
	}
	return out
}

// TestVerifyCredential: only a well-formed secret of a stored, unrevoked
// key authenticates, as that key; a store that cannot answer is not a
// refusal of the credential.
func TestVerifyCredential(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	admin := api.Principal{Kind: api.PrincipalAPIKey, ID: "key_admin", Scopes: []string{api.ScopeAdmin}}
	tn, err := f.svc.CreateTenant(ctx, admin, auditlog.Request{}, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	good, k, err := f.svc.CreateKey(ctx, admin, auditlog.Request{}, accounts.CreateKeyRequest{Name: "ci", Scopes: []string{api.ScopeDocumentsRead}, Tenant: tn.ID})
	if err != nil {
		t.Fatal(err)
	}
	revoked, rk, err := f.svc.CreateKey(ctx, admin, auditlog.Request{}, accounts.CreateKeyRequest{Name: "old", Scopes: []string{api.ScopeDocumentsRead}, Tenant: tn.ID})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RevokeKey(ctx, admin, auditlog.Request{}, tn.ID, rk.ID); err != nil {
		t.Fatal(err)
	}
	v := f.svc.Verifier()
	tests := []struct {
		name, secret string
		ok           bool
	}{
		{"valid", good, true},
		{"revoked", revoked, false},
		{"unknown", accounts.KeyPrefix + strings.Repeat("A", 43), false},
		{"short", good[:len(good)-1], false},
		{"no prefix", "xx" + good[2:], false},
		{"not base64url", accounts.KeyPrefix + strings.Repeat("+", 43), false},
		{"empty", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := v.VerifyCredential(ctx, tc.secret)
			if !tc.ok {
				if !errors.Is(err, api.ErrUnauthorized) {
					t.Fatalf("principal %+v, error %v; want unauthorized", p, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != api.PrincipalAPIKey || p.ID != k.ID || p.Tenant != tn.ID || !p.HasScope(api.ScopeDocumentsRead) || p.HasScope(api.ScopeAdmin) {
				t.Fatalf("principal %+v", p)
			}
		})
	}
	t.Run("store unavailable", func(t *testing.T) {
		f.pool.Close()
		_, err := v.VerifyCredential(ctx, good)
		if err == nil || errors.Is(err, api.ErrUnauthorized) {
			t.Fatalf("error %v, want a failure that is not a refusal", err)
		}
	})
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
	p, err := f.svc.Verifier().VerifyCredential(ctx, secret)
	if err != nil || p.Tenant != "" || !p.HasScope(api.ScopeAdmin) || len(p.Scopes) != 1 {
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
	if got := f.types(t); len(got) != 1 || got[0] != string(auditlog.AdminPolicyChanged) {
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

// TestServiceRules: the rules of the service hold without HTTP: a tenant
// key cannot create tenants, mint a stronger key or reach another
// tenant's keys, and a failed action stores nothing.
func TestServiceRules(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	now := time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)
	f.svc.Now = func() time.Time { return now }
	admin := api.Principal{Kind: api.PrincipalAPIKey, ID: "key_admin", Scopes: []string{api.ScopeAdmin}}
	a, err := f.svc.CreateTenant(ctx, admin, auditlog.Request{}, "A")
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.svc.CreateTenant(ctx, admin, auditlog.Request{}, "B")
	if err != nil {
		t.Fatal(err)
	}
	ka := api.Principal{Kind: api.PrincipalAPIKey, ID: "key_a", Tenant: a.ID, Scopes: []string{api.ScopeAPIKeysWrite, api.ScopeAPIKeysRead, api.ScopeDocumentsRead}}
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"tenant key creates a tenant", func() error { _, err := f.svc.CreateTenant(ctx, ka, auditlog.Request{}, "C"); return err }, api.ErrForbidden},
		{"blank tenant name", func() error { _, err := f.svc.CreateTenant(ctx, admin, auditlog.Request{}, "  "); return err }, &api.Error{Kind: api.KindInvalid}},
		{"key in another tenant", func() error {
			_, _, err := f.svc.CreateKey(ctx, ka, auditlog.Request{}, accounts.CreateKeyRequest{Name: "x", Scopes: []string{api.ScopeDocumentsRead}, Tenant: b.ID})
			return err
		}, api.ErrForbidden},
		{"stronger key", func() error {
			_, _, err := f.svc.CreateKey(ctx, ka, auditlog.Request{}, accounts.CreateKeyRequest{Name: "x", Scopes: []string{api.ScopeEnvelopesSend}})
			return err
		}, api.ErrForbidden},
		{"admin scope for a tenant key", func() error {
			_, _, err := f.svc.CreateKey(ctx, admin, auditlog.Request{}, accounts.CreateKeyRequest{Name: "x", Scopes: []string{api.ScopeAdmin}, Tenant: a.ID})
			return err
		}, &api.Error{Kind: api.KindInvalid, Type: "invalid-scope"}},
		{"key of a missing tenant", func() error {
			_, _, err := f.svc.CreateKey(ctx, admin, auditlog.Request{}, accounts.CreateKeyRequest{Name: "x", Scopes: []string{api.ScopeDocumentsRead}, Tenant: "t-none"})
			return err
		}, api.ErrNotFound},
		{"list another tenant's keys", func() error { _, err := f.svc.ListKeys(ctx, ka, b.ID); return err }, api.ErrForbidden},
		{"revoke a missing key", func() error { return f.svc.RevokeKey(ctx, ka, auditlog.Request{}, "", "key_none") }, api.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
	for _, tn := range []string{a.ID, b.ID, ""} {
		if ks, err := f.store.Keys(ctx, tn); err != nil || len(ks) != 0 {
			t.Errorf("tenant %q holds keys %+v after refused requests (%v)", tn, ks, err)
		}
	}
	if ts, err := f.svc.ListTenants(ctx); err != nil || len(ts) != 2 {
		t.Errorf("tenants %+v %v", ts, err)
	}
}

// TestOpenAPIRoutes: the routes the handler registers are exactly those
// its fragment documents.
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
}
