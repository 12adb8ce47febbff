package sqlite_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/signet-pki/signet/internal/sqldb"
	atrestsqlite "github.com/signet-pki/signet/keys/atrest/sqlite"
	"github.com/signet-pki/signet/keys/atrest/storetest"
)

// open opens a pool (one node) on the database at path.
func open(t *testing.T, path string) *sqldb.Pool {
	t.Helper()
	p, err := sqldb.OpenPool(t.Context(), path, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// filesHold checkpoints the database behind p into its main file and
// reports whether any file of dir holds b.
func filesHold(t *testing.T, p *sqldb.Pool, dir string, b []byte) bool {
	t.Helper()
	if _, err := p.Writer().ExecContext(t.Context(), "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, b) {
			return true
		}
	}
	return false
}

// TestConformance runs the store suite on a fresh signet.db opened by two
// pools, as two processes would; a deleted wrapped key is no longer in
// the database's files.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.DB {
		dir := t.TempDir()
		path := filepath.Join(dir, "signet.db")
		pa, pb := open(t, path), open(t, path)
		node := func(p *sqldb.Pool) *atrestsqlite.Store {
			s, err := atrestsqlite.New(t.Context(), p)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		return storetest.DB{A: node(pa), B: node(pb), Holds: func(t *testing.T, b []byte) bool { return filesHold(t, pa, dir, b) }}
	})
}

// TestMigrations: the tables take version 1200 of the block 1200–1209,
// and opening again applies nothing.
func TestMigrations(t *testing.T) {
	ctx := t.Context()
	p := open(t, filepath.Join(t.TempDir(), "signet.db"))
	for range 2 {
		if _, err := atrestsqlite.New(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := p.Writer().QueryContext(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if !slices.Equal(got, []int{1200}) {
		t.Fatalf("applied versions %v, want [1200]", got)
	}
	for _, m := range atrestsqlite.Migrations {
		if m.Version < 1200 || m.Version > 1209 {
			t.Errorf("migration %d outside the block 1200–1209", m.Version)
		}
	}
	if _, err := atrestsqlite.New(ctx, nil); err == nil {
		t.Error("New without a database succeeded")
	}
	// A database migrated by a newer release is refused.
	if _, err := p.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (1201, 'newer', '')`); err != nil {
		t.Fatal(err)
	}
	if _, err := atrestsqlite.New(ctx, p); !errors.Is(err, sqldb.ErrSchemaTooNew) {
		t.Fatalf("New on a newer schema: %v, want ErrSchemaTooNew", err)
	}
}
