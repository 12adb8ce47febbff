package postgres_test

import (
	"crypto/sha256"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/accounts"
	accountspostgres "github.com/signet-pki/signet/internal/accounts/postgres"
	"github.com/signet-pki/signet/internal/accounts/storetest"
	apipostgres "github.com/signet-pki/signet/internal/api/postgres"
	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// open returns a pool on a fresh database as its owner.
func open(t *testing.T) *pgxpool.Pool {
	t.Helper()
	owner, _ := pgtest.NewDatabase(t)
	pool, err := pgdb.Open(t.Context(), owner)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// TestConformance runs the accounts stores' conformance suite on a fresh
// PostgreSQL database.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s, err := accountspostgres.New(t.Context(), open(t))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestOpenOrder: the accounts and idempotency stores share one history
// (version 100 of the api tables, then the accounts' 500) and open in
// either order, the second applying nothing of the first's.
func TestOpenOrder(t *testing.T) {
	for _, accountsFirst := range []bool{true, false} {
		name := map[bool]string{true: "accounts first", false: "api first"}[accountsFirst]
		t.Run(name, func(t *testing.T) {
			pool := open(t)
			ctx := t.Context()
			openAcc := func() {
				if _, err := accountspostgres.New(ctx, pool); err != nil {
					t.Fatal(err)
				}
			}
			openAPI := func() {
				if _, err := apipostgres.New(ctx, pool); err != nil {
					t.Fatal(err)
				}
			}
			if accountsFirst {
				openAcc()
				openAPI()
			} else {
				openAPI()
				openAcc()
			}
			var got []string
			rows, err := pool.Query(ctx, `SELECT version || ' ' || name FROM schema_migrations ORDER BY version`)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					t.Fatal(err)
				}
				got = append(got, s)
			}
			if want := []string{"100 " + apipostgres.Migrations[0].Name, "500 " + accountspostgres.Migrations[0].Name}; !slices.Equal(got, want) {
				t.Fatalf("history %q, want %q", got, want)
			}
		})
	}
}

// TestSecretNotStored: a key created through accounts.NewAPIKey is found
// by its secret's hash, and no column of the database holds the secret.
func TestSecretNotStored(t *testing.T) {
	pool := open(t)
	ctx := t.Context()
	s, err := accountspostgres.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	secret, k, err := accounts.NewAPIKey(nil, accounts.KeySpec{Tenant: "t-1", Name: "ci", Roles: []string{"sender"}, Actions: []string{"document.read"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	p, err := accounts.KeyVerifier{Keys: s}.VerifyCredential(ctx, secret, netip.Addr{})
	if err != nil || p.ID != k.ID || p.Tenant != "t-1" {
		t.Fatalf("principal %+v, %v", p, err)
	}
	var n int
	if err := pool.QueryRow(ctx,
		`SELECT count(*) FROM api_keys a WHERE position($1 in a::text) > 0 OR position(convert_to($1, 'UTF8') in a.hash) > 0`,
		secret).Scan(&n); err != nil {
		t.Fatal(err)
	}
	var prefix int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM api_keys a WHERE position($1 in a::text) > 0`, k.Prefix).Scan(&prefix); err != nil {
		t.Fatal(err)
	}
	if n != 0 || prefix != 1 {
		t.Fatalf("rows holding the secret: %d; holding its displayed prefix: %d (want 0 and 1)", n, prefix)
	}
}

// TestMigratesScopes: keys stored before version 500 (scoped keys, as
// version 100 created them) get roles and actions from their scopes, as
// on SQLite, and keep authenticating.
func TestMigratesScopes(t *testing.T) {
	pool := open(t)
	ctx := t.Context()
	if _, err := apipostgres.New(ctx, pool); err != nil {
		t.Fatal(err)
	}
	rows := []struct {
		id, tenant, scopes string
		roles, actions     []string
	}{
		{"key_docs", "t-1", "documents:write documents:read", []string{"sender"}, []string{"document.upload", "document.read"}},
		{"key_all", "t-1", "api-keys:read api-keys:write documents:read documents:write envelopes:read envelopes:write envelopes:send",
			[]string{"sender", "tenant-admin"},
			[]string{"document.upload", "document.read", "envelope.prepare", "envelope.read", "envelope.send", "envelope.void", "apikey.read", "apikey.admin"}},
		{"key_env", "t-1", "envelopes:send envelopes:write", []string{"sender"}, []string{"envelope.prepare", "envelope.send", "envelope.void"}},
		{"key_read", "t-1", "envelopes:read", []string{"sender"}, []string{"envelope.read"}},
		{"key_keys", "t-1", "api-keys:read", []string{"tenant-admin"}, []string{"apikey.read"}},
		{"key_platform", "", "admin", nil, []string{"tenant.admin"}},
		{"key_none", "t-1", "", nil, nil},
	}
	secret := "sk_" + strings.Repeat("A", 43)
	for i, r := range rows {
		hash := sha256.Sum256([]byte(fmt.Sprint(i)))
		if r.id == "key_docs" {
			hash = accounts.HashSecret(secret)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO api_keys (id, tenant, name, scopes, prefix, hash, created_at) VALUES ($1, $2, 'old', $3, 'sk_old', $4, now())`,
			r.id, r.tenant, r.scopes, hash[:]); err != nil {
			t.Fatal(err)
		}
	}
	s, err := accountspostgres.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		k, err := s.Key(ctx, r.tenant, r.id)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(k.Roles, r.roles) || !slices.Equal(k.Actions, r.actions) || k.Owner != "" || k.ExpiresAt != nil {
			t.Errorf("%s (%q): roles %q actions %q, want %q %q", r.id, r.scopes, k.Roles, k.Actions, r.roles, r.actions)
		}
	}
	p, err := accounts.KeyVerifier{Keys: s}.VerifyCredential(ctx, secret, netip.Addr{})
	if err != nil || p.ID != "key_docs" || !slices.Equal(p.Actions, []string{"document.upload", "document.read"}) {
		t.Fatalf("migrated key: %+v, %v", p, err)
	}
	var scopes int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.columns WHERE table_name = 'api_keys' AND column_name = 'scopes'`).Scan(&scopes); err != nil || scopes != 0 {
		t.Fatalf("the scopes column remains (%d, %v)", scopes, err)
	}
}
