package webhook

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Event types. The payload of each carries ids and states only: never
// document content, codes, tokens, names or e-mail addresses.
const (
	EventEnvelopeSent                  = "envelope.sent"
	EventEnvelopeCompleted             = "envelope.completed"
	EventEnvelopeDeclined              = "envelope.declined"
	EventEnvelopeVoided                = "envelope.voided"
	EventEnvelopeExpired               = "envelope.expired"
	EventRecipientViewed               = "recipient.viewed"
	EventRecipientSigned               = "recipient.signed"
	EventRecipientAuthenticationFailed = "recipient.authentication_failed"
	EventDocumentUploaded              = "document.uploaded"
	EventKeyRotated                    = "key.rotated"
	EventCertificateExpiring           = "certificate.expiring"
	// EventAlert carries an alert raised by the service's rules.
	EventAlert = "alert.raised"
)

// EventTypes lists every event type an endpoint may subscribe to.
var EventTypes = []string{
	EventEnvelopeSent, EventEnvelopeCompleted, EventEnvelopeDeclined, EventEnvelopeVoided,
	EventEnvelopeExpired, EventRecipientViewed, EventRecipientSigned,
	EventRecipientAuthenticationFailed, EventDocumentUploaded, EventKeyRotated,
	EventCertificateExpiring, EventAlert,
}

// KnownEvent reports whether t is one of [EventTypes].
func KnownEvent(t string) bool { return slices.Contains(EventTypes, t) }

// A Message is one event for one tenant ("" for the platform), as the
// outbox keeps it until every matching endpoint has it. Its ID is the
// webhook-id of every delivery of it (the receivers' idempotency key).
type Message struct {
	ID        string
	Tenant    string
	Type      string
	Payload   []byte // {"type","timestamp","data"}
	CreatedAt time.Time
}

// maxPayload bounds a message's payload.
const maxPayload = 16 << 10

// payload is the specification's event shape.
type payload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// NewMessage builds the message of an event of type eventType for tenant,
// at, with data (a JSON object of ids and states).
func NewMessage(tenant, eventType string, at time.Time, data any) (Message, error) {
	if !KnownEvent(eventType) {
		return Message{}, fmt.Errorf("webhook: unknown event type %q", eventType)
	}
	if data == nil {
		data = struct{}{}
	}
	b, err := json.Marshal(payload{Type: eventType, Timestamp: at.UTC().Truncate(time.Millisecond), Data: data})
	if err != nil {
		return Message{}, fmt.Errorf("webhook: event data: %w", err)
	}
	if len(b) > maxPayload {
		return Message{}, fmt.Errorf("webhook: event payload of %d bytes exceeds %d", len(b), maxPayload)
	}
	return Message{ID: newID("msg_"), Tenant: tenant, Type: eventType, Payload: b, CreatedAt: at}, nil
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newID returns prefix followed by 128 random bits.
func newID(prefix string) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("webhook: no randomness: " + err.Error())
	}
	return prefix + idEncoding.EncodeToString(b)
}
