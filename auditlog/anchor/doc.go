// Package anchor puts the audit log's checkpoints where the log's operator
// cannot quietly rewrite them: RFC 3161 time-stamps from an outside
// time-stamp authority, cosignatures from C2SP tlog-witness witnesses, and
// copies in write-once storage.
//
// Each mechanism is an [auditlog.Anchorer]: given a newly published
// checkpoint it returns [auditlog.Anchor] records, which the log stores beside the
// checkpoint and which a verifier checks later, offline, with
// [VerifyTimestampAnchor], [VerifyCosignatureAnchor] and [VerifySink].
//
// # What is anchored
//
// Every anchor commits to the checkpoint body: the C2SP tlog-checkpoint
// text (origin, size and base64 root hash lines and any extension lines,
// each ending in a newline) without the blank line and signature lines that
// follow it in the signed note. These are the bytes that the log's own note
// signature and every witness cosignature cover (C2SP signed-note,
// tlog-cosignature), so one definition serves all anchors, and the evidence
// stays valid when signature lines are added to the stored note.
//
// # Time-stamps
//
// [Timestamper] asks an RFC 3161 time-stamp authority for a token whose
// message imprint is SHA-256 of the checkpoint body (RFC 3161 §2.4.1). The
// token proves the tree existed no later than the token's genTime, so a
// re-written history signed later with the same (stolen) log key cannot
// carry the original times.
//
// # Witnesses
//
// [Witness] is a client of the C2SP tlog-witness protocol (add-checkpoint):
// it sends each checkpoint with a consistency proof from the size the
// witness last cosigned and verifies the Ed25519 cosignature/v1 it gets back
// (C2SP tlog-cosignature). A witness refuses to cosign a checkpoint that is
// not an append-only extension of what it saw before, so a forked or
// rolled-back log cannot gather cosignatures from honest witnesses.
//
// # Write-once sinks
//
// A [Sink] keeps a copy of every checkpoint outside the log's database.
// [FileSink] writes one read-only file per checkpoint, created exclusively,
// plus an append-only index; pointed at storage the operator cannot rewrite
// it lets a verifier detect a database rolled back to an older state.
package anchor
