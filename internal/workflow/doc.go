// Package workflow is Signet's document and envelope workflow: uploads of
// PDF documents, envelopes (documents, recipients, routing order, expiry)
// with their state machine, the recipient-side progress the signing
// package drives, reminders and expiry, and the HTTP handlers under
// /v1/documents and /v1/envelopes.
//
// # Documents
//
// [Service.Upload] reads at most the configured size (25 MB by default),
// checks the %PDF- magic bytes, parses the whole file with the internal
// PDF reader (cross-reference data, catalog, every page of the page tree,
// every listed object), refuses encrypted PDFs and, under the "refuse"
// policy, PDFs with JavaScript, additional actions or launch actions, and
// only then stores the content in the [blob.Store] and the row.
//
// # Contents at rest
//
// With [Config.Keys] set, each version of a document's bytes (the upload,
// each signed version, the sealed one) is a [Content] of its tenant: a
// [dataseal] stream under the data key of object [ContentObject] in the
// blob store, and a row in the [ContentStore] (table workflow_contents)
// naming the ciphertext's blob, the size and the sealed SHA-256 state.
// [Service.OpenContent] reads it with random access,
// [Service.AppendContent] stores a signature's or the seal's new version
// as a content of its own, [Service.ContentDigest] gives the hash state
// that lets a signature hash only what it appends. Nothing of a document
// is written in clear: uploads are checked in memory, the seal works in
// memory (package signing). [Service.DeleteDocument] (DELETE
// /v1/documents/{id}), [Service.PurgeFinished] (retention of finished
// envelopes, [Config.Retention]) and [Service.CollectGarbage] shred the
// data keys of contents nothing of the tenant uses any more, after which
// their ciphertexts cannot be read; the audit events name hashes only.
//
// # Envelopes
//
// An envelope moves draft → sent → in_progress → completed | declined |
// voided | expired along the table returned by [Transitions]; any other
// move is [ErrInvalidTransition] (HTTP 409). Signers and approvers act in
// increasing routing order; recipients sharing an order form a parallel
// group whose members act in any order; cc recipients are notified at
// completion. Each recipient's turn, reminder and the end of an envelope
// go through a [Notifier]; the completion seal through a [Completer].
// Once completed, an envelope's documents change only by archive renewal
// (package internal/archive): [Service.RenewDocument] moves a document to
// its re-time-stamped version, recording document.archive_renewed first,
// without a transition; [Service.CompletedEnvelopes] pages over the
// completed envelopes of every tenant for it.
//
// # Placed fields and consent text
//
// A draft's [Field]s are boxes on a page of one of its documents for one
// of its signers to fill when signing (a signature, initials, a date, a
// text), given with [CreateRequest.Fields] or replaced by
// [Service.PlaceFields] while the envelope is a draft, and checked
// against the page's visible box ([Service.PageSizes], read from the
// stored PDF). [Service.Remind] re-notifies the recipients whose turn it
// is. Each tenant's consent text ([Service.ConsentText], set by
// [Service.SetTenantSettings]) is what its recipients consent to before
// they sign; [Service.ConsentRecordedText] records the text's digest.
//
// # Recipient authentication
//
// Each recipient has an authentication level, fixed when the envelope is
// created ([RecipientInput.Auth], defaulting to the envelope's
// [CreateRequest.Auth], else [AuthEmailCode]): [AuthEmailCode],
// [AuthSMSCode] (with a phone number in E.164 form; refused with
// [ErrAuthUnavailable] unless [Config.SMSGateway] is set),
// [AuthAccessCode] (with the access code, hashed here with argon2id and
// never stored, returned or recorded in clear), [AuthLinkOnly] (refused
// unless the envelope sets AllowLinkOnly and [Config.AllowLinkOnly] is on)
// [AuthPasskey] and [AuthTOTP] (a registered user of the tenant confirms
// with a passkey, or with a code of their TOTP authenticator; the signing
// side checks). A high-assurance envelope's signers and approvers must
// have one of the last two ([StrongAuth], else [ErrHighAssuranceAuth]).
// The legacy name [AuthEmailOTP] is accepted and
// stored as [AuthEmailCode]. envelope.created records the levels used.
//
// # Recipient side
//
// The signing package authenticates recipients (link token and the proof
// of their level) and then calls [Service.RecipientContext], [Service.MarkViewed],
// [Service.ConsentRecorded], [Service.RecipientSigned] (under
// [Service.LockDocument]) and [Service.RecipientDeclined] with an [Actor]
// of kind recipient whose ID is the recipient id: a recipient can only
// ever act as themselves.
//
// # Audit and storage
//
// Every state change records its audit event before it is stored, and
// does not happen if the event cannot be recorded (fail closed). Each
// stored state change carries a [Transition] naming the actor, time,
// reason, request id and audit event id; [Service.History] and
// [Service.Explain] read them. Storage is behind [DocumentStore] and
// [EnvelopeStore]; package workflowsql implements them on SQLite with
// portable SQL (migration versions 200–299).
//
// # Scheduler
//
// [Service.Run] calls [Service.Tick] periodically; Tick expires envelopes,
// retries pending completions and notifications, and sends reminders,
// using the service's injected clock.
//
// # Several nodes
//
// Every change of an envelope is made under the envelope's lock, and every
// signature and seal of a document under the document's, both taken from
// [Config.Locks]. Nodes serving one database share a [Locker] held there,
// and any request, and any node's scheduler, may then act on any
// envelope: each change is decided on the stored state and happens once.
// The stores check an envelope's version on every update besides, so that
// even a lock that is not shared cannot make a transition, the
// notifications it sends, or a reminder happen twice; only a turn
// notification that a scheduler retries could then be sent by two nodes.
package workflow
