package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	auditsqlite "github.com/signet-pki/signet/auditlog/sqlite"
	"github.com/signet-pki/signet/keys"
	keysqlite "github.com/signet-pki/signet/keys/sqlite"
	"github.com/signet-pki/signet/keys/storetest"
)

func open(t *testing.T, path string) *keysqlite.Store {
	t.Helper()
	s, err := keysqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) keys.Store { return open(t, filepath.Join(t.TempDir(), "keys.db")) })
}

// TestReopen checks that metadata survives closing and reopening the
// database, and that the migrations are not applied twice.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.db")
	s, err := keysqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, &keys.Key{ID: "k1", Purpose: keys.PurposeDataKeyWrapping, Algorithm: keys.AES256,
		Versions: []keys.Version{{Number: 1, Handle: "h", State: keys.StateActive}}}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2 := open(t, path)
	k, err := s2.Get(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if k.Purpose != keys.PurposeDataKeyWrapping || len(k.Versions) != 1 || k.Versions[0].Public != nil {
		t.Fatalf("reopened key = %+v", k)
	}
}

// TestSharesAuditDatabase checks that the key tables can live in the audit
// log's database: both migration histories apply side by side.
func TestSharesAuditDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signet.db")
	a, err := auditsqlite.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	s := open(t, path)
	if _, err := s.Get(context.Background(), "x"); !errors.Is(err, keys.ErrNotFound) {
		t.Fatalf("Get = %v, want ErrNotFound", err)
	}
}
