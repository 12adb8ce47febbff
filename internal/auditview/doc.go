// Package auditview serves a tenant's audit log as its console and
// auditors read it:
//
//	GET /v1/audit/events?after=<index>&limit=<n>&envelope=<id>   the tenant's events, a page at a time
//	GET /v1/audit/checkpoint                                     the latest signed checkpoint and its anchors
//	GET /v1/envelopes/{id}/events?after=<index>&limit=<n>        one envelope's events, for its sender
//
// The first two routes declare the action audit.read ([OpenAPI]), the
// envelope's events envelope.read: whoever reads the envelope reads its
// events (the sender console's timeline), after the workflow service has
// found the envelope to be the principal's tenant's ([Envelopes]; 404
// otherwise). The tenant is the principal's, never a parameter, and the
// store is asked for that tenant's records only (each record is checked again before it is
// shown). Pages are bounded ([DefaultLimit], [MaxLimit]). The events are
// shown from their leaves, without the sensitive values (e-mail
// addresses, names, IP addresses, sensitive details): the leaves hold
// them only as keyed digests, and their sealed clear values are never
// opened here; the event names which fields it withholds. An event is
// "anchored" once a checkpoint that covers it has an anchor (an RFC 3161
// time-stamp, a witness cosignature or a write-once copy), as
// [auditlog.FirstAnchored] decides for evidence bundles.
//
// [Service.Positions] gives the envelope history its events' positions
// in the log (workflow.AuditPositions).
package auditview
