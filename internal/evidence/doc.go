// Package evidence gathers the evidence bundle of an envelope (see the
// top-level package evidence for its layout) and serves it:
//
//	GET /v1/envelopes/{id}/evidence    the bundle, application/zip
//
// A [Service] reads, for the principal's tenant only, the envelope and
// its transitions from the workflow, its documents' original and final
// versions from their sealed contents (streamed, never written in clear
// to a temporary file), the envelope's audit events with their inclusion
// proofs to one checkpoint (the first stored checkpoint that covers the
// envelope's last event and has an anchor), that checkpoint's anchors, a
// consistency proof to the latest checkpoint, the audit log's verifier
// key, and the validation data carried by the final PDFs. For a completed
// envelope it writes the certificate of completion and has it sealed by
// the tenant's seal key (PAdES B-LTA). The manifest is signed by the same
// key and time-stamped by the archive time-stamp authority (CAdES-T).
//
// # Failing closed
//
// [Service.Prepare] does every step that can fail (the certificate's
// seal, the manifest's signature and time-stamp, the audit.exported
// event) before a byte of the bundle is written; only reading the
// documents again remains for [Bundle.Write]. No checkpoint covering the
// envelope's last event yet is a 503 with Retry-After ([ErrCheckpointPending]):
// the publisher signs one within seconds. An export that cannot be
// recorded in the audit log does not happen.
//
// # Isolation
//
// The bundle holds only this envelope's events (the audit store's
// EnvelopeRecords for the principal's tenant, each leaf checked again to
// name the envelope and tenant), this envelope's documents, and the
// validation data of its own PDFs: no record, name, address or
// certificate of another envelope or tenant.
package evidence
