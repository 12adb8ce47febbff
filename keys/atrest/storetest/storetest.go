// Package storetest is the conformance suite of [atrest.Store]: the
// memory store, keys/atrest/sqlite and keys/atrest/postgres run [Run]
// from a test named TestConformance.
package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/keys/atrest"
)

// A DB is one fresh, empty database as the suite uses it.
type DB struct {
	// A and B are two stores over the database through separate pools
	// or connections: two nodes. They may be the same store when there
	// is only one (the memory store).
	A, B atrest.Store
	// Holds, if set, reports whether the database's files or dump hold
	// b anywhere.
	Holds func(t *testing.T, b []byte) bool
}

// Run runs the suite; open returns a new, empty database for each
// subtest.
func Run(t *testing.T, open func(t *testing.T) DB) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, DB)
	}{
		{"DataKeys", testDataKeys},
		{"Delete", testDelete},
		{"List", testList},
		{"UpdateWrapped", testUpdateWrapped},
		{"Registry", testRegistry},
		{"ShreddedTenantRefusesKeys", testShreddedRefuses},
		{"Names", testNames},
		{"TwoNodes", testTwoNodes},
		{"InsertRace", testInsertRace},
		{"RegistryRace", testRegistryRace},
		{"UpdateRace", testUpdateRace},
		{"ShredRace", testShredRace},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open(t)) })
	}
}

// base is the suite's clock: microseconds, in a zone other than UTC, so
// that drivers must keep the instant, not the text.
var base = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.FixedZone("CET", 3600))

func key(tenant, object string, v int) atrest.DataKey {
	return atrest.DataKey{Tenant: tenant, Object: object, KEKID: "k-" + tenant, KEKVersion: v,
		Wrapped: []byte(fmt.Sprintf("SKW1 wrapped key of %s/%s under v%d", tenant, object, v)), Created: base}
}

