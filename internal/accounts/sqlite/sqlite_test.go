package sqlite_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/accounts"
	accountssqlite "github.com/signet-pki/signet/internal/accounts/sqlite"
	"github.com/signet-pki/signet/internal/accounts/storetest"
	"github.com/signet-pki/signet/internal/api"
	apisqlite "github.com/signet-pki/signet/internal/api/sqlite"
	"github.com/signet-pki/signet/internal/sqldb"
)

// The tenant and API key of testdata/previous-layout.sql.
const (
	oldTenant = "t-0123456789abcdef"
	oldKeyID  = "key_e6f4cd904fdd2179f5fab5c7"
	oldSecret = "sk__msjZzYUJtQzd_7rppI3C1d9k-KkCuac5Yc2jbSk3Ao"
)

// openOrder opens the api and accounts stores over one database in the
// given order.
func openOrder(t *testing.T, ctx context.Context, pool *sqldb.Pool, accountsFirst bool) (*accountssqlite.Store, *apisqlite.Store) {
	t.Helper()
	var (
		acc  *accountssqlite.Store
		idem *apisqlite.Store
		err  error
	)
	openAcc := func() {
		if acc, err = accountssqlite.New(ctx, pool); err != nil {
			t.Fatalf("accounts store: %v", err)
		}
	}
	openAPI := func() {
		if idem, err = apisqlite.New(ctx, pool); err != nil {
			t.Fatalf("api store: %v", err)
		}
	}
	if accountsFirst {
		openAcc()
		openAPI()
	} else {
		openAPI()
		openAcc()
	}
	return acc, idem
}

// schema returns the database's schema objects and applied migrations.
func schema(t *testing.T, ctx context.Context, pool *sqldb.Pool) (objects, migrations []string) {
	t.Helper()
	rows, err := pool.Writer().QueryContext(ctx, `SELECT type || ' ' || name || ': ' || sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		objects = append(objects, s)
	}
	rows, err = pool.Writer().QueryContext(ctx, `SELECT version || ' ' || name FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		migrations = append(migrations, s)
	}
	return objects, migrations
}

func previousLayout(t *testing.T, ctx context.Context) *sqldb.Pool {
	t.Helper()
	dump, err := os.ReadFile(filepath.Join("testdata", "previous-layout.sql"))
	if err != nil {
		t.Fatal(err)
	}
	pool, err := sqldb.OpenPool(ctx, filepath.Join(t.TempDir(), "signet.db"), nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	if _, err := pool.Writer().ExecContext(ctx, string(dump)); err != nil {
		t.Fatal(err)
	}
	return pool
}

// oldRows are keys of the layout before version 500, with their scopes,
// and what version 500 makes of them.
var oldRows = []struct {
	id, tenant, scopes string
	roles, actions     []string
}{
	{"key_docs", "t-0123456789abcdef", "documents:write documents:read", []string{"sender"}, []string{"document.upload", "document.read"}},
	{"key_all", "t-0123456789abcdef", "api-keys:read api-keys:write documents:read documents:write envelopes:read envelopes:write envelopes:send",
		[]string{"sender", "tenant-admin"},
		[]string{"document.upload", "document.read", "envelope.prepare", "envelope.read", "envelope.send", "envelope.void", "apikey.read", "apikey.admin"}},
	{"key_env", "t-0123456789abcdef", "envelopes:send envelopes:write", []string{"sender"}, []string{"envelope.prepare", "envelope.send", "envelope.void"}},
	{"key_read", "t-0123456789abcdef", "envelopes:read", []string{"sender"}, []string{"envelope.read"}},
	{"key_keys", "t-0123456789abcdef", "api-keys:read", []string{"tenant-admin"}, []string{"apikey.read"}},
	{"key_platform", "", "admin", nil, []string{"tenant.admin"}},
	{"key_none", "t-0123456789abcdef", "", nil, nil},
}

// TestMigratesScopes: a service database written before version 500
// (scoped keys) opens with the stores in either order; versions 500 and
// later are recorded once, every key's scopes became roles and actions, the old
// key still authenticates as a service account with them, and the
// idempotency store still works.
func TestMigratesScopes(t *testing.T) {
	for _, accountsFirst := range []bool{true, false} {
		name := map[bool]string{true: "accounts first", false: "api first"}[accountsFirst]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			pool := previousLayout(t, ctx)
			for i, r := range oldRows {
				if _, err := pool.Writer().ExecContext(ctx, `INSERT INTO api_keys (id, tenant, name, scopes, prefix, hash, created_at) VALUES (?, ?, 'old', ?, 'sk_old', ?, '2026-01-02T03:04:05Z')`,
					r.id, r.tenant, r.scopes, []byte(fmt.Sprintf("%032d", i))); err != nil {
					t.Fatal(err)
				}
			}
			_, before := schema(t, ctx, pool)
			acc, idem := openOrder(t, ctx, pool, accountsFirst)
			_, after := schema(t, ctx, pool)
			want := slices.Clone(before)
			for _, m := range accountssqlite.Migrations {
				want = append(want, fmt.Sprintf("%d %s", m.Version, m.Name))
			}
			if !slices.Equal(after, want) {
				t.Fatalf("migrations %q, want %q", after, want)
			}
			for _, r := range oldRows {
				k, err := acc.Key(ctx, r.tenant, r.id)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(k.Roles, r.roles) || !slices.Equal(k.Actions, r.actions) || k.Owner != "" || k.ExpiresAt != nil || k.ReplacedBy != "" {
					t.Errorf("%s (%q): roles %q actions %q, want %q %q (%+v)", r.id, r.scopes, k.Roles, k.Actions, r.roles, r.actions, k)
				}
			}
			tn, err := acc.Tenant(ctx, oldTenant)
			if err != nil || tn.Name != "Acme" {
				t.Fatalf("tenant %+v, %v", tn, err)
			}
			p, err := accounts.KeyVerifier{Keys: acc}.VerifyCredential(ctx, oldSecret, netip.Addr{})
			if err != nil {
				t.Fatal(err)
			}
			if p.ID != oldKeyID || p.Tenant != oldTenant || p.Platform || !slices.Equal(p.Roles, []string{"sender"}) ||
				!slices.Equal(p.Actions, []string{"document.read"}) || p.GrantedBy != "platform" {
				t.Fatalf("principal %+v", p)
			}
			now := time.Now()
			if rec, err := idem.Reserve(ctx, api.IdempotencyRecord{Principal: "api_key:" + oldKeyID, Key: "k", ExpiresAt: now.Add(time.Hour)}, now, now); err != nil || rec != nil {
				t.Fatalf("reserve: %v %v", rec, err)
			}
		})
	}
}

