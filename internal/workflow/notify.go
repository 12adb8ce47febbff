package workflow

import (
	"context"
	"time"
)

// A NotificationKind says why a recipient is contacted.
type NotificationKind string

// Notification kinds.
const (
	// NotifyTurn: the recipient's routing order came up; the notifier
	// issues them a link.
	NotifyTurn NotificationKind = "turn"
	// NotifyReminder: the recipient still has to act; the notifier issues
	// a fresh link (or re-sends).
	NotifyReminder NotificationKind = "reminder"
	// NotifyCompleted: the envelope is complete (cc recipients and
	// signers are told; no action is needed).
	NotifyCompleted NotificationKind = "completed"
	// NotifyEnded: the envelope was voided, declined or expired.
	NotifyEnded NotificationKind = "ended"
)

// A Notification is what a [Notifier] needs to contact one recipient,
// including, for [NotifyTurn] and [NotifyReminder], what it needs to issue
// a link bound to this recipient of this envelope.
type Notification struct {
	Kind       NotificationKind
	Tenant     string
	EnvelopeID string
	Recipient  Recipient
	Subject    string
	Message    string
	// Status is the envelope's state when the notification was made.
	Status Status
	// ExpiresAt is the envelope's expiry: a link MUST NOT outlive it.
	ExpiresAt time.Time
}

// A Notifier contacts recipients (by email, in Signet's signing package).
//
// Notify MUST return nil only once the message is handed over for
// delivery. An error leaves the recipient marked not notified, and the
// scheduler retries. Notify is called with the envelope's lock held, so it
// MUST NOT call back into the workflow for the same envelope.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// A RecipientsPurger deletes what the recipient side keeps about an
// envelope (its links, sessions and code state); retention calls it, when
// the [Notifier] is one, before it deletes the envelope's own rows.
type RecipientsPurger interface {
	PurgeRecipients(ctx context.Context, envelopeID string) error
}

// A Completer seals an envelope whose signers and approvers have all
// acted: the tenant seal, DSS and a document time-stamp (PAdES B-LTA).
//
// Complete is called with the envelope's lock and the locks of all its
// documents held (see [Service.LockDocument]); it MUST NOT take them
// again. It reads each document's current version from contents and
// stores the sealed version there ([Contents.AppendContent] under the
// envelope's tenant), and returns, for each document id, the SHA-256 of
// the sealed version. An error leaves the envelope in progress; the
// scheduler retries.
type Completer interface {
	Complete(ctx context.Context, e *Envelope, contents Contents) (map[string]string, error)
}