func same(a, b atrest.DataKey) bool {
	return a.Tenant == b.Tenant && a.Object == b.Object && a.KEKID == b.KEKID && a.KEKVersion == b.KEKVersion &&
		bytes.Equal(a.Wrapped, b.Wrapped) && a.Created.Equal(b.Created)
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// register gives tenant a registry entry (if it has none), which a data
// key needs.
func register(t *testing.T, s atrest.Store, tenant string) {
	t.Helper()
	_, _, err := s.InsertTenantKEK(t.Context(), atrest.TenantKEK{Tenant: tenant, KEKID: "k-" + tenant, Created: base})
	must(t, "register "+tenant, err)
}

// insert inserts k, registering its tenant first.
func insert(t *testing.T, s atrest.Store, k atrest.DataKey) {
	t.Helper()
	register(t, s, k.Tenant)
	got, ok, err := s.InsertDataKey(t.Context(), k)
	must(t, "insert "+k.Object, err)
	if !ok || !same(got, k) {
		t.Fatalf("insert %s: stored %v, returned %+v", k.Object, ok, got)
	}
}

func testDataKeys(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	if _, err := s.DataKey(ctx, "t1", "document:1"); !errors.Is(err, atrest.ErrNoKey) {
		t.Fatalf("missing key: %v, want ErrNoKey", err)
	}
	k := key("t1", "document:1", 1)
	if _, _, err := s.InsertDataKey(ctx, k); !errors.Is(err, atrest.ErrNoTenantKEK) {
		t.Fatalf("a data key of an unregistered tenant: %v, want ErrNoTenantKEK", err)
	}
	insert(t, s, k)
	got, err := s.DataKey(ctx, "t1", "document:1")
	must(t, "get", err)
	if !same(got, k) {
		t.Fatalf("read %+v, stored %+v", got, k)
	}
	// A second insert for the object keeps the first and returns it.
	other := key("t1", "document:1", 7)
	other.Wrapped = []byte("another writer's key")
	got, ok, err := s.InsertDataKey(ctx, other)
	must(t, "insert again", err)
	if ok || !same(got, k) {
		t.Fatalf("second insert: stored %v, returned %+v", ok, got)
	}
	// The same object of another tenant is another key.
	if _, err := s.DataKey(ctx, "t2", "document:1"); !errors.Is(err, atrest.ErrNoKey) {
		t.Fatalf("another tenant's object: %v, want ErrNoKey", err)
	}
	// The caller's slice is not kept.
	k2 := key("t1", "document:2", 1)
	insert(t, s, k2)
	k2.Wrapped[0] = 'X'
	if got, _ := s.DataKey(ctx, "t1", "document:2"); got.Wrapped[0] == 'X' {
		t.Fatal("the store kept the caller's slice")
	}
}

func testDelete(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	for _, k := range []atrest.DataKey{key("t1", "a", 1), key("t1", "b", 1), key("t1", "c", 1), key("t2", "a", 1)} {
		insert(t, s, k)
	}
	ok, err := s.DeleteDataKey(ctx, "t1", "a")
	must(t, "delete", err)
	if !ok {
		t.Fatal("delete of an existing key reported none")
	}
	if _, err := s.DataKey(ctx, "t1", "a"); !errors.Is(err, atrest.ErrNoKey) {
		t.Fatalf("deleted key: %v, want ErrNoKey", err)
	}
	if ok, err := s.DeleteDataKey(ctx, "t1", "a"); err != nil || ok {
		t.Fatalf("second delete: %v %v, want false nil", ok, err)
	}
	if _, err := s.DataKey(ctx, "t2", "a"); err != nil {
		t.Fatalf("the other tenant's key: %v", err)
	}
	n, err := s.DeleteTenantDataKeys(ctx, "t1")
	must(t, "delete tenant", err)
	if n != 2 {
		t.Fatalf("deleted %d keys of t1, want 2", n)
	}
	for _, o := range []string{"b", "c"} {
		if _, err := s.DataKey(ctx, "t1", o); !errors.Is(err, atrest.ErrNoKey) {
			t.Fatalf("%s after deleting the tenant: %v", o, err)
		}
	}
	if _, err := s.DataKey(ctx, "t2", "a"); err != nil {
		t.Fatalf("the other tenant's key after deleting t1: %v", err)
	}
	if n, err := s.DeleteTenantDataKeys(ctx, "t1"); err != nil || n != 0 {
		t.Fatalf("deleting t1 again: %d %v", n, err)
	}
	if db.Holds != nil {
		if db.Holds(t, key("t1", "b", 1).Wrapped) {
			t.Fatal("a deleted wrapped key is still in the database")
		}
		if !db.Holds(t, key("t2", "a", 1).Wrapped) {
			t.Fatal("Holds does not find a stored wrapped key")
		}
	}
}

func objects(ks []atrest.DataKey) string {
	var b []string
	for _, k := range ks {
		b = append(b, k.Tenant+"/"+k.Object)
	}
	return strings.Join(b, " ")
}

func testList(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	// Inserted out of order; listed by tenant, then object, in byte order.
	for _, id := range []string{"t2/b", "t1/b", "t1/a", "t2/a", "t1/B", "t3/z"} {
		tn, o, _ := strings.Cut(id, "/")
		insert(t, s, key(tn, o, 1))
	}
	var all []atrest.DataKey
	after := atrest.Cursor{}
	for pages := 0; ; pages++ {
		page, err := s.ListDataKeys(ctx, "", after, 4)
		must(t, "list", err)
		all = append(all, page...)
		if len(page) < 4 {
			break
		}
		if pages > 3 {
			t.Fatal("listing does not end")
		}
		after = atrest.Cursor{Tenant: page[len(page)-1].Tenant, Object: page[len(page)-1].Object}
	}
	if got, want := objects(all), "t1/B t1/a t1/b t2/a t2/b t3/z"; got != want {
		t.Fatalf("listed %q, want %q", got, want)
	}
	if !same(all[1], key("t1", "a", 1)) {
		t.Fatalf("listed row %+v", all[1])
	}
	page, err := s.ListDataKeys(ctx, "t2", atrest.Cursor{}, 10)
	must(t, "list t2", err)
	if got := objects(page); got != "t2/a t2/b" {
		t.Fatalf("t2 lists %q", got)
	}
	page, err = s.ListDataKeys(ctx, "t1", atrest.Cursor{Tenant: "t1", Object: "B"}, 1)
	must(t, "list t1 after B", err)
	if got := objects(page); got != "t1/a" {
		t.Fatalf("t1 after B lists %q", got)
	}
	page, err = s.ListDataKeys(ctx, "t4", atrest.Cursor{}, 10)
	if err != nil || page == nil || len(page) != 0 {
		t.Fatalf("an empty listing: %v %v", page, err)
	}
	for _, n := range []int{0, -1, atrest.MaxPage + 1} {
		if _, err := s.ListDataKeys(ctx, "", atrest.Cursor{}, n); err == nil {
			t.Errorf("page size %d accepted", n)
		}
	}
}

func testUpdateWrapped(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	k := key("t1", "a", 1)
	insert(t, s, k)
	must(t, "update", s.UpdateWrapped(ctx, k, []byte("rewrapped under v2"), 2))
	got, err := s.DataKey(ctx, "t1", "a")
	must(t, "get", err)
	if string(got.Wrapped) != "rewrapped under v2" || got.KEKVersion != 2 || got.KEKID != k.KEKID || !got.Created.Equal(k.Created) {
		t.Fatalf("after update: %+v", got)
	}
	// The old row is stale now.
	if err := s.UpdateWrapped(ctx, k, []byte("v3"), 3); !errors.Is(err, atrest.ErrConflict) {
		t.Fatalf("stale update: %v, want ErrConflict", err)
	}
	if _, err := s.DeleteDataKey(ctx, "t1", "a"); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateWrapped(ctx, got, []byte("v3"), 3); !errors.Is(err, atrest.ErrConflict) {
		t.Fatalf("update of a deleted key: %v, want ErrConflict", err)
	}
	if _, err := s.DataKey(ctx, "t1", "a"); !errors.Is(err, atrest.ErrNoKey) {
		t.Fatalf("an update brought a deleted key back: %v", err)
	}
}

func testRegistry(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	if _, err := s.TenantKEK(ctx, "t1"); !errors.Is(err, atrest.ErrNoTenantKEK) {
		t.Fatalf("unknown tenant: %v, want ErrNoTenantKEK", err)
	}
	e := atrest.TenantKEK{Tenant: "t1", KEKID: "kaaaa", Created: base}
	got, ok, err := s.InsertTenantKEK(ctx, e)
	must(t, "register", err)
	if !ok || got.KEKID != "kaaaa" || got.Shredded || !got.Created.Equal(base) {
		t.Fatalf("register: %v %+v", ok, got)
	}
	got, ok, err = s.InsertTenantKEK(ctx, atrest.TenantKEK{Tenant: "t1", KEKID: "kbbbb", Created: base.Add(time.Second)})
	must(t, "register again", err)
	if ok || got.KEKID != "kaaaa" || !got.Created.Equal(base) {
		t.Fatalf("second registration: %v %+v", ok, got)
	}
	got, err = s.TenantKEK(ctx, "t1")
	must(t, "read", err)
	if got.KEKID != "kaaaa" || got.Shredded || !got.ShreddedAt.IsZero() {
		t.Fatalf("read %+v", got)
	}
	at := base.Add(time.Hour)
	got, err = s.MarkTenantShredded(ctx, "t1", at)
	must(t, "mark", err)
	if !got.Shredded || !got.ShreddedAt.Equal(at) || got.KEKID != "kaaaa" {
		t.Fatalf("marked: %+v", got)
	}
	// Marking again keeps the first time.
	got, err = s.MarkTenantShredded(ctx, "t1", at.Add(time.Hour))
	must(t, "mark again", err)
	if !got.ShreddedAt.Equal(at) {
		t.Fatalf("marked again: %+v", got)
	}
	got, err = s.TenantKEK(ctx, "t1")
	must(t, "read", err)
	if !got.Shredded || !got.ShreddedAt.Equal(at) {
		t.Fatalf("read after mark: %+v", got)
	}
	// A tenant shredded before it had a key: the entry names none, and
	// a later registration gets the shredded entry.
	got, err = s.MarkTenantShredded(ctx, "t2", at)
	must(t, "mark t2", err)
	if !got.Shredded || got.KEKID != "" {
		t.Fatalf("t2 marked: %+v", got)
	}
	got, ok, err = s.InsertTenantKEK(ctx, atrest.TenantKEK{Tenant: "t2", KEKID: "kcccc", Created: at})
	must(t, "register t2", err)
	if ok || !got.Shredded || got.KEKID != "" {
		t.Fatalf("registering a shredded tenant: %v %+v", ok, got)
	}
}

func testShreddedRefuses(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	insert(t, s, key("t1", "a", 1))
	if _, err := s.MarkTenantShredded(ctx, "t1", base); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.InsertDataKey(ctx, key("t1", "b", 1)); !errors.Is(err, atrest.ErrTenantShredded) {
		t.Fatalf("insert for a shredded tenant: %v, want ErrTenantShredded", err)
	}
	if _, err := s.DataKey(ctx, "t1", "b"); !errors.Is(err, atrest.ErrNoKey) {
		t.Fatalf("a refused key was stored: %v", err)
	}
	insert(t, s, key("t2", "b", 1))
}

func testNames(t *testing.T, db DB) {
	ctx, s := t.Context(), db.A
	long := strings.Repeat("é", atrest.MaxNameLen/2)
	for _, k := range []atrest.DataKey{key("tenant é", "content:"+strings.Repeat("ab", 32), 1), key(long, long, 3)} {
		insert(t, s, k)
		got, err := s.DataKey(ctx, k.Tenant, k.Object)
		must(t, "get", err)
		if !same(got, k) {
			t.Fatalf("read %+v", got)
		}
	}
}

func testTwoNodes(t *testing.T, db DB) {
	ctx := t.Context()
	insert(t, db.A, key("t1", "a", 1))
	if _, err := db.B.DataKey(ctx, "t1", "a"); err != nil {
		t.Fatalf("node B does not see node A's key: %v", err)
	}
	if _, _, err := db.A.InsertTenantKEK(ctx, atrest.TenantKEK{Tenant: "t2", KEKID: "kaaaa", Created: base}); err != nil {
		t.Fatal(err)
	}
	if e, err := db.B.TenantKEK(ctx, "t2"); err != nil || e.KEKID != "kaaaa" {
		t.Fatalf("node B reads %+v %v", e, err)
	}
	if _, err := db.B.MarkTenantShredded(ctx, "t1", base); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.A.InsertDataKey(ctx, key("t1", "b", 1)); !errors.Is(err, atrest.ErrTenantShredded) {
		t.Fatalf("node A inserts for a tenant node B shredded: %v", err)
	}
	if _, err := db.B.DeleteDataKey(ctx, "t1", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.A.DataKey(ctx, "t1", "a"); !errors.Is(err, atrest.ErrNoKey) {
		t.Fatalf("node A still reads a key node B deleted: %v", err)
	}
}

// racers is the number of writers per node in the race tests.
const racers = 8

// race runs fn from racers goroutines on each node at once.
func race(db DB, fn func(s atrest.Store, i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 2 * racers {
		s := db.A
		if i%2 == 1 {
			s = db.B
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(s, i)
		}()
	}
	close(start)
	wg.Wait()
}

func testInsertRace(t *testing.T, db DB) {
	ctx := t.Context()
	register(t, db.A, "t1")
	for round := range 5 {
		object := fmt.Sprintf("document:%d", round)
		var mu sync.Mutex
		var got []atrest.DataKey
		var won []int
		var errs []error
		race(db, func(s atrest.Store, i int) {
			k := key("t1", object, 1)
			k.Wrapped = []byte(fmt.Sprintf("writer %d", i))
			stored, ok, err := s.InsertDataKey(ctx, k)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			got = append(got, stored)
			if ok {
				won = append(won, i)
			}
		})
		if len(errs) > 0 {
			t.Fatal(errors.Join(errs...))
		}
		if len(won) != 1 {
			t.Fatalf("%d writers stored the key of one object", len(won))
		}
		want := fmt.Sprintf("writer %d", won[0])
		for _, g := range got {
			if string(g.Wrapped) != want {
				t.Fatalf("a writer got %q, the winner stored %q", g.Wrapped, want)
			}
		}
		stored, err := db.B.DataKey(ctx, "t1", object)
		if err != nil || string(stored.Wrapped) != want {
			t.Fatalf("stored %q %v, want %q", stored.Wrapped, err, want)
		}
	}
}

func testRegistryRace(t *testing.T, db DB) {
	ctx := t.Context()
	var mu sync.Mutex
	var ids []string
	won := 0
	var errs []error
	race(db, func(s atrest.Store, i int) {
		e, ok, err := s.InsertTenantKEK(ctx, atrest.TenantKEK{Tenant: "t1", KEKID: fmt.Sprintf("k%d", i), Created: base})
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			return
		}
		ids = append(ids, e.KEKID)
		if ok {
			won++
		}
	})
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	if won != 1 {
		t.Fatalf("%d writers registered a key for one tenant", won)
	}
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("writers got different keys: %v", ids)
		}
	}
}

