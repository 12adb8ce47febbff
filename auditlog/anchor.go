package auditlog

import (
	"context"

	"golang.org/x/mod/sumdb/tlog"
)

// An Anchorer places evidence of a freshly published checkpoint outside the
// log operator's reach: an RFC 3161 time-stamp token over it, witness
// cosignatures (c2sp.org/tlog-witness), or a copy in a write-once sink.
//
// The [Publisher] calls Anchor after the checkpoint is stored, and stores
// the anchors it returns with [Storage.AddAnchor]. prev is the previously
// published checkpoint (zero Size and nil Note for the first one) and proof
// the consistency proof from prev to cp (RFC 6962, Section 2.1.2), which
// witnesses require. Anchor MUST NOT modify cp. An error is counted and
// logged but does not unpublish cp; anchors returned along with an error
// are stored.
type Anchorer interface {
	Anchor(ctx context.Context, cp, prev Checkpoint, proof tlog.TreeProof) ([]Anchor, error)
}

// A LogBoundAnchorer is an [Anchorer] whose anchoring is itself recorded in
// the log it anchors, such as a built-in TSA whose key uses are audit
// events. The last checkpoint of [Publisher.Shutdown], signed after the
// log has stopped recording, is not given to it (it could only fail): the
// next start's first checkpoint, a consistent extension of that one,
// carries its anchor.
type LogBoundAnchorer interface {
	Anchorer
	AnchorsThroughLog() bool
}

// hashReader reads stored hashes from s with ctx, as a [tlog.HashReader].
func hashReader(ctx context.Context, s Storage) tlog.HashReader {
	return tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		return s.ReadHashes(ctx, idx)
	})
}
