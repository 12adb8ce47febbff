package sqlite_test

import (
	"path/filepath"
	"slices"
	"testing"

	identitysqlite "github.com/signet-pki/signet/internal/identity/sqlite"
	"github.com/signet-pki/signet/internal/identity/storetest"
	"github.com/signet-pki/signet/internal/sqldb"
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

// TestConformance runs the identity stores' conformance suite on a fresh
// signet.db opened by two pools, as two processes would.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.DB {
		dir := t.TempDir()
		path := filepath.Join(dir, "signet.db")
		node := func() *identitysqlite.Store {
			s, err := identitysqlite.New(t.Context(), open(t, path))
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		db := storetest.DB{A: node(), B: node()}
		db.Holds = func(t *testing.T, secret string) bool { return storetest.FilesHold(t, dir, secret) }
		return db
	})
}

// TestMigrations: the tables take versions 600, 620 (passkeys), 630
// (policies, invitations), 640 (lockouts), 650 (sessions' first
// factor) and 660 (external links) of the block
// 600–699, and opening again applies nothing.
func TestMigrations(t *testing.T) {
	ctx := t.Context()
	p := open(t, filepath.Join(t.TempDir(), "signet.db"))
	for range 2 {
		if _, err := identitysqlite.New(ctx, p); err != nil {
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
	if !slices.Equal(got, []int{600, 620, 630, 640, 650, 660}) {
		t.Fatalf("applied versions %v, want [600 620 630 640 650 660]", got)
	}
	for _, m := range identitysqlite.Migrations {
		if m.Version < 600 || m.Version > 699 {
			t.Errorf("migration %d outside the block 600–699", m.Version)
		}
	}
}
