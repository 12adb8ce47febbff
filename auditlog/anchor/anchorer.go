package anchor

import (
	"context"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
)

// Anchor kinds, the values of [auditlog.Anchor].Kind.
const (
	// KindRFC3161 marks an RFC 3161 time-stamp token; Data is its DER.
	KindRFC3161 = "rfc3161"
	// KindWitness marks a witness cosignature; Data is its note signature
	// line, without a final newline.
	KindWitness = "witness"
	// KindSink marks a copy in a write-once sink; Data is its locator.
	KindSink = "sink"
)

// An Anchorer obtains evidence outside the log for a newly published
// checkpoint.
//
// Anchor is called with the new checkpoint cp, the log's previous
// checkpoint prev (the zero Checkpoint for the first one) and the RFC 6962
// consistency proof from prev.Size to cp.Size (empty when prev.Size is 0).
// It MUST NOT return anchors it has not checked (a time-stamp token whose
// imprint or signature does not verify, a cosignature that does not verify
// under the configured key), and MUST return an error rather than an empty
// slice when it obtained nothing. The anchors it returns have Size set to
// cp.Size and are ready to be stored with [auditlog.Storage.AddAnchor].
type Anchorer interface {
	Anchor(ctx context.Context, cp, prev auditlog.Checkpoint, proof tlog.TreeProof) ([]auditlog.Anchor, error)
}

// Compile-time checks.
var (
	_ Anchorer = (*Timestamper)(nil)
	_ Anchorer = (*Witness)(nil)
	_ Anchorer = (*SinkAnchorer)(nil)
)
