package postgres_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/internal/pgtest"
	"github.com/signet-pki/signet/internal/sqldb"
	atrestpostgres "github.com/signet-pki/signet/keys/atrest/postgres"
	atrestsqlite "github.com/signet-pki/signet/keys/atrest/sqlite"
	"github.com/signet-pki/signet/keys/atrest/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestConformance runs the store suite on a fresh PostgreSQL database,
// with two pools as two nodes, connected as the application's role after
// the owner migrated; the race tests race the two pools.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.DB {
		owner, app := pgtest.NewDatabase(t)
		ownerPool := pgtest.Pool(t, owner)
		if _, err := atrestpostgres.New(t.Context(), ownerPool); err != nil {
			t.Fatal(err)
		}
		if err := pgdb.GrantApp(t.Context(), ownerPool, pgtest.AppRole, nil); err != nil {
			t.Fatal(err)
		}
		node := func() *atrestpostgres.Store {
			s, err := atrestpostgres.New(t.Context(), pgtest.Pool(t, app))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		return storetest.DB{A: node(), B: node(),
			Holds: func(t *testing.T, b []byte) bool {
				// The dump writes bytea in hex.
				d := pgtest.Dump(t, owner)
				return bytes.Contains(d, b) || bytes.Contains(d, []byte(hex.EncodeToString(b)))
			}}
	})
}

func columns(t *testing.T, rows interface {
	Next() bool
	Scan(...any) error
	Err() error
}) []string {
	t.Helper()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSameNamesAsSQLite: the tables and their columns are named as in
// keys/atrest/sqlite, so that a generic copy moves the rows over; the
// migrations take the same versions.
func TestSameNamesAsSQLite(t *testing.T) {
	ctx := t.Context()
	owner, _ := pgtest.NewDatabase(t)
	pool := pgtest.Pool(t, owner)
	if _, err := atrestpostgres.New(ctx, pool); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `SELECT table_name || '.' || column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name LIKE 'atrest\_%' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	pg := columns(t, rows)
	rows.Close()

	lite, err := sqldb.OpenPool(ctx, filepath.Join(t.TempDir(), "signet.db"), atrestsqlite.Migrations, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	lrows, err := lite.Writer().QueryContext(ctx, `SELECT m.name || '.' || c.name FROM sqlite_master m, pragma_table_info(m.name) c
		WHERE m.type = 'table' AND m.name LIKE 'atrest\_%' ESCAPE '\' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer lrows.Close()
	sl := columns(t, lrows)
	if len(pg) == 0 || !slices.Equal(pg, sl) {
		t.Fatalf("PostgreSQL columns %v, SQLite columns %v", pg, sl)
	}
	for i, m := range atrestpostgres.Migrations {
		if m.Version < 1200 || m.Version > 1209 || i >= len(atrestsqlite.Migrations) || atrestsqlite.Migrations[i].Version != m.Version {
			t.Errorf("migration %d: outside 1200–1209 or not SQLite's", m.Version)
		}
	}
	if _, err := atrestpostgres.New(ctx, nil); err == nil {
		t.Error("New without a database succeeded")
	}
	// A database migrated by a newer release is refused.
	if _, err := pool.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (1201, 'newer', now())`); err != nil {
		t.Fatal(err)
	}
	if _, err := atrestpostgres.New(ctx, pool); !errors.Is(err, pgdb.ErrSchemaTooNew) {
		t.Fatalf("New on a newer schema: %v, want ErrSchemaTooNew", err)
	}
}
