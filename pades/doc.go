// Package pades creates and validates PAdES signatures in PDF documents
// (ETSI EN 319 142-1, ISO 32000-1 §12.8).
//
// # Signing
//
// [Sign] appends one incremental update holding a signature field, its
// widget and a signature dictionary with SubFilter ETSI.CAdES.detached. The
// /ByteRange and /Contents are written as fixed-width slots whose offsets are
// recorded while the update is serialized; the digest is streamed over the
// original bytes as they are copied, so memory use does not grow with the
// file. The CMS SignedData carries the signed attributes content-type,
// message-digest and ESS signing-certificate-v2 and no signing-time
// (baseline B-B). At level B-T an RFC 3161 signature time-stamp is added as
// an unsigned attribute; if no time-stamp authority returns a valid token the
// signing fails.
//
// # Validation
//
// [Verify] examines every signature and document time-stamp of every
// revision and reports, per signature, an indication in the terms of
// ETSI EN 319 102-1 (TOTAL-PASSED, TOTAL-FAILED, INDETERMINATE), a
// sub-indication, the checks made, the PAdES level reached and what later
// revisions changed.
//
// The latest time-stamp of the document (its last document time-stamp, or
// else its last signature time-stamp) is validated at the validation time;
// everything before it gets proof of existence from the later time-stamps
// that cover it and is validated at the times they prove. Once the latest
// time-stamp's authority has expired or been revoked, the signatures it
// protects are INDETERMINATE until an archive time-stamp ([Archive]) is
// added in time; [Report.Renewal] says when that is due.
package pades
