package atrest_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/keys/atrest"
	atrestsqlite "github.com/signet-pki/signet/keys/atrest/sqlite"
	"github.com/signet-pki/signet/keys/dataseal"
)

// TestServiceOnSQLite: the service over signet.db, with two nodes (two
// pools): racing first keys, shredding an object, rotation, rewrap and
// destruction of the old version, then shredding the tenant.
func TestServiceOnSQLite(t *testing.T) {
	w := newWorld(t)
	path := filepath.Join(t.TempDir(), "signet.db")
	node := func() *atrest.Service {
		p, err := sqldb.OpenPool(t.Context(), path, nil, 2)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		st, err := atrestsqlite.New(t.Context(), p)
		if err != nil {
			t.Fatal(err)
		}
		return w.node(atrest.Config{Store: st})
	}
	a, b := node(), node()
	ctx := t.Context()
	const objects = 40
	keks := [2][objects]dataseal.KEK{}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i, s := range []*atrest.Service{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range objects {
				k, err := s.ObjectKEK(ctx, "t1", fmt.Sprintf("document:%d", o), true)
				if err != nil {
					errs <- err
					return
				}
				keks[i][o] = k
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var sealed [objects][]byte
	ad := func(o int) dataseal.AD {
		return dataseal.AD{Tenant: "t1", Object: fmt.Sprintf("document:%d", o), Field: "content"}
	}
	for o := range objects {
		sealed[o] = sealValue(t, keks[0][o], ad(o), "text")
		if !opens(t, keks[1][o], ad(o), sealed[o], "text") {
			t.Fatalf("the nodes got different keys for object %d", o)
		}
	}
	if err := a.Shred(ctx, "t1", "document:0"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ObjectKEK(ctx, "t1", "document:0", false); !errors.Is(err, atrest.ErrNoKey) {
		t.Fatalf("a shredded object on the node that shredded it: %v", err)
	}
	if _, err := node().ObjectKEK(ctx, "t1", "document:0", false); !errors.Is(err, atrest.ErrNoKey) {
		t.Fatalf("a shredded object on a node without it in its cache: %v", err)
	}
	ref, err := b.RotateTenantKEK(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := a.Rewrap(ctx, ""); err != nil || n != objects-1 {
		t.Fatalf("Rewrap = %d, %v; want %d", n, err, objects-1)
	}
	if err := w.manager().Destroy(ctx, ref.KeyID, 1); err != nil {
		t.Fatal(err)
	}
	fresh := node()
	for o := 1; o < objects; o++ {
		if !opens(t, objectKEK(t, fresh, "t1", ad(o).Object, false), ad(o), sealed[o], "text") {
			t.Fatalf("object %d after rewrap and the destruction of v1", o)
		}
	}
	if err := b.ShredTenant(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if _, err := node().ObjectKEK(ctx, "t1", "document:1", false); !errors.Is(err, atrest.ErrTenantShredded) {
		t.Fatalf("after ShredTenant: %v", err)
	}
	if _, err := a.ObjectKEK(ctx, "t1", "document:99", true); !errors.Is(err, atrest.ErrTenantShredded) {
		t.Fatalf("a new key after ShredTenant: %v", err)
	}
}
