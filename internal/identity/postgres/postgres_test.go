package postgres_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	identitypostgres "github.com/signet-pki/signet/internal/identity/postgres"
	identitysqlite "github.com/signet-pki/signet/internal/identity/sqlite"
	"github.com/signet-pki/signet/internal/identity/storetest"
	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/internal/pgtest"
	"github.com/signet-pki/signet/internal/sqldb"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestConformance runs the identity stores' conformance suite on a fresh
// PostgreSQL database, with two pools as two nodes, connected as the
// application's role after the owner migrated. Its compare-and-set tests
// (Races, PasskeyCounterRaces, PasskeyLimits) race the two pools.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.DB {
		owner, app := pgtest.NewDatabase(t)
		ownerPool := pgtest.Pool(t, owner)
		if _, err := identitypostgres.New(t.Context(), ownerPool); err != nil {
			t.Fatal(err)
		}
		if err := pgdb.GrantApp(t.Context(), ownerPool, pgtest.AppRole, nil); err != nil {
			t.Fatal(err)
		}
		node := func() *identitypostgres.Store {
			s, err := identitypostgres.New(t.Context(), pgtest.Pool(t, app))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		return storetest.DB{
			A: node(), B: node(),
			Holds: func(t *testing.T, secret string) bool { return storetest.BytesHold(pgtest.Dump(t, owner), secret) },
		}
	})
}

// TestSameNamesAsSQLite: the tables and their columns are named as in
// internal/identity/sqlite, so that a generic copy moves the rows over.
func TestSameNamesAsSQLite(t *testing.T) {
	ctx := t.Context()
	owner, _ := pgtest.NewDatabase(t)
	pool := pgtest.Pool(t, owner)
	if _, err := identitypostgres.New(ctx, pool); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT table_name || '.' || column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name LIKE 'identity\_%' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var pg []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		pg = append(pg, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	lite, err := sqldb.OpenPool(ctx, filepath.Join(t.TempDir(), "signet.db"), identitysqlite.Migrations, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	lrows, err := lite.Writer().QueryContext(ctx, `SELECT m.name || '.' || c.name FROM sqlite_master m, pragma_table_info(m.name) c
		WHERE m.type = 'table' AND m.name LIKE 'identity\_%' ESCAPE '\' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer lrows.Close()
	var sl []string
	for lrows.Next() {
		var s string
		if err := lrows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		sl = append(sl, s)
	}
	if len(pg) == 0 || !slices.Equal(pg, sl) {
		t.Fatalf("PostgreSQL columns %q\nSQLite columns %q", pg, sl)
	}
}

// TestMigrations: the history takes the block 1100–1199, the passkeys
// its sub-block 1120–1129.
func TestMigrations(t *testing.T) {
	for _, m := range identitypostgres.Migrations {
		if m.Version < 1100 || m.Version > 1199 {
			t.Errorf("migration %d outside the block 1100–1199", m.Version)
		}
		if m.Name == "identity passkeys" && (m.Version < 1120 || m.Version > 1129) {
			t.Errorf("passkeys migration %d outside the sub-block 1120–1129", m.Version)
		}
	}
	if !slices.ContainsFunc(identitypostgres.Migrations, func(m pgdb.Migration) bool { return m.Version == 1120 }) {
		t.Error("no migration 1120 (passkeys)")
	}
}
