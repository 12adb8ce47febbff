// Package storetest is the conformance suite for [auditlog.Storage]
// implementations. Each backend runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) auditlog.Storage { return open(t) })
//	}
//
// [RunTamper] checks that [auditlog.Verify] detects and names tampering
// done directly on a backend's rows.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"golang.org/x/mod/sumdb/tlog"
)

// Run runs the conformance suite. open must return a new, empty Storage
// each time it is called; Run closes it.
func Run(t *testing.T, open func(t *testing.T) auditlog.Storage) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s auditlog.Storage)
	}{
		{"Empty", testEmpty},
		{"AppendRead", testAppendRead},
		{"Conflict", testConflict},
		{"BadHashes", testBadHashes},
		{"ConcurrentAppend", testConcurrentAppend},
		{"Checkpoints", testCheckpoints},
		{"Anchors", testAnchors},
		{"EnvelopeRecords", testEnvelopeRecords},
		{"TenantRecords", testTenantRecords},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s)
		})
	}
}

var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// record returns a distinct record for index i.
func record(i int64, tag string) auditlog.Record {
	r := auditlog.Record{
		Index:  i,
		ID:     fmt.Sprintf("evt-%s-%06d", tag, i),
		Tenant: fmt.Sprintf("tenant-%d", i%3),
		Type:   "document.uploaded",
		Time:   base.Add(time.Duration(i) * time.Millisecond),
		Leaf:   []byte(fmt.Sprintf(`{"id":"evt-%s-%06d","index":%d}`, tag, i, i)),
	}
	if i%2 == 0 {
		r.Sealed = []byte{byte(i), 0, 0xff, byte(i >> 8)}
	}
	if i%5 == 0 {
		r.Tenant = ""
	}
	if i%7 != 3 {
		r.Envelope = fmt.Sprintf("env-%d", i%4)
	}
	return r
}

// hashesFor computes the stored hashes that recs add to a log of size
// recs[0].Index, reading earlier hashes from s.
func hashesFor(ctx context.Context, s auditlog.StorageReader, recs []auditlog.Record) ([]auditlog.HashEntry, error) {
	n := recs[0].Index
	var added []tlog.Hash
	base := tlog.StoredHashIndex(0, n)
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		var need []int64
		var pos []int
		for i, x := range idx {
			if x >= base {
				out[i] = added[x-base]
				continue
			}
			need = append(need, x)
			pos = append(pos, i)
		}
		if len(need) > 0 {
			hs, err := s.ReadHashes(ctx, need)
			if err != nil {
				return nil, err
			}
			for j, h := range hs {
				out[pos[j]] = h
			}
		}
		return out, nil
	})
	for i, rec := range recs {
		hs, err := tlog.StoredHashes(n+int64(i), rec.Leaf, r)
		if err != nil {
			return nil, err
		}
		added = append(added, hs...)
	}
	entries := make([]auditlog.HashEntry, len(added))
	for i, h := range added {
		entries[i] = auditlog.HashEntry{Index: base + int64(i), Hash: h}
	}
	return entries, nil
}

// appendN appends count records after the current size, in batches of
// batch, and returns them.
func appendN(t *testing.T, s auditlog.Storage, count, batch int, tag string) []auditlog.Record {
	t.Helper()
	ctx := context.Background()
	var all []auditlog.Record
	for len(all) < count {
		n, err := s.Size(ctx)
		if err != nil {
			t.Fatalf("Size: %v", err)
		}
		k := min(batch, count-len(all))
		recs := make([]auditlog.Record, k)
		for i := range recs {
			recs[i] = record(n+int64(i), tag)
		}
		hs, err := hashesFor(ctx, s, recs)
		if err != nil {
			t.Fatalf("hashes: %v", err)
		}
		if err := s.Append(ctx, recs, hs); err != nil {
			t.Fatalf("Append at %d: %v", n, err)
		}
		all = append(all, recs...)
	}
	return all
}

func sameRecord(a, b auditlog.Record) bool {
	return a.Index == b.Index && a.ID == b.ID && a.Tenant == b.Tenant && a.Type == b.Type && a.Envelope == b.Envelope &&
		a.Time.Equal(b.Time) && bytes.Equal(a.Leaf, b.Leaf) && bytes.Equal(a.Sealed, b.Sealed)
}

