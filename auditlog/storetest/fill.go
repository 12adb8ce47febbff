package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
)

// Fill appends n well-formed events to an empty s directly, in batches of
// 8192 with their tree hashes, bypassing the Log: for benchmarks that need
// a large log quickly (verification and proofs at a million events).
func Fill(tb testing.TB, s auditlog.Storage, n int) {
	tb.Helper()
	FillWith(tb, s, n, func(i int, at time.Time) auditlog.Record {
		leaf := []byte(fmt.Sprintf(`{"actor":{"id":"u1","kind":"user"},"id":"e%d","index":%d,"outcome":"success","tenant":"","time":"%s","type":"document.uploaded","v":1}`,
			i, i, at.Format(time.RFC3339Nano)))
		return auditlog.Record{ID: fmt.Sprintf("e%d", i), Type: "document.uploaded", Leaf: leaf}
	})
}

// FillWith is [Fill] with the records that gen returns for each index i
// and time at (1 ms apart from 2026-01-01); FillWith sets their Index and
// Time and computes the tree hashes of their leaves.
func FillWith(tb testing.TB, s auditlog.Storage, n int, gen func(i int, at time.Time) auditlog.Record) {
	tb.Helper()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	all := make([]tlog.Hash, 0, tlog.StoredHashCount(int64(n)))
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = all[x]
		}
		return out, nil
	})
	const batch = 8192
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		base := int64(len(all))
		recs := make([]auditlog.Record, 0, hi-lo)
		for i := lo; i < hi; i++ {
			at := t0.Add(time.Duration(i) * time.Millisecond)
			rec := gen(i, at)
			rec.Index, rec.Time = int64(i), at
			hs, err := tlog.StoredHashes(int64(i), rec.Leaf, r)
			if err != nil {
				tb.Fatal(err)
			}
			all = append(all, hs...)
			recs = append(recs, rec)
		}
		es := make([]auditlog.HashEntry, 0, int64(len(all))-base)
		for x := base; x < int64(len(all)); x++ {
			es = append(es, auditlog.HashEntry{Index: x, Hash: all[x]})
		}
		if err := s.Append(context.Background(), recs, es); err != nil {
			tb.Fatal(err)
		}
	}
}
