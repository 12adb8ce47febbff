package sqlite_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/soft"
	keysqlite "github.com/signet-pki/signet/keys/sqlite"
	"github.com/signet-pki/signet/pki"
	pkisqlite "github.com/signet-pki/signet/pki/sqlite"
)

// fixture is a key manager and a service database in a temporary
// directory.
type fixture struct {
	dir  string
	keys *keys.Manager
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	tk, err := auditlog.NewDerivedKeys(bytes.Repeat([]byte{3}, 32))
	if err != nil {
		t.Fatal(err)
	}
	log, err := auditlog.New(ctx, auditlog.Config{Storage: auditlog.NewMemStore(), Keys: tk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Shutdown(context.Background()) })
	mk := make([]byte, 32)
	rand.Read(mk)
	backend, err := soft.New(soft.Config{Dir: filepath.Join(dir, "keys"), MasterKey: mk})
	if err != nil {
		t.Fatal(err)
	}
	meta, err := keysqlite.Open(ctx, filepath.Join(dir, "keys.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	m, err := keys.New(ctx, keys.Config{Store: meta, Backends: []keys.Backend{backend}, Recorder: log})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{dir: dir, keys: m}
}

// open opens the fixture's service database and the store over it.
func (f *fixture) open(t *testing.T) (*pkisqlite.Store, *sqldb.Pool) {
	t.Helper()
	pool, err := sqldb.OpenPool(context.Background(), filepath.Join(f.dir, "signet.db"), nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	st, err := pkisqlite.New(context.Background(), pool, f.keys)
	if err != nil {
		t.Fatal(err)
	}
	return st, pool
}

// TestStore: a role's key is created once and kept across reopening; a
// role has no certificate until one is set, and then that one.
func TestStore(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	st, pool := f.open(t)
	role := pki.TSARole
	if c, err := st.Certificate(ctx, role.Name); c != nil || err != nil {
		t.Fatalf("certificate before any: %v, %v", c, err)
	}
	signer, ref, err := st.Key(ctx, role)
	if err != nil {
		t.Fatal(err)
	}
	k, err := f.keys.Get(ctx, ref.ID)
	if err != nil || k.Purpose != role.Purpose || k.Label != "server "+role.Name {
		t.Fatalf("role key %+v, %v", k, err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "tsa"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, signer.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	if err := st.SetCertificate(ctx, role.Name, nil, cert); err != nil {
		t.Fatal(err)
	}
	pool.Close()

	st, _ = f.open(t)
	_, again, err := st.Key(ctx, role)
	if err != nil || again.ID != ref.ID {
		t.Fatalf("key after reopening: %+v, %v; want %s", again, err, ref.ID)
	}
	if c, err := st.Certificate(ctx, role.Name); err != nil || c == nil || !c.Equal(cert) {
		t.Fatalf("certificate after reopening: %v, %v", c, err)
	}
}

// TestEarlierDatabase: a service database whose role table was created
// by an earlier version (the same migration, applied by the server) opens
// with its roles.
func TestEarlierDatabase(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	pool, err := sqldb.OpenPool(ctx, filepath.Join(f.dir, "signet.db"), []sqldb.Migration{{
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
	k, err := f.keys.Create(ctx, keys.CreateRequest{Purpose: role.Purpose, Algorithm: role.Algorithm, Label: "server " + role.Name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Writer().ExecContext(ctx, `INSERT INTO server_pki_roles (role, tenant, key_id, purpose) VALUES (?, '', ?, ?)`,
		role.Name, k.ID, string(role.Purpose)); err != nil {
		t.Fatal(err)
	}
	pool.Close()

	st, _ := f.open(t)
	if _, ref, err := st.Key(ctx, role); err != nil || ref.ID != k.ID {
		t.Fatalf("key of the earlier database's role: %+v, %v; want %s", ref, err, k.ID)
	}
}
