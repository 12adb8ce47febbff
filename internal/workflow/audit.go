package workflow

import (
	"context"
	"fmt"
	"sync"

	"github.com/signet-pki/signet/auditlog"
)

// Event types this package records beyond those auditlog defines today.
// While the audit log does not know one, the event is recorded under its
// fallback type with Details["event"] naming the intended type, so that no
// state change goes unrecorded (see [auditType]).
const (
	EventEnvelopeExpired    auditlog.EventType = "envelope.expired"
	EventEnvelopeStarted    auditlog.EventType = "envelope.started"
	EventRecipientConsented auditlog.EventType = "recipient.consented"
)

var fallbackType = sync.OnceValue(func() map[auditlog.EventType]auditlog.EventType {
	return map[auditlog.EventType]auditlog.EventType{
		EventEnvelopeExpired:      auditlog.EnvelopeVoided,
		EventEnvelopeStarted:      auditlog.RecipientViewed,
		EventRecipientConsented:   auditlog.RecipientViewed,
		EventEnvelopeFieldsPlaced: auditlog.EnvelopeCreated,
		EventEnvelopeReminded:     auditlog.EnvelopeSent,
	}
})

// auditType returns t if the audit log knows it, else its fallback and
// the detail that names t.
func auditType(t auditlog.EventType) (auditlog.EventType, string) {
	if t.Known() {
		return t, ""
	}
	if f, ok := fallbackType()[t]; ok {
		return f, string(t)
	}
	return t, ""
}

// audit describes one event to record.
type audit struct {
	typ     auditlog.EventType
	tenant  string
	subject auditlog.Subject
	outcome auditlog.Outcome
	reason  string
	details map[string]string
	// sensitive are attributes the log keeps sealed, with only their
	// keyed hash in the leaf: names and free text that people wrote.
	sensitive map[string]string
}

// record records ev for actor a and returns the event id. An error means
// the action MUST NOT happen.
func (s *Service) record(ctx context.Context, a Actor, ev audit) (string, error) {
	id, err := s.newEventID()
	if err != nil {
		return "", err
	}
	typ, intended := auditType(ev.typ)
	details := ev.details
	if intended != "" {
		details = make(map[string]string, len(ev.details)+1)
		for k, v := range ev.details {
			details[k] = v
		}
		details["event"] = intended
	}
	outcome := ev.outcome
	if outcome == "" {
		outcome = auditlog.OutcomeSuccess
	}
	decision := "allow"
	if outcome == auditlog.OutcomeDenied {
		decision = "deny"
	}
	e := auditlog.Event{
		ID:        id,
		Type:      typ,
		Tenant:    ev.tenant,
		Actor:     auditlog.Actor{Kind: a.Kind, ID: a.ID, AuthMethods: a.AuthMethods, AuthStrength: a.AuthStrength},
		Subject:   ev.subject,
		Request:   auditlog.Request{CorrelationID: a.CorrelationID, ClientRequestID: a.ClientRequestID, IP: a.IP, UserAgent: a.UserAgent},
		Outcome:   outcome,
		Reason:    ev.reason,
		Policy:    auditlog.Policy{Decision: decision, Policy: "workflow"},
		Details:   details,
		Sensitive: ev.sensitive,
	}
	if err := s.cfg.Audit.Record(ctx, e); err != nil {
		return "", withDetail(ErrAuditUnavailable, "the audit log could not record the action, so it was not carried out", fmt.Errorf("workflow: audit %s: %w", ev.typ, err))
	}
	return id, nil
}

// freeText returns the sensitive attribute key = text of an event, or
// none for an empty text: what people write (reasons for declining,
// voiding or rejecting) may name people or terms, so the audit log keeps
// it sealed, like the stores do.
func freeText(key, text string) map[string]string {
	if text == "" {
		return nil
	}
	return map[string]string{key: text}
}