func testEmpty(t *testing.T, s auditlog.Storage) {
	ctx := context.Background()
	if n, err := s.Size(ctx); err != nil || n != 0 {
		t.Fatalf("Size = %d, %v; want 0, nil", n, err)
	}
	if recs, err := s.Records(ctx, 0, 10); err != nil || len(recs) != 0 {
		t.Fatalf("Records = %d records, %v; want none", len(recs), err)
	}
	if _, err := s.RecordByID(ctx, "nope"); !errors.Is(err, auditlog.ErrNotFound) {
		t.Fatalf("RecordByID on empty store: %v, want ErrNotFound", err)
	}
	if _, err := s.ReadHashes(ctx, []int64{0}); !errors.Is(err, auditlog.ErrNotFound) {
		t.Fatalf("ReadHashes on empty store: %v, want ErrNotFound", err)
	}
	if cps, err := s.Checkpoints(ctx); err != nil || len(cps) != 0 {
		t.Fatalf("Checkpoints = %d, %v; want none", len(cps), err)
	}
	if as, err := s.Anchors(ctx, 1); err != nil || len(as) != 0 {
		t.Fatalf("Anchors = %d, %v; want none", len(as), err)
	}
}

func testAppendRead(t *testing.T, s auditlog.Storage) {
	ctx := context.Background()
	var want []auditlog.Record
	for _, batch := range []int{1, 2, 7, 64, 1} {
		want = append(want, appendN(t, s, batch, batch, "ar")...)
	}
	n, err := s.Size(ctx)
	if err != nil || n != int64(len(want)) {
		t.Fatalf("Size = %d, %v; want %d", n, err, len(want))
	}
	got, err := s.Records(ctx, 0, n)
	if err != nil || len(got) != len(want) {
		t.Fatalf("Records(0, %d) = %d records, %v", n, len(got), err)
	}
	for i := range want {
		if !sameRecord(got[i], want[i]) {
			t.Fatalf("record %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, r := range []struct{ start, end, want int64 }{{3, 9, 6}, {n - 1, n + 5, 1}, {n, n + 5, 0}, {5, 5, 0}} {
		got, err := s.Records(ctx, r.start, r.end)
		if err != nil || int64(len(got)) != r.want {
			t.Fatalf("Records(%d, %d) = %d records, %v; want %d", r.start, r.end, len(got), err, r.want)
		}
		if len(got) > 0 && got[0].Index != r.start {
			t.Fatalf("Records(%d, %d) starts at %d", r.start, r.end, got[0].Index)
		}
	}
	for _, i := range []int64{0, 17, n - 1} {
		r, err := s.RecordByID(ctx, want[i].ID)
		if err != nil || !sameRecord(r, want[i]) {
			t.Fatalf("RecordByID(%s) = %+v, %v", want[i].ID, r, err)
		}
	}
	// The stored hashes must describe the RFC 6962 tree of the leaves.
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return s.ReadHashes(ctx, idx) })
	for _, size := range []int64{1, 2, 3, 10, n} {
		got, err := tlog.TreeHash(size, hr)
		if err != nil {
			t.Fatalf("TreeHash(%d): %v", size, err)
		}
		if w := naiveRoot(want[:size]); got != w {
			t.Fatalf("TreeHash(%d) = %v, want %v", size, got, w)
		}
	}
	if _, err := s.ReadHashes(ctx, []int64{tlog.StoredHashCount(n)}); !errors.Is(err, auditlog.ErrNotFound) {
		t.Fatalf("ReadHashes past the end: %v, want ErrNotFound", err)
	}
	hs, err := s.ReadHashes(ctx, []int64{tlog.StoredHashIndex(0, 3), tlog.StoredHashIndex(0, 1)})
	if err != nil || hs[0] != tlog.RecordHash(want[3].Leaf) || hs[1] != tlog.RecordHash(want[1].Leaf) {
		t.Fatalf("ReadHashes out of order: %v", err)
	}
}

// naiveRoot is the RFC 6962 Merkle tree hash, computed recursively.
func naiveRoot(recs []auditlog.Record) tlog.Hash {
	if len(recs) == 1 {
		return tlog.RecordHash(recs[0].Leaf)
	}
	k := 1
	for k*2 < len(recs) {
		k *= 2
	}
	return tlog.NodeHash(naiveRoot(recs[:k]), naiveRoot(recs[k:]))
}

