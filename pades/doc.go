// Package pades creates and validates PAdES signatures in PDF documents
// (ETSI EN 319 142-1, ISO 32000-1 §12.8).
//
// # Signing
//
// [Sign] appends one incremental update holding a signature field, its
// widgets and a signature dictionary with SubFilter ETSI.CAdES.detached. The
// /ByteRange and /Contents are written as fixed-width slots whose offsets are
// recorded while the update is serialized; the digest is streamed over the
// original bytes as they are copied, so memory use does not grow with the
// file. The CMS SignedData carries the signed attributes content-type,
// message-digest and ESS signing-certificate-v2 and no signing-time
// (baseline B-B). At level B-T an RFC 3161 signature time-stamp is added as
// an unsigned attribute; if no time-stamp authority returns a valid token the
// signing fails.
//
// # Widgets
//
// [Options.Widgets] are the filled fields a signer's signature shows: a
// drawn or typed signature, initials, a date, a text. They become the
// widget annotations of the signature's own field (one /Kids entry per
// widget, each with its own appearance stream, listed in its page's
// /Annots), written in the signature's revision and so covered by its
// /ByteRange. Text is set on one line in Helvetica, or Times-Italic for a
// typed signature (standard 14 fonts, WinAnsiEncoding), sized to fit the
// box; a drawing's strokes are round-capped polylines scaled to the box.
// Later signatures keep them: adding a signature field with widgets is a
// change that [Verify] permits after an approval signature or a DocMDP
// P=2 or P=3 certification. The widgets of one signature are bounded by
// [MaxWidgets], [MaxWidgetPoints] and [MaxWidgetText], and each must lie
// on its page; [ErrInvalidWidget] wraps every refusal.
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
