// Package archive renews the long-term validity of completed documents
// (archive time-stamp renewal, ETSI EN 319 142-1 §5.4 and the validation
// model of ETSI EN 319 102-1).
//
// A document's latest time-stamp is validated at the validation time:
// once its authority's certificate has expired (or been revoked), or its
// algorithms have become weak, nothing proves any more that the document
// and its signatures existed before. Renewal adds, before that happens,
// the validation data of every signature and time-stamp (a DSS update)
// and a new document time-stamp over everything, exactly as `signet
// timestamp` does ([pades.Archive]); the new time-stamp gives the earlier
// ones proof of existence at its time.
//
// [Service.RunOnce] walks every completed envelope of every tenant
// ([workflow.Service.CompletedEnvelopes]) and, for each document's
// current version, reads its state with [pades.Verify]: the latest
// time-stamp, its authority's certificate and algorithms. The version is
// due at the earliest of its authority certificate's expiry and the date
// its algorithms weaken ([DefaultWeakenings]), less the renewal margin
// ([Config.Margin]). Due dates are cached in memory by version, so a pass
// re-verifies only new versions. A due document is renewed under its
// document lock: the renewal is written to an in-memory pades.Overlay over the
// sealed content (nothing of the document is copied), verified (the new
// latest time-stamp must move the due date past now, else nothing is
// stored: renewing with an authority whose own certificate is inside the
// margin would not help), appended to the content as a new version of
// the tenant ([workflow.Contents.AppendContent]) and made the document's
// current version by [workflow.Service.RenewDocument], which records
// document.archive_renewed in the audit log before it stores anything.
// Fail closed: without a time-stamp, validation data or the audit record,
// nothing changes (an appended version nothing references is left to
// garbage collection) and the document counts as overdue.
//
// [Service.Status] gives the state for the metric the server exposes
// (GET /v1/archive/status); a pass that leaves documents overdue logs
// "ALERT: archive renewal overdue" at error level, once per pass.
package archive