func testConflict(t *testing.T, s auditlog.Storage) {
	ctx := context.Background()
	first := record(0, "c")
	hs, err := hashesFor(ctx, s, []auditlog.Record{first})
	if err != nil {
		t.Fatal(err)
	}
	// Not starting at 0 on an empty store.
	bad := record(1, "c")
	if err := s.Append(ctx, []auditlog.Record{bad}, []auditlog.HashEntry{{Index: 1, Hash: tlog.RecordHash(bad.Leaf)}}); !errors.Is(err, auditlog.ErrConflict) {
		t.Fatalf("Append at 1 on empty store: %v, want ErrConflict", err)
	}
	if err := s.Append(ctx, []auditlog.Record{first}, hs); err != nil {
		t.Fatalf("Append: %v", err)
	}
	// Replaying the same index, and skipping ahead.
	for _, idx := range []int64{0, 2, 5} {
		r := record(idx, "c2")
		err := s.Append(ctx, []auditlog.Record{r}, []auditlog.HashEntry{{Index: tlog.StoredHashIndex(0, idx), Hash: tlog.RecordHash(r.Leaf)}})
		if !errors.Is(err, auditlog.ErrConflict) {
			t.Fatalf("Append at %d with size 1: %v, want ErrConflict", idx, err)
		}
	}
	if n, _ := s.Size(ctx); n != 1 {
		t.Fatalf("Size after conflicts = %d, want 1", n)
	}
	got, err := s.Records(ctx, 0, 10)
	if err != nil || len(got) != 1 || !sameRecord(got[0], first) {
		t.Fatalf("Records after conflicts = %v, %v", got, err)
	}
	if _, err := s.RecordByID(ctx, record(2, "c2").ID); !errors.Is(err, auditlog.ErrNotFound) {
		t.Fatalf("conflicting record is visible: %v", err)
	}
}

func testBadHashes(t *testing.T, s auditlog.Storage) {
	ctx := context.Background()
	appendN(t, s, 3, 3, "bh")
	// A batch whose hashes do not continue the stored ones must store
	// nothing, whatever the error.
	r := record(3, "bh")
	hs, err := hashesFor(ctx, s, []auditlog.Record{r})
	if err != nil {
		t.Fatal(err)
	}
	short := hs[:len(hs)-1]
	if err := s.Append(ctx, []auditlog.Record{r}, short); err == nil {
		t.Errorf("Append with a missing hash succeeded")
	}
	// Records with non-consecutive indexes.
	r2 := record(5, "bh")
	if err := s.Append(ctx, []auditlog.Record{r, r2}, hs); err == nil {
		t.Errorf("Append with an index gap succeeded")
	}
	if n, _ := s.Size(ctx); n != 3 {
		t.Fatalf("Size after refused appends = %d, want 3", n)
	}
	if err := s.Append(ctx, []auditlog.Record{r}, hs); err != nil {
		t.Fatalf("Append after refused appends: %v", err)
	}
}

func testConcurrentAppend(t *testing.T, s auditlog.Storage) {
	ctx := context.Background()
	const writers, each = 8, 12
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done := 0; done < each; {
				n, err := s.Size(ctx)
				if err != nil {
					errc <- err
					return
				}
				r := record(n, fmt.Sprintf("w%d-%d", w, done))
				hs, err := hashesFor(ctx, s, []auditlog.Record{r})
				if errors.Is(err, auditlog.ErrNotFound) {
					continue // the size moved under us
				}
				if err != nil {
					errc <- err
					return
				}
				err = s.Append(ctx, []auditlog.Record{r}, hs)
				if errors.Is(err, auditlog.ErrConflict) {
					continue
				}
				if err != nil {
					errc <- err
					return
				}
				done++
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatalf("concurrent append: %v", err)
	}
	n, err := s.Size(ctx)
	if err != nil || n != writers*each {
		t.Fatalf("Size = %d, %v; want %d", n, err, writers*each)
	}
	recs, err := s.Records(ctx, 0, n)
	if err != nil || int64(len(recs)) != n {
		t.Fatalf("Records = %d, %v", len(recs), err)
	}
	for i, r := range recs {
		if r.Index != int64(i) {
			t.Fatalf("record %d has index %d", i, r.Index)
		}
	}
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) { return s.ReadHashes(ctx, idx) })
	got, err := tlog.TreeHash(n, hr)
	if err != nil || got != naiveRoot(recs) {
		t.Fatalf("tree hash after concurrent appends = %v, %v; want %v", got, err, naiveRoot(recs))
	}
}

