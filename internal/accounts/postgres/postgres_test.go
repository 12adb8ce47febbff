package postgres_test

import (
	"os"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/accounts"
	accountspostgres "github.com/signet-pki/signet/internal/accounts/postgres"
	"github.com/signet-pki/signet/internal/accounts/storetest"
	"github.com/signet-pki/signet/internal/api"
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
// (version 100 of the api tables) and open in either order, the second
// applying nothing.
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
			if want := []string{"100 " + apipostgres.Migrations[0].Name}; !slices.Equal(got, want) {
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
	secret, k, err := accounts.NewAPIKey(nil, "t-1", "ci", []string{api.ScopeDocumentsRead}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	p, err := accounts.KeyVerifier{Keys: s}.VerifyCredential(ctx, secret)
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
