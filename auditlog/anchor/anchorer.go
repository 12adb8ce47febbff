package anchor

import "github.com/signet-pki/signet/auditlog"

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

// Compile-time checks.
var (
	_ auditlog.Anchorer = (*Timestamper)(nil)
	_ auditlog.Anchorer = (*Witness)(nil)
	_ auditlog.Anchorer = (*SinkAnchorer)(nil)
)