func testCheckpoints(t *testing.T, s auditlog.Storage) {
	ctx := context.Background()
	cp := func(size int64, body string) auditlog.Checkpoint {
		return auditlog.Checkpoint{Size: size, Note: []byte(fmt.Sprintf("origin\n%d\n%s\n\n— k sig\n", size, body)), Time: base.Add(time.Duration(size) * time.Second)}
	}
	for _, size := range []int64{5, 1, 9, 3} {
		if err := s.AddCheckpoint(ctx, cp(size, "a")); err != nil {
			t.Fatalf("AddCheckpoint(%d): %v", size, err)
		}
	}
	if err := s.AddCheckpoint(ctx, cp(5, "b")); err == nil {
		t.Fatalf("a second, different checkpoint of size 5 was stored")
	}
	got, err := s.Checkpoints(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{1, 3, 5, 9}
	if len(got) != len(want) {
		t.Fatalf("Checkpoints = %d, want %d", len(got), len(want))
	}
	for i, c := range got {
		w := cp(want[i], "a")
		if c.Size != w.Size || !bytes.Equal(c.Note, w.Note) || !c.Time.Equal(w.Time) {
			t.Fatalf("checkpoint %d = %+v, want %+v", i, c, w)
		}
	}
}

func testAnchors(t *testing.T, s auditlog.Storage) {
	ctx := context.Background()
	as := []auditlog.Anchor{
		{Size: 4, Kind: "rfc3161", Name: "tsa.example", Data: []byte{0x30, 0x03, 0x02, 0x01, 0x00}, Time: base},
		{Size: 4, Kind: "witness", Name: "w1.example", Data: []byte("— w1.example abc=\n"), Time: base.Add(time.Second)},
		{Size: 8, Kind: "sink", Name: "file", Data: []byte("/var/lib/signet/sink/8"), Time: base.Add(2 * time.Second)},
	}
	for _, a := range as {
		if err := s.AddAnchor(ctx, a); err != nil {
			t.Fatalf("AddAnchor: %v", err)
		}
	}
	for _, tc := range []struct {
		size int64
		want []auditlog.Anchor
	}{{4, as[:2]}, {8, as[2:]}, {5, nil}} {
		got, err := s.Anchors(ctx, tc.size)
		if err != nil || len(got) != len(tc.want) {
			t.Fatalf("Anchors(%d) = %d, %v; want %d", tc.size, len(got), err, len(tc.want))
		}
		for _, w := range tc.want {
			found := false
			for _, g := range got {
				if g.Size == w.Size && g.Kind == w.Kind && g.Name == w.Name && bytes.Equal(g.Data, w.Data) && g.Time.Equal(w.Time) {
					found = true
				}
			}
			if !found {
				t.Fatalf("Anchors(%d) lacks %+v", tc.size, w)
			}
		}
	}
}

// testEnvelopeRecords checks that EnvelopeRecords returns exactly the
// tenant's records of the envelope, in index order, across batches: not
// another tenant's envelope of the same ID, not the records without an
// envelope, and an empty (non-nil) result when there are none.
func testEnvelopeRecords(t *testing.T, s auditlog.Storage) {
	ctx := context.Background()
	if got, err := s.EnvelopeRecords(ctx, "tenant-1", "env-1"); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("EnvelopeRecords on an empty store = %v, %v; want an empty slice", got, err)
	}
	var all []auditlog.Record
	for _, batch := range []int{1, 3, 64, 17, 2} {
		all = append(all, appendN(t, s, batch, batch, "env")...)
	}
	tenants := []string{"", "tenant-0", "tenant-1", "tenant-2", "tenant-9"}
	envelopes := []string{"env-0", "env-1", "env-2", "env-3", "env-9", ""}
	found := 0
	for _, tenant := range tenants {
		for _, env := range envelopes {
			want := []auditlog.Record{}
			for _, r := range all {
				if r.Tenant == tenant && r.Envelope == env && env != "" {
					want = append(want, r)
				}
			}
			found += len(want)
			got, err := s.EnvelopeRecords(ctx, tenant, env)
			if err != nil {
				t.Fatalf("EnvelopeRecords(%q, %q): %v", tenant, env, err)
			}
			if got == nil || len(got) != len(want) {
				t.Fatalf("EnvelopeRecords(%q, %q) = %d records (nil: %t), want %d", tenant, env, len(got), got == nil, len(want))
			}
			for i := range want {
				if !sameRecord(got[i], want[i]) {
					t.Fatalf("EnvelopeRecords(%q, %q)[%d] = %+v, want %+v", tenant, env, i, got[i], want[i])
				}
			}
		}
	}
	// Every record with an envelope was returned once.
	withEnvelope := 0
	for _, r := range all {
		if r.Envelope != "" {
			withEnvelope++
		}
	}
	if found != withEnvelope || found == 0 {
		t.Fatalf("the queries covered %d records, want all %d with an envelope", found, withEnvelope)
	}
	// An envelope ID that not every backend can store (PostgreSQL text
	// refuses NUL) is refused by all, and nothing is stored.
	for _, bad := range []string{"env\x00", "env\xff", strings.Repeat("e", auditlog.MaxEnvelopeID+1)} {
		rec := record(int64(len(all)), "bad")
		rec.Envelope = bad
		hs, err := hashesFor(ctx, s, []auditlog.Record{rec})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Append(ctx, []auditlog.Record{rec}, hs); err == nil || errors.Is(err, auditlog.ErrConflict) {
			t.Fatalf("Append with envelope %q = %v, want a refusal", bad, err)
		}
		if n, err := s.Size(ctx); err != nil || n != int64(len(all)) {
			t.Fatalf("Size after a refused append = %d, %v; want %d", n, err, len(all))
		}
	}
}

