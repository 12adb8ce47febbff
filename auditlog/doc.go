// Package auditlog is Signet's tamper-evident audit log: an append-only
// sequence of events committed to by an RFC 6962 Merkle tree, with signed
// checkpoints (C2SP tlog-checkpoint as C2SP signed notes), inclusion and
// consistency proofs, offline receipts (C2SP tlog-proof) and anchors outside
// the operator's reach (RFC 3161 time-stamps, witness cosignatures,
// write-once copies).
package auditlog
