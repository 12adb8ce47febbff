// Package batch checks the shape of an append batch before a store writes
// it, so that every backend refuses the same malformed input.
package batch

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
)

// Check reports whether recs have consecutive indexes and hashes are exactly
// the stored hashes that appending recs to a tree of size recs[0].Index adds:
// indexes tlog.StoredHashCount(recs[0].Index) up to
// tlog.StoredHashCount(recs[0].Index+len(recs)), in order, with each
// record's leaf hash (RFC 6962 section 2.1) at its tlog.StoredHashIndex(0, i).
// recs must not be empty. Each record's indexed Envelope must pass
// [auditlog.CheckEnvelopeID], so that every backend (PostgreSQL text
// refuses NUL) stores the same values. That Envelope agrees with the leaf
// is what [auditlog.Verify] checks.
func Check(recs []auditlog.Record, hashes []auditlog.HashEntry) error {
	if len(recs) == 0 {
		return fmt.Errorf("no records")
	}
	start := recs[0].Index
	if start < 0 {
		return fmt.Errorf("negative index %d", start)
	}
	for i := range recs {
		if recs[i].Index != start+int64(i) {
			return fmt.Errorf("record %d has index %d, want %d", i, recs[i].Index, start+int64(i))
		}
		if recs[i].ID == "" {
			return fmt.Errorf("record %d has no ID", recs[i].Index)
		}
		if err := auditlog.CheckEnvelopeID(recs[i].Envelope); err != nil {
			return fmt.Errorf("record %d: %w", recs[i].Index, err)
		}
	}
	lo := tlog.StoredHashCount(start)
	hi := tlog.StoredHashCount(start + int64(len(recs)))
	if int64(len(hashes)) != hi-lo {
		return fmt.Errorf("%d hashes for records %d..%d, want %d", len(hashes), start, start+int64(len(recs))-1, hi-lo)
	}
	for i, h := range hashes {
		if h.Index != lo+int64(i) {
			return fmt.Errorf("hash %d has stored index %d, want %d", i, h.Index, lo+int64(i))
		}
	}
	for i := range recs {
		x := tlog.StoredHashIndex(0, recs[i].Index)
		if hashes[x-lo].Hash != tlog.RecordHash(recs[i].Leaf) {
			return fmt.Errorf("stored hash %d is not the leaf hash of record %d", x, recs[i].Index)
		}
	}
	return nil
}