// TestFreshDatabaseMatchesMigrated: a new database gets exactly the
// schema and migration history of a migrated one, whichever store is
// opened first, and serves tenants and keys.
func TestFreshDatabaseMatchesMigrated(t *testing.T) {
	ctx := context.Background()
	old := previousLayout(t, ctx)
	openOrder(t, ctx, old, true)
	wantObjects, wantMigrations := schema(t, ctx, old)
	for _, accountsFirst := range []bool{true, false} {
		name := map[bool]string{true: "accounts first", false: "api first"}[accountsFirst]
		t.Run(name, func(t *testing.T) {
			pool, err := sqldb.OpenPool(ctx, filepath.Join(t.TempDir(), "signet.db"), nil, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			acc, _ := openOrder(t, ctx, pool, accountsFirst)
			objects, migrations := schema(t, ctx, pool)
			if !slices.Equal(objects, wantObjects) {
				t.Fatalf("schema\n%q\nwant\n%q", objects, wantObjects)
			}
			if !slices.Equal(migrations, wantMigrations) {
				t.Fatalf("migrations %q, want %q", migrations, wantMigrations)
			}
			now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			if err := acc.CreateTenant(ctx, accounts.Tenant{ID: "t-1", Name: "A", CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
			_, k, err := accounts.NewAPIKey(nil, accounts.KeySpec{Tenant: "t-1", Name: "ci", Roles: []string{"sender"}, Actions: []string{"envelope.read"}}, now)
			if err != nil {
				t.Fatal(err)
			}
			if err := acc.CreateKey(ctx, k); err != nil {
				t.Fatal(err)
			}
			got, err := acc.KeyByHash(ctx, k.Hash)
			if err != nil || got.ID != k.ID || got.Tenant != "t-1" || !slices.Equal(got.Actions, k.Actions) {
				t.Fatalf("key by hash %+v, %v", got, err)
			}
		})
	}
}

// TestConformance runs the accounts stores' conformance suite on a fresh
// service database.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		ctx := context.Background()
		pool, err := sqldb.OpenPool(ctx, filepath.Join(t.TempDir(), "signet.db"), nil, 1)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pool.Close() })
		s, err := accountssqlite.New(ctx, pool)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
