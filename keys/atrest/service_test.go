package atrest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/atrest"
	"github.com/signet-pki/signet/keys/dataseal"
)

// TestNew: every missing or out-of-range setting is refused; the
// defaults work.
func TestNew(t *testing.T) {
	w := newWorld(t)
	m := w.manager()
	ok := atrest.Config{Keys: m, Store: w.store, Audit: w.rec}
	for _, c := range []struct {
		name string
		edit func(*atrest.Config)
		want string
	}{
		{"no key manager", func(c *atrest.Config) { c.Keys = nil }, "no key manager"},
		{"no store", func(c *atrest.Config) { c.Store = nil }, "no store"},
		{"no audit", func(c *atrest.Config) { c.Audit = nil }, "no audit recorder"},
		{"cache size below NoCache", func(c *atrest.Config) { c.CacheSize = -2 }, "cache size"},
		{"cache size too large", func(c *atrest.Config) { c.CacheSize = atrest.MaxCacheSize + 1 }, "cache size"},
		{"negative TTL", func(c *atrest.Config) { c.CacheTTL = -time.Second }, "cache TTL"},
		{"TTL too long", func(c *atrest.Config) { c.CacheTTL = atrest.MaxCacheTTL + time.Second }, "cache TTL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := ok
			c.edit(&cfg)
			s, err := atrest.New(cfg)
			if err == nil || s != nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("New = %v, %v; want an error about %s", s, err, c.want)
			}
		})
	}
	for _, cfg := range []atrest.Config{ok, {Keys: m, Store: w.store, Audit: w.rec, CacheSize: atrest.NoCache, CacheTTL: atrest.MaxCacheTTL},
		{Keys: m, Store: w.store, Audit: w.rec, CacheSize: atrest.MaxCacheSize}} {
		s, err := atrest.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		objectKEK(t, s, "t1", "document:1", true)
	}
	// A backend that does not exist fails on the tenant key's creation.
	s, err := atrest.New(atrest.Config{Keys: m, Store: w.store, Audit: w.rec, Backend: "hsm-nowhere"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ObjectKEK(t.Context(), "t2", "document:1", true); !errors.Is(err, keys.ErrBackendUnavailable) {
		t.Fatalf("a tenant key on a missing backend: %v", err)
	}
}

// TestBinding: a value sealed for tenant A's object X opens with X's KEK
// only, under its own AD: not with tenant B's X, A's Y, or another
// field; and it opens again through another node (another cache, another
// manager) from the stored row.
func TestBinding(t *testing.T) {
	w := newWorld(t)
	s := w.node(atrest.Config{})
	ad := dataseal.AD{Tenant: "A", Object: "envelope:X", Field: "email"}
	sealed := sealValue(t, objectKEK(t, s, "A", "envelope:X", true), ad, "alice@example.org")
	for _, c := range []struct {
		name           string
		tenant, object string
		ad             dataseal.AD
		opens          bool
	}{
		{"same object", "A", "envelope:X", ad, true},
		{"other tenant", "B", "envelope:X", dataseal.AD{Tenant: "B", Object: "envelope:X", Field: "email"}, false},
		{"other tenant, same AD", "B", "envelope:X", ad, false},
		{"other object", "A", "envelope:Y", dataseal.AD{Tenant: "A", Object: "envelope:Y", Field: "email"}, false},
		{"other object, same AD", "A", "envelope:Y", ad, false},
		{"other field", "A", "envelope:X", dataseal.AD{Tenant: "A", Object: "envelope:X", Field: "name"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			kek := objectKEK(t, s, c.tenant, c.object, true)
			if got := opens(t, kek, c.ad, sealed, "alice@example.org"); got != c.opens {
				t.Fatalf("opens = %v, want %v", got, c.opens)
			}
		})
	}
	other := w.node(atrest.Config{CacheSize: atrest.NoCache})
	if !opens(t, objectKEK(t, other, "A", "envelope:X", false), ad, sealed, "alice@example.org") {
		t.Fatal("another node does not open the value")
	}
}

// TestWrappedKeyBoundToObject: a wrapped data key copied to another
// object's row does not unwrap: the key custody binds it to (tenant,
// object).
func TestWrappedKeyBoundToObject(t *testing.T) {
	w := newWorld(t)
	s := w.node(atrest.Config{CacheSize: atrest.NoCache})
	ctx := t.Context()
	objectKEK(t, s, "A", "document:1", true)
	row, err := w.store.DataKey(ctx, "A", "document:1")
	if err != nil {
		t.Fatal(err)
	}
	moved := row
	moved.Object = "document:2"
	if _, _, err := w.store.InsertDataKey(ctx, moved); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ObjectKEK(ctx, "A", "document:2", false); err == nil {
		t.Fatal("a wrapped key copied to another object unwrapped")
	}
}

// TestObjectKEK: without create a missing key is ErrNoKey; the tenant's
// key in custody is made on first use, once, with the data-key-wrapping
// purpose, AES-256, the tenant and the label; every object of the tenant
// is wrapped by it; bad names are refused.
func TestObjectKEK(t *testing.T) {
	w := newWorld(t)
	s := w.node(atrest.Config{})
	ctx := t.Context()
	if _, err := s.ObjectKEK(ctx, "t1", "document:1", false); !errors.Is(err, atrest.ErrNoKey) || errors.Is(err, atrest.ErrTenantShredded) {
		t.Fatalf("a missing key without create: %v, want ErrNoKey", err)
	}
	for i := range 5 {
		objectKEK(t, s, "t1", fmt.Sprintf("document:%d", i), true)
	}
	ks, err := w.manager().List(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 1 {
		t.Fatalf("tenant t1 has %d keys in custody, want 1", len(ks))
	}
	k := ks[0]
	if k.Purpose != keys.PurposeDataKeyWrapping || k.Algorithm != keys.AES256 || k.Tenant != "t1" || k.Label != atrest.KEKLabel {
		t.Fatalf("tenant key %+v", k)
	}
	e, err := w.store.TenantKEK(ctx, "t1")
	if err != nil || e.KEKID != k.ID {
		t.Fatalf("registry %+v %v, key %s", e, err, k.ID)
	}
	page, err := w.store.ListDataKeys(ctx, "t1", atrest.Cursor{}, 10)
	if err != nil || len(page) != 5 {
		t.Fatalf("%d rows, %v", len(page), err)
	}
	for _, r := range page {
		if r.KEKID != k.ID || r.KEKVersion != 1 || !r.Created.Equal(w.clock.Now()) {
			t.Fatalf("row %+v", r)
		}
	}
	for _, c := range []struct{ tenant, object string }{
		{"", "document:1"}, {"t1", ""}, {"t\x00", "o"}, {"t1", "o\x00"}, {"t1", strings.Repeat("o", atrest.MaxNameLen+1)},
		{string([]byte{0xff}), "o"},
	} {
		if _, err := s.ObjectKEK(ctx, c.tenant, c.object, true); err == nil {
			t.Errorf("ObjectKEK(%q, %q) accepted", c.tenant, c.object)
		}
		if err := s.Shred(ctx, c.tenant, c.object); err == nil {
			t.Errorf("Shred(%q, %q) accepted", c.tenant, c.object)
		}
	}
}

// TestNodesRace: nodes racing to make the first keys of a new tenant and
// of the same objects register one tenant key (the others' spare keys
// are revoked and destroyed) and one data key per object, which every
// node's KEK opens.
func TestNodesRace(t *testing.T) {
	w := newWorld(t)
	nodes := []*atrest.Service{w.node(atrest.Config{}), w.node(atrest.Config{}), w.node(atrest.Config{}), w.node(atrest.Config{})}
	const objects = 4
	keks := make([][]dataseal.KEK, len(nodes))
	var wg sync.WaitGroup
	errs := make(chan error, len(nodes)*objects)
	start := make(chan struct{})
	for i, n := range nodes {
		keks[i] = make([]dataseal.KEK, objects)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for o := range objects {
				k, err := n.ObjectKEK(context.Background(), "t1", fmt.Sprintf("document:%d", o), true)
				if err != nil {
					errs <- err
					return
				}
				keks[i][o] = k
			}
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ctx := t.Context()
	e, err := w.store.TenantKEK(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	ks, err := w.manager().List(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	live := 0
	for _, k := range ks {
		if k.ID == e.KEKID {
			live++
			continue
		}
		for _, v := range k.Versions {
			if v.State != keys.StateDestroyed {
				t.Errorf("spare key %s/v%d is %s", k.ID, v.Number, v.State)
			}
		}
	}
	if live != 1 {
		t.Fatalf("the registered key %s is not in custody", e.KEKID)
	}
	if got := w.keyFiles(); got != 1 {
		t.Errorf("%d key versions in custody, want 1", got)
	}
	for o := range objects {
		ad := dataseal.AD{Tenant: "t1", Object: fmt.Sprintf("document:%d", o), Field: "content"}
		sealed := sealValue(t, keks[0][o], ad, "text")
		for i := range nodes {
			if !opens(t, keks[i][o], ad, sealed, "text") {
				t.Fatalf("node %d's KEK of object %d differs from node 0's", i, o)
			}
		}
	}
}

// TestShred: a shredded object's key is gone from the store and from the
// cache; what was sealed under it never opens again, not even with the
// new key a later create makes; the shredding is recorded first, naming
// only the object, and is not done if the record fails.
func TestShred(t *testing.T) {
	w := newWorld(t)
	s := w.node(atrest.Config{})
	ctx := t.Context()
	ad := dataseal.AD{Tenant: "t1", Object: "document:1", Field: "content"}
	sealed := sealValue(t, objectKEK(t, s, "t1", "document:1", true), ad, "contract text")
	objectKEK(t, s, "t1", "document:2", true)
	row, err := w.store.DataKey(ctx, "t1", "document:1")
	if err != nil {
		t.Fatal(err)
	}
	w.rec.take("")

	w.rec.setRefuse(true)
	if err := s.Shred(ctx, "t1", "document:1"); err == nil {
		t.Fatal("shredded without an audit record")
	}
	w.rec.setRefuse(false)
	if !opens(t, objectKEK(t, s, "t1", "document:1", false), ad, sealed, "contract text") {
		t.Fatal("a refused shredding destroyed the key")
	}

	if err := s.Shred(ctx, "t1", "document:1"); err != nil {
		t.Fatal(err)
	}
	es := w.rec.take(auditlog.DataShredded)
	if len(es) != 1 || es[0].Tenant != "t1" || len(es[0].Details) != 1 || es[0].Details["object"] != "document:1" || len(es[0].Sensitive) != 0 {
		t.Fatalf("shred events %+v", es)
	}
	if _, err := s.ObjectKEK(ctx, "t1", "document:1", false); !errors.Is(err, atrest.ErrNoKey) {
		t.Fatalf("after Shred: %v, want ErrNoKey", err)
	}
	if _, err := w.store.DataKey(ctx, "t1", "document:1"); !errors.Is(err, atrest.ErrNoKey) {
		t.Fatalf("the row is still stored: %v", err)
	}
	page, err := w.store.ListDataKeys(ctx, "", atrest.Cursor{}, atrest.MaxPage)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range page {
		if string(r.Wrapped) == string(row.Wrapped) {
			t.Fatal("the wrapped key is still in the store")
		}
	}
	if opens(t, objectKEK(t, s, "t1", "document:1", true), ad, sealed, "contract text") {
		t.Fatal("a new key of the shredded object opens its old value")
	}
	if _, err := s.ObjectKEK(ctx, "t1", "document:2", false); err != nil {
		t.Fatalf("another object after Shred: %v", err)
	}
	if err := s.Shred(ctx, "t1", "document:never"); err != nil {
		t.Fatalf("shredding a missing key: %v", err)
	}
}

// hookStore runs a hook after reading a data key, before handing it back.
type hookStore struct {
	atrest.Store
	mu    sync.Mutex
	after func()
}

func (h *hookStore) DataKey(ctx context.Context, tenant, object string) (atrest.DataKey, error) {
	k, err := h.Store.DataKey(ctx, tenant, object)
	h.mu.Lock()
	f := h.after
	h.after = nil
	h.mu.Unlock()
	if f != nil {
		f()
	}
	return k, err
}

// TestCacheNeverServesShredded: on one node, the cache never returns a
// key after its Shred returned: neither a cached one, nor one whose load
// read the row just before the shredding deleted it.
func TestCacheNeverServesShredded(t *testing.T) {
	w := newWorld(t)
	hs := &hookStore{Store: w.store}
	s := w.node(atrest.Config{Store: hs})
	ctx := t.Context()
	objectKEK(t, s, "t1", "document:1", true)
	objectKEK(t, s, "t1", "document:1", false) // cached now
	if err := s.Shred(ctx, "t1", "document:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ObjectKEK(ctx, "t1", "document:1", false); !errors.Is(err, atrest.ErrNoKey) {
		t.Fatalf("a cached key after Shred: %v", err)
	}

	// A load reads the row, then the object is shredded before the load
	// caches what it read.
	objectKEK(t, w.node(atrest.Config{}), "t1", "document:2", true) // made by another node: not in s's cache
	hs.mu.Lock()
	hs.after = func() {
		if err := s.Shred(ctx, "t1", "document:2"); err != nil {
			t.Error(err)
		}
	}
	hs.mu.Unlock()
	// The racing load still gets the key it read (it began before the
	// shredding), but does not cache it.
	objectKEK(t, s, "t1", "document:2", false)
	if _, err := s.ObjectKEK(ctx, "t1", "document:2", false); !errors.Is(err, atrest.ErrNoKey) {
		t.Fatalf("the cache kept a key read before its shredding: %v", err)
	}
}

// TestCacheTTL: a shredding on another node takes effect on this one
// once its cached entry expires, within the TTL; with no cache at once.
func TestCacheTTL(t *testing.T) {
	w := newWorld(t)
	a := w.node(atrest.Config{CacheTTL: 30 * time.Second})
	uncached := w.node(atrest.Config{CacheSize: atrest.NoCache})
	b := w.node(atrest.Config{})
	ctx := t.Context()
	objectKEK(t, a, "t1", "document:1", true)
	objectKEK(t, uncached, "t1", "document:1", false)
	if err := b.Shred(ctx, "t1", "document:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := uncached.ObjectKEK(ctx, "t1", "document:1", false); !errors.Is(err, atrest.ErrNoKey) {
		t.Fatalf("a node without a cache after another's Shred: %v", err)
	}
	w.clock.Advance(29 * time.Second)
	objectKEK(t, a, "t1", "document:1", false) // still cached: documented
	w.clock.Advance(time.Second)
	if _, err := a.ObjectKEK(ctx, "t1", "document:1", false); !errors.Is(err, atrest.ErrNoKey) {
		t.Fatalf("after the TTL: %v, want ErrNoKey", err)
	}
}

// TestUseEventsAggregated: opening many objects of a tenant, uncached,
// adds a few key.used events, not one per object.
func TestUseEventsAggregated(t *testing.T) {
	w := newWorld(t)
	s := w.node(atrest.Config{CacheSize: atrest.NoCache})
	for i := range 200 {
		objectKEK(t, s, "t1", fmt.Sprintf("document:%d", i), true)
	}
	for i := range 200 {
		objectKEK(t, s, "t1", fmt.Sprintf("document:%d", i), false)
	}
	if es := w.rec.take(auditlog.KeyUsed); len(es) == 0 || len(es) > 20 {
		t.Fatalf("200 wraps and 200 unwraps made %d key.used events", len(es))
	}
}