// testTenantRecords checks that TenantRecords pages through exactly one
// tenant's records, in index order, across batches, for every page size:
// never another tenant's, none twice, none skipped, and an empty (non-nil)
// result past the end or for an unknown tenant. A limit that is not
// positive is refused.
func testTenantRecords(t *testing.T, s auditlog.Storage) {
	ctx := context.Background()
	if got, err := s.TenantRecords(ctx, "tenant-1", -1, 10); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("TenantRecords on an empty store = %v, %v; want an empty slice", got, err)
	}
	var all []auditlog.Record
	for _, batch := range []int{1, 3, 64, 17, 2} {
		all = append(all, appendN(t, s, batch, batch, "tenant")...)
	}
	for _, tenant := range []string{"", "tenant-0", "tenant-1", "tenant-2", "tenant-9"} {
		want := []auditlog.Record{}
		for _, r := range all {
			if r.Tenant == tenant {
				want = append(want, r)
			}
		}
		for _, limit := range []int{1, 7, 200} {
			got := []auditlog.Record{}
			after := int64(-1)
			for pages := 0; ; pages++ {
				if pages > len(all)+1 {
					t.Fatalf("TenantRecords(%q, limit %d) does not reach the end", tenant, limit)
				}
				page, err := s.TenantRecords(ctx, tenant, after, limit)
				if err != nil {
					t.Fatalf("TenantRecords(%q, %d, %d): %v", tenant, after, limit, err)
				}
				if page == nil || len(page) > limit {
					t.Fatalf("TenantRecords(%q, %d, %d) = %d records (nil: %t)", tenant, after, limit, len(page), page == nil)
				}
				if len(page) == 0 {
					break
				}
				got = append(got, page...)
				after = page[len(page)-1].Index
			}
			if len(got) != len(want) {
				t.Fatalf("TenantRecords(%q, limit %d) gave %d records, want %d", tenant, limit, len(got), len(want))
			}
			for i := range want {
				if !sameRecord(got[i], want[i]) {
					t.Fatalf("TenantRecords(%q, limit %d)[%d] = %+v, want %+v", tenant, limit, i, got[i], want[i])
				}
			}
		}
	}
	// A page starts after the given index, not at it.
	first, err := s.TenantRecords(ctx, "tenant-1", -1, 2)
	if err != nil || len(first) != 2 {
		t.Fatalf("TenantRecords(tenant-1, -1, 2) = %d records, %v", len(first), err)
	}
	next, err := s.TenantRecords(ctx, "tenant-1", first[0].Index, 1)
	if err != nil || len(next) != 1 || next[0].Index != first[1].Index {
		t.Fatalf("TenantRecords(tenant-1, %d, 1) = %+v, %v; want index %d", first[0].Index, next, err, first[1].Index)
	}
	for _, limit := range []int{0, -1} {
		if _, err := s.TenantRecords(ctx, "tenant-1", -1, limit); err == nil {
			t.Fatalf("TenantRecords with limit %d succeeded", limit)
		}
	}
}
