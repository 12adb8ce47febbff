package datadir_test

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/atrest"
	"github.com/signet-pki/signet/keys/dataseal"
	"github.com/signet-pki/signet/keys/soft"
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

// otherBackend is a software backend under another name, standing for
// a PKCS#11 token.
type otherBackend struct {
	*soft.Backend
	name string
}

func (o otherBackend) Name() string { return o.name }

// TestAtRestOnAnotherBackend: extra backends are registered with the key
// manager by name; tenant keys are made in the one AtRestBackend names,
// other keys in the default one, and a reopened directory finds both;
// an AtRestBackend that names no backend is refused.
func TestAtRestOnAnotherBackend(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data")
	mk := make([]byte, soft.MasterKeySize)
	rand.Read(mk)
	sb, err := soft.New(soft.Config{Dir: t.TempDir(), MasterKey: mk})
	if err != nil {
		t.Fatal(err)
	}
	hsm := otherBackend{sb, "pkcs11:test"}
	opts := datadir.Options{Backends: []keys.Backend{hsm}, AtRestBackend: hsm.name}
	ad := dataseal.AD{Tenant: "t1", Object: "document:1", Field: "content"}
	var sealed []byte
	for i := range 2 {
		d := open(t, path, opts)
		s, err := d.AtRest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		kek, err := s.ObjectKEK(ctx, ad.Tenant, ad.Object, i == 0)
		if err != nil {
			t.Fatal(err)
		}
		m, err := d.Keys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if sealed, err = dataseal.Seal(ctx, kek, ad, []byte("text"), rand.Reader); err != nil {
				t.Fatal(err)
			}
			ks, err := m.List(ctx, "t1")
			if err != nil || len(ks) != 1 || ks[0].Backend != "pkcs11:test" {
				t.Fatalf("the tenant's keys: %+v %v; want one in pkcs11:test", ks, err)
			}
			k, err := m.Create(ctx, keys.CreateRequest{Purpose: keys.PurposeTLS})
			if err != nil || k.Backend != "soft" {
				t.Fatalf("a service key: %+v %v; want it in the soft backend", k, err)
			}
		} else if got, err := dataseal.Open(ctx, kek, ad, sealed); err != nil || string(got) != "text" {
			t.Fatalf("after reopening: %q %v", got, err)
		}
		d.Close()
	}
	// Without the backend, the tenant's key cannot be used.
	d := open(t, path, datadir.Options{})
	s, err := d.AtRest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ObjectKEK(ctx, ad.Tenant, ad.Object, false); !errors.Is(err, keys.ErrBackendUnavailable) {
		t.Fatalf("the tenant's key without its backend: %v; want keys.ErrBackendUnavailable", err)
	}
	d.Close()
	d = open(t, path, datadir.Options{AtRestBackend: "pkcs11:absent"})
	if _, err := d.AtRest(ctx); err == nil || !strings.Contains(err.Error(), `backend "pkcs11:absent" is not configured`) {
		t.Fatalf("AtRest with an absent backend: %v", err)
	}
}
