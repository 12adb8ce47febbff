package webhook

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
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
	return Message{ID: messageID(at), Tenant: tenant, Type: eventType, Payload: b, CreatedAt: at}, nil
}

// messageID returns "msg_" and, in an encoding that sorts as its bytes
// do, the creation time in nanoseconds (big-endian) and 64 random bits:
// message ids sort by creation, so the outbox's tables grow at their end
// and list newest first by id, without an index of their own.
func messageID(at time.Time) string {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, uint64(at.UnixNano()))
	if _, err := rand.Read(b[8:]); err != nil {
		panic("webhook: no randomness: " + err.Error())
	}
	return "msg_" + sortedEncoding.EncodeToString(b)
}

// sortedEncoding is base32 with the extended hex alphabet, whose order
// is the bytes' order.
var sortedEncoding = base32.HexEncoding.WithPadding(base32.NoPadding)

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newID returns prefix followed by 128 random bits.
func newID(prefix string) string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic("webhook: no randomness: " + err.Error())
	}
	return prefix + idEncoding.EncodeToString(b)
}
