package sqlite_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/signet-pki/signet/internal/secretscan"
	"github.com/signet-pki/signet/pki/ca"
	casqlite "github.com/signet-pki/signet/pki/ca/sqlite"
	"github.com/signet-pki/signet/pki/ca/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) ca.Store {
		s, err := casqlite.Open(context.Background(), filepath.Join(t.TempDir(), "pki.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestReopen checks that records and CRL numbers survive closing the
// database and that migrating again is a no-op.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pki.db")
	s, err := casqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.NextCRLNumber(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = casqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.NextCRLNumber(ctx, "acme"); err != nil || n.Int64() != 2 {
		t.Errorf("NextCRLNumber after reopen = %v, %v; want 2", n, err)
	}
}

// TestSealed runs the sealed-record suite on SQLite; the bytes at rest
// are every file of the database's directory (the database, its WAL and
// shared-memory files). internal/secretscan checks them once more.
func TestSealed(t *testing.T) {
	storetest.RunSealed(t, func(t *testing.T) (ca.Store, func(*testing.T) []byte) {
		dir := t.TempDir()
		s, err := casqlite.Open(context.Background(), filepath.Join(dir, "pki.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s, func(t *testing.T) []byte {
			t.Helper()
			var all []byte
			err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(path)
				all = append(all, b...)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if n := secretscan.Check(t, dir, storetest.PlantedSecrets()...); n == 0 {
				t.Fatal("secretscan read no file")
			}
			return all
		}
	})
}
