package batch

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
)

// good returns k records starting at start and the stored hashes they add
// to a tree of size start, computed by tlog from a tree of real leaves.
func good(start, k int64) ([]auditlog.Record, []auditlog.HashEntry) {
	var all []tlog.Hash
	r := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = all[x]
		}
		return out, nil
	})
	var recs []auditlog.Record
	for i := int64(0); i < start+k; i++ {
		leaf := []byte(fmt.Sprintf(`{"i":%d}`, i))
		hs, err := tlog.StoredHashes(i, leaf, r)
		if err != nil {
			panic(err)
		}
		all = append(all, hs...)
		if i >= start {
			recs = append(recs, auditlog.Record{Index: i, ID: fmt.Sprintf("e%d", i), Leaf: leaf})
		}
	}
	lo := tlog.StoredHashCount(start)
	var entries []auditlog.HashEntry
	for x := lo; x < int64(len(all)); x++ {
		entries = append(entries, auditlog.HashEntry{Index: x, Hash: all[x]})
	}
	return recs, entries
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name   string
		start  int64
		k      int64
		mutate func(r []auditlog.Record, h []auditlog.HashEntry) ([]auditlog.Record, []auditlog.HashEntry)
		ok     bool
	}{
		{"first", 0, 1, nil, true},
		{"batch", 5, 11, nil, true},
		{"at power of two", 7, 1, nil, true},
		{"no records", 0, 1, func(r []auditlog.Record, h []auditlog.HashEntry) ([]auditlog.Record, []auditlog.HashEntry) {
			return nil, h
		}, false},
		{"missing hash", 3, 4, func(r []auditlog.Record, h []auditlog.HashEntry) ([]auditlog.Record, []auditlog.HashEntry) {
			return r, h[:len(h)-1]
		}, false},
		{"extra hash", 3, 4, func(r []auditlog.Record, h []auditlog.HashEntry) ([]auditlog.Record, []auditlog.HashEntry) {
			return r, append(h, auditlog.HashEntry{Index: h[len(h)-1].Index + 1})
		}, false},
		{"hash index shifted", 3, 4, func(r []auditlog.Record, h []auditlog.HashEntry) ([]auditlog.Record, []auditlog.HashEntry) {
			h[1].Index++
			return r, h
		}, false},
		{"index gap", 3, 4, func(r []auditlog.Record, h []auditlog.HashEntry) ([]auditlog.Record, []auditlog.HashEntry) {
			r[2].Index++
			return r, h
		}, false},
		{"leaf changed", 3, 4, func(r []auditlog.Record, h []auditlog.HashEntry) ([]auditlog.Record, []auditlog.HashEntry) {
			r[1].Leaf = []byte(`{"i":-1}`)
			return r, h
		}, false},
		{"envelope", 3, 2, func(r []auditlog.Record, h []auditlog.HashEntry) ([]auditlog.Record, []auditlog.HashEntry) {
			r[1].Envelope = "env-1"
			return r, h
		}, true},
		{"envelope with NUL", 3, 2, func(r []auditlog.Record, h []auditlog.HashEntry) ([]auditlog.Record, []auditlog.HashEntry) {
			r[1].Envelope = "env\x00"
			return r, h
		}, false},
		{"envelope not UTF-8", 3, 2, func(r []auditlog.Record, h []auditlog.HashEntry) ([]auditlog.Record, []auditlog.HashEntry) {
			r[1].Envelope = "env\xff"
			return r, h
		}, false},
		{"envelope too long", 3, 2, func(r []auditlog.Record, h []auditlog.HashEntry) ([]auditlog.Record, []auditlog.HashEntry) {
			r[1].Envelope = strings.Repeat("e", auditlog.MaxEnvelopeID+1)
			return r, h
		}, false},
		{"no id", 3, 1, func(r []auditlog.Record, h []auditlog.HashEntry) ([]auditlog.Record, []auditlog.HashEntry) {
			r[0].ID = ""
			return r, h
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, h := good(tt.start, tt.k)
			if tt.mutate != nil {
				r, h = tt.mutate(r, h)
			}
			err := Check(r, h)
			if (err == nil) != tt.ok {
				t.Fatalf("Check = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
