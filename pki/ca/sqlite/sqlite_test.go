package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

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
