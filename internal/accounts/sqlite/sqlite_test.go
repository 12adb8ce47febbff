package sqlite_test

import (
	"context"
	"errors"
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

// TestOpensDatabaseOfPreviousLayout: a service database written when
// tenants and API keys were stored by internal/api/sqlite opens with the
// split stores in either order, unchanged (same tables, same recorded
// migrations), and its key still authenticates.
func TestOpensDatabaseOfPreviousLayout(t *testing.T) {
	for _, accountsFirst := range []bool{true, false} {
		name := map[bool]string{true: "accounts first", false: "api first"}[accountsFirst]
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			pool := previousLayout(t, ctx)
			wantObjects, wantMigrations := schema(t, ctx, pool)
			acc, idem := openOrder(t, ctx, pool, accountsFirst)
			objects, migrations := schema(t, ctx, pool)
			if !slices.Equal(objects, wantObjects) || !slices.Equal(migrations, wantMigrations) {
				t.Fatalf("schema changed:\n%q\n%q\nwas\n%q\n%q", objects, migrations, wantObjects, wantMigrations)
			}
			tn, err := acc.Tenant(ctx, oldTenant)
			if err != nil || tn.Name != "Acme" {
				t.Fatalf("tenant %+v, %v", tn, err)
			}
			p, err := accounts.KeyVerifier{Keys: acc}.VerifyCredential(ctx, oldSecret)
			if err != nil {
				t.Fatal(err)
			}
			if p.ID != oldKeyID || p.Tenant != oldTenant || !slices.Equal(p.Scopes, []string{api.ScopeDocumentsRead}) {
				t.Fatalf("principal %+v", p)
			}
			now := time.Now()
			if rec, err := idem.Reserve(ctx, api.IdempotencyRecord{Principal: "api_key:" + oldKeyID, Key: "k", ExpiresAt: now.Add(time.Hour)}, now, now); err != nil || rec != nil {
				t.Fatalf("reserve: %v %v", rec, err)
			}
		})
	}
}

// TestFreshDatabaseMatchesPreviousLayout: a new database gets exactly the
// schema and migration history of the previous layout, whichever store is
// opened first, and serves tenants and keys.
func TestFreshDatabaseMatchesPreviousLayout(t *testing.T) {
	ctx := context.Background()
	old := previousLayout(t, ctx)
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
			if len(migrations) != len(wantMigrations) {
				t.Fatalf("migrations %q, want %q", migrations, wantMigrations)
			}
			for i := range migrations {
				// Compare version and name; applied_at differs.
				if migrations[i] != wantMigrations[i] {
					t.Fatalf("migration %q, want %q", migrations[i], wantMigrations[i])
				}
			}
			now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			if err := acc.CreateTenant(ctx, accounts.Tenant{ID: "t-1", Name: "A", CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
			if err := acc.CreateTenant(ctx, accounts.Tenant{ID: "t-1", Name: "B", CreatedAt: now}); !errors.Is(err, accounts.ErrExists) {
				t.Fatalf("duplicate tenant: %v", err)
			}
			_, k, err := accounts.NewAPIKey(nil, "t-1", "ci", []string{api.ScopeEnvelopesRead}, now)
			if err != nil {
				t.Fatal(err)
			}
			if err := acc.CreateKey(ctx, k); err != nil {
				t.Fatal(err)
			}
			if err := acc.RevokeKey(ctx, "t-2", k.ID, now); !errors.Is(err, accounts.ErrNoRecord) {
				t.Fatalf("revoke in another tenant: %v", err)
			}
			got, err := acc.KeyByHash(ctx, k.Hash)
			if err != nil || got.ID != k.ID || got.Tenant != "t-1" {
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