func testUpdateRace(t *testing.T, db DB) {
	ctx := t.Context()
	k := key("t1", "a", 1)
	insert(t, db.A, k)
	var mu sync.Mutex
	ok := 0
	var errs []error
	race(db, func(s atrest.Store, i int) {
		err := s.UpdateWrapped(ctx, k, []byte(fmt.Sprintf("rewrapped by %d", i)), 2)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, atrest.ErrConflict):
			errs = append(errs, err)
		}
	})
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	if ok != 1 {
		t.Fatalf("%d compare-and-swap updates of one row succeeded", ok)
	}
}

// testShredRace: writers on both nodes insert data keys of a tenant while
// it is marked shredded and its keys deleted: once the mark returned,
// every insert is refused, and none that succeeded survives the deletion
// that follows the mark.
func testShredRace(t *testing.T, db DB) {
	ctx := t.Context()
	register(t, db.A, "t1")
	marked := make(chan struct{})
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for w, s := range []atrest.Store{db.A, db.B, db.A, db.B} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				after := false
				select {
				case <-marked:
					after = true
				default:
				}
				_, _, err := s.InsertDataKey(ctx, key("t1", fmt.Sprintf("w%d/%d", w, i), 1))
				if errors.Is(err, atrest.ErrTenantShredded) {
					return
				}
				if after {
					if err == nil {
						mu.Lock()
						errs = append(errs, fmt.Errorf("writer %d stored a key after the mark returned", w))
						mu.Unlock()
						return
					}
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	// Let the writers store some keys first.
	for {
		page, err := db.A.ListDataKeys(ctx, "t1", atrest.Cursor{}, 20)
		must(t, "list", err)
		if len(page) >= 20 {
			break
		}
	}
	_, err := db.B.MarkTenantShredded(ctx, "t1", base)
	close(marked)
	must(t, "mark", err)
	_, err = db.B.DeleteTenantDataKeys(ctx, "t1")
	must(t, "delete", err)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(errors.Join(errs...))
	}
	page, err := db.A.ListDataKeys(ctx, "t1", atrest.Cursor{}, 10)
	must(t, "list", err)
	if len(page) != 0 {
		t.Fatalf("%d keys of the shredded tenant survived, first %s", len(page), page[0].Object)
	}
}
