package atrest_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/atrest"
	"github.com/signet-pki/signet/keys/dataseal"
)

// failStore fails DeleteTenantDataKeys while fail is set.
type failStore struct {
	atrest.Store
	mu   sync.Mutex
	fail bool
}

func (f *failStore) DeleteTenantDataKeys(ctx context.Context, tenant string) (int64, error) {
	f.mu.Lock()
	fail := f.fail
	f.mu.Unlock()
	if fail {
		return 0, errors.New("database unavailable")
	}
	return f.Store.DeleteTenantDataKeys(ctx, tenant)
}

// TestShredTenant: shredding a tenant destroys every version of its key
// in custody (a rotated one too), deletes its data keys and refuses new
// ones; its sealed values never open again; other tenants are untouched;
// a run that failed halfway completes when retried, and a second run
// changes nothing; the shredding is recorded.
func TestShredTenant(t *testing.T) {
	w := newWorld(t)
	fs := &failStore{Store: w.store}
	s := w.node(atrest.Config{Store: fs})
	other := w.node(atrest.Config{Store: fs})
	ctx := t.Context()
	ad := dataseal.AD{Tenant: "t1", Object: "document:1", Field: "content"}
	sealed := sealValue(t, objectKEK(t, s, "t1", "document:1", true), ad, "contract text")
	objectKEK(t, other, "t1", "document:1", false) // cached on the other node
	if _, err := s.RotateTenantKEK(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	objectKEK(t, s, "t1", "document:2", true)
	bad := dataseal.AD{Tenant: "t2", Object: "document:1", Field: "content"}
	sealed2 := sealValue(t, objectKEK(t, s, "t2", "document:1", true), bad, "other tenant")
	e, err := w.store.TenantKEK(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	w.rec.take("")

	// The first run fails after destroying the keys, before deleting the rows.
	fs.mu.Lock()
	fs.fail = true
	fs.mu.Unlock()
	if err := s.ShredTenant(ctx, "t1"); err == nil {
		t.Fatal("a failed deletion was not reported")
	}
	k, err := w.manager().Get(ctx, e.KEKID)
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Versions) != 2 {
		t.Fatalf("the tenant key has %d versions, want 2", len(k.Versions))
	}
	for _, v := range k.Versions {
		if v.State != keys.StateDestroyed {
			t.Fatalf("version %d is %s after shredding", v.Number, v.State)
		}
	}
	if _, err := s.ObjectKEK(ctx, "t1", "document:3", true); !errors.Is(err, atrest.ErrTenantShredded) {
		t.Fatalf("a new key of a shredded tenant: %v", err)
	}
	// The rows are still there, but open nothing.
	if _, err := s.ObjectKEK(ctx, "t1", "document:1", false); !errors.Is(err, atrest.ErrTenantShredded) || !errors.Is(err, atrest.ErrNoKey) {
		t.Fatalf("a key of a shredded tenant: %v, want ErrTenantShredded and ErrNoKey", err)
	}
	fs.mu.Lock()
	fs.fail = false
	fs.mu.Unlock()
	if err := s.ShredTenant(ctx, "t1"); err != nil {
		t.Fatalf("the retry: %v", err)
	}
	if page, err := w.store.ListDataKeys(ctx, "t1", atrest.Cursor{}, 10); err != nil || len(page) != 0 {
		t.Fatalf("after the retry %d rows of t1 remain (%v)", len(page), err)
	}
	if err := s.ShredTenant(ctx, "t1"); err != nil {
		t.Fatalf("a second shredding: %v", err)
	}
	if es := w.rec.take(auditlog.TenantKeysShredded); len(es) != 3 || es[0].Tenant != "t1" || es[0].Subject.KeyID != e.KEKID {
		t.Fatalf("tenant shredding events %+v", es)
	}
	if _, err := s.ObjectKEK(ctx, "t1", "document:1", true); !errors.Is(err, atrest.ErrTenantShredded) {
		t.Fatalf("create after shredding: %v", err)
	}
	fresh := w.node(atrest.Config{})
	if _, err := fresh.ObjectKEK(ctx, "t1", "document:1", false); !errors.Is(err, atrest.ErrNoKey) {
		t.Fatalf("another node after shredding: %v", err)
	}
	if k, err := fresh.ObjectKEK(ctx, "t1", "document:1", true); err == nil && opens(t, k, ad, sealed, "contract text") {
		t.Fatal("the shredded tenant's value opened")
	}
	if !opens(t, objectKEK(t, fresh, "t2", "document:1", false), bad, sealed2, "other tenant") {
		t.Fatal("another tenant's value no longer opens")
	}
	if _, err := s.RotateTenantKEK(ctx, "t1"); !errors.Is(err, atrest.ErrTenantShredded) {
		t.Fatalf("rotating a shredded tenant's key: %v", err)
	}
	// A cached key on another node lasts at most its TTL.
	w.clock.Advance(atrest.DefaultCacheTTL)
	if _, err := other.ObjectKEK(ctx, "t1", "document:1", false); !errors.Is(err, atrest.ErrNoKey) {
		t.Fatalf("the other node after its TTL: %v", err)
	}
}

// TestShredTenantWithoutKey: a tenant shredded before it had any key gets
// none afterwards, and the node that raced to create one destroys it.
func TestShredTenantWithoutKey(t *testing.T) {
	w := newWorld(t)
	s := w.node(atrest.Config{})
	ctx := t.Context()
	if err := s.ShredTenant(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ObjectKEK(ctx, "t1", "document:1", true); !errors.Is(err, atrest.ErrTenantShredded) {
		t.Fatalf("create for a tenant shredded before its first key: %v", err)
	}
	if n := w.keyFiles(); n != 0 {
		t.Fatalf("%d key versions in custody", n)
	}
	// A key made by a node that crashed before registering it is found
	// by its label and destroyed too.
	m := w.manager()
	k, err := m.Create(ctx, keys.CreateRequest{Purpose: keys.PurposeDataKeyWrapping, Tenant: "t3", Label: atrest.KEKLabel})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ShredTenant(ctx, "t3"); err != nil {
		t.Fatal(err)
	}
	if got, err := m.Get(ctx, k.ID); err != nil || got.Versions[0].State != keys.StateDestroyed {
		t.Fatalf("an unregistered key of the tenant: %+v %v", got, err)
	}
	// A tenant named "*" (which the key manager's List reads as every
	// tenant) takes only its own keys with it.
	objectKEK(t, s, "t4", "document:1", true)
	if err := s.ShredTenant(ctx, "*"); err != nil {
		t.Fatal(err)
	}
	objectKEK(t, w.node(atrest.Config{CacheSize: atrest.NoCache}), "t4", "document:1", false)
	if err := s.ShredTenant(ctx, ""); err == nil {
		t.Fatal("ShredTenant of an empty tenant accepted")
	}
}

// TestRotateRewrapDestroy: after a rotation new data keys wrap under the
// new version; Rewrap moves the older ones over without touching any
// sealed value; the old version can then be destroyed and every value
// still opens, on a node with an empty cache.
func TestRotateRewrapDestroy(t *testing.T) {
	w := newWorld(t)
	s := w.node(atrest.Config{})
	ctx := t.Context()
	type value struct {
		ad     dataseal.AD
		sealed []byte
	}
	var values []value
	seal := func(tenant string, i int) {
		ad := dataseal.AD{Tenant: tenant, Object: fmt.Sprintf("document:%d", i), Field: "content"}
		values = append(values, value{ad, sealValue(t, objectKEK(t, s, tenant, ad.Object, true), ad, "text "+ad.Object)})
	}
	for i := range 300 { // more than one page
		seal("t1", i)
	}
	seal("t2", 0)
	if _, err := s.RotateTenantKEK(ctx, "t0"); !errors.Is(err, atrest.ErrNoKey) {
		t.Fatalf("rotating a tenant without a key: %v", err)
	}
	ref, err := s.RotateTenantKEK(ctx, "t1")
	if err != nil || ref.Version != 2 {
		t.Fatalf("rotate: %v %v", ref, err)
	}
	seal("t1", 1000)
	row, err := w.store.DataKey(ctx, "t1", "document:1000")
	if err != nil || row.KEKVersion != 2 {
		t.Fatalf("a key made after the rotation: %+v %v", row, err)
	}
	if _, err := s.RotateTenantKEK(ctx, "t2"); err != nil {
		t.Fatal(err)
	}
	n, err := s.Rewrap(ctx, "t1")
	if err != nil || n != 300 {
		t.Fatalf("Rewrap(t1) = %d, %v; want 300", n, err)
	}
	if n, err := s.Rewrap(ctx, "t1"); err != nil || n != 0 {
		t.Fatalf("a second Rewrap(t1) = %d, %v; want 0", n, err)
	}
	if n, err := s.Rewrap(ctx, ""); err != nil || n != 1 {
		t.Fatalf("Rewrap of every tenant = %d, %v; want 1 (t2's)", n, err)
	}
	m := w.manager()
	for _, tenant := range []string{"t1", "t2"} {
		e, err := w.store.TenantKEK(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Destroy(ctx, e.KEKID, 1); err != nil {
			t.Fatal(err)
		}
	}
	fresh := w.node(atrest.Config{})
	for _, v := range values {
		if !opens(t, objectKEK(t, fresh, v.ad.Tenant, v.ad.Object, false), v.ad, v.sealed, "text "+v.ad.Object) {
			t.Fatalf("%s/%s does not open after the rewrap and the destruction of v1", v.ad.Tenant, v.ad.Object)
		}
	}
	if _, err := s.Rewrap(ctx, "\x00"); err == nil {
		t.Fatal("Rewrap of a bad tenant name accepted")
	}
}

// TestRewrapSkipsShredded: a shredded tenant's rows (of a run that did
// not finish) are skipped, not reported as failures.
func TestRewrapSkipsShredded(t *testing.T) {
	w := newWorld(t)
	fs := &failStore{Store: w.store, fail: true}
	s := w.node(atrest.Config{Store: fs})
	ctx := t.Context()
	objectKEK(t, s, "t1", "document:1", true)
	objectKEK(t, s, "t2", "document:1", true)
	if _, err := s.RotateTenantKEK(ctx, "t2"); err != nil {
		t.Fatal(err)
	}
	if err := s.ShredTenant(ctx, "t1"); err == nil {
		t.Fatal("expected the deletion to fail")
	}
	if n, err := s.Rewrap(ctx, ""); err != nil || n != 1 {
		t.Fatalf("Rewrap = %d, %v; want 1", n, err)
	}
}
