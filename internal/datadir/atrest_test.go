package datadir_test

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"

	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/atrest"
	"github.com/signet-pki/signet/keys/dataseal"
)

// TestAtRest: the keys at rest keep their tenant keys in the key manager
// and their data keys in signet.db: a value sealed before closing the
// directory opens after reopening it; the service is opened once per
// directory; a shredded object stays shredded.
func TestAtRest(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data")
	ad := dataseal.AD{Tenant: "t1", Object: "document:1", Field: "content"}
	var sealed []byte
	for i := range 2 {
		d := open(t, path, datadir.Options{})
		s, err := d.AtRest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := d.AtRest(ctx); err != nil || again != s {
			t.Fatalf("a second AtRest: %p %v, first %p", again, err, s)
		}
		kek, err := s.ObjectKEK(ctx, ad.Tenant, ad.Object, i == 0)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if sealed, err = dataseal.Seal(ctx, kek, ad, []byte("text"), rand.Reader); err != nil {
				t.Fatal(err)
			}
			if !d.Has(datadir.ServiceDB) {
				t.Fatal("no signet.db after AtRest")
			}
			m, err := d.Keys(ctx)
			if err != nil {
				t.Fatal(err)
			}
			ks, err := m.List(ctx, "t1")
			if err != nil || len(ks) != 1 || ks[0].Purpose != keys.PurposeDataKeyWrapping {
				t.Fatalf("the tenant's keys: %v %v", ks, err)
			}
		} else {
			if got, err := dataseal.Open(ctx, kek, ad, sealed); err != nil || string(got) != "text" {
				t.Fatalf("after reopening: %q %v", got, err)
			}
			if err := s.Shred(ctx, ad.Tenant, ad.Object); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := d.AtRest(ctx); err == nil {
			t.Fatal("AtRest after Close succeeded")
		}
	}
	d := open(t, path, datadir.Options{})
	s, err := d.AtRest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ObjectKEK(ctx, ad.Tenant, ad.Object, false); !errors.Is(err, atrest.ErrNoKey) {
		t.Fatalf("a shredded object after reopening: %v", err)
	}
}
