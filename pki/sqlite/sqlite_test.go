package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/pki"
	pkisqlite "github.com/signet-pki/signet/pki/sqlite"
	"github.com/signet-pki/signet/pki/storetest"
)

// open opens the service database at path and the store over it.
func open(t *testing.T, path string, m *keys.Manager) *pkisqlite.Store {
	t.Helper()
	pool, err := sqldb.OpenPool(context.Background(), path, nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	st, err := pkisqlite.New(context.Background(), pool, m)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestConformance runs the PKI roles suite on a service database in a
// temporary directory; each opening is another connection pool on the
// same file.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		path := filepath.Join(t.TempDir(), "signet.db")
		return func(t *testing.T, m *keys.Manager) pki.Store { return open(t, path, m) }
	})
}

// TestEarlierDatabase: a service database whose role table was created
// by an earlier version (the same migration, applied by the server) opens
// with its roles.
func TestEarlierDatabase(t *testing.T) {
	ctx := context.Background()
	m := storetest.Manager(t)
	path := filepath.Join(t.TempDir(), "signet.db")
	pool, err := sqldb.OpenPool(ctx, path, []sqldb.Migration{{
		Version: 400,
		Name:    "server pki roles",
		SQL: `CREATE TABLE server_pki_roles (
	role    TEXT PRIMARY KEY,
	tenant  TEXT NOT NULL,
	key_id  TEXT NOT NULL,
	purpose TEXT NOT NULL,
	cert    BLOB
) STRICT;`,
	}}, 2)
	if err != nil {
		t.Fatal(err)
	}
	role := pki.TSARole
	k, err := m.Create(ctx, keys.CreateRequest{Purpose: role.Purpose, Algorithm: role.Algorithm, Label: "server " + role.Name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Writer().ExecContext(ctx, `INSERT INTO server_pki_roles (role, tenant, key_id, purpose) VALUES (?, '', ?, ?)`,
		role.Name, k.ID, string(role.Purpose)); err != nil {
		t.Fatal(err)
	}
	pool.Close()

	st := open(t, path, m)
	if _, ref, err := st.Key(ctx, role); err != nil || ref.ID != k.ID {
		t.Fatalf("key of the earlier database's role: %+v, %v; want %s", ref, err, k.ID)
	}
}
