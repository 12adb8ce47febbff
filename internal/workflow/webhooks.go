package workflow

import (
	"context"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/webhook"
)

// WebhookEvents is what the workflow needs of the webhook service
// (*webhook.Service implements it).
//
// Envelope events (envelope.sent, .completed, .declined, .voided,
// .expired) and the recipient events that change an envelope
// (recipient.viewed, recipient.signed) are built with Message and written
// by the envelope store in the transaction that stores the change
// ([EnvelopeStore.UpdateEnvelope]): a stored change is announced, one that
// rolled back is not, and a crash after the commit loses nothing.
// document.uploaded has no envelope transaction to share: it is enqueued
// with Notify after the document's row is stored, so a crash between the
// two can lose that one event, never announce an upload that did not
// happen.
type WebhookEvents interface {
	Message(tenant, eventType string, data any) (webhook.Message, error)
	Notify(ctx context.Context, tenant, eventType string, data any) error
}

// envelopeEvents maps the state an envelope enters to its event.
var envelopeEvents = map[Status]string{
	StatusSent:      webhook.EventEnvelopeSent,
	StatusCompleted: webhook.EventEnvelopeCompleted,
	StatusDeclined:  webhook.EventEnvelopeDeclined,
	StatusVoided:    webhook.EventEnvelopeVoided,
	StatusExpired:   webhook.EventEnvelopeExpired,
}

// webhookMessages returns the messages announcing ch, a change of e from
// state from: ids and states only, never names, e-mail addresses, reasons
// or content.
func (s *Service) webhookMessages(e *Envelope, from Status, ch *change) []webhook.Message {
	if s.cfg.Webhooks == nil {
		return nil
	}
	type ev struct {
		typ  string
		data map[string]string
	}
	var evs []ev
	switch ch.audit.typ {
	case auditlog.RecipientViewed:
		evs = append(evs, ev{webhook.EventRecipientViewed, map[string]string{"recipient_id": ch.audit.details["recipient_id"]}})
	case auditlog.SignatureCreated:
		evs = append(evs, ev{webhook.EventRecipientSigned, map[string]string{
			"recipient_id": ch.audit.details["recipient_id"], "document_id": ch.audit.details["document_id"]}})
	}
	if t, ok := envelopeEvents[e.Status]; ok && e.Status != from {
		evs = append(evs, ev{t, map[string]string{"previous_status": string(from)}})
	}
	var out []webhook.Message
	for _, x := range evs {
		x.data["envelope_id"] = e.ID
		x.data["status"] = string(e.Status)
		m, err := s.cfg.Webhooks.Message(e.Tenant, x.typ, x.data)
		if err != nil {
			s.log.Warn("workflow: webhook message not built", "type", x.typ, "error", err)
			continue
		}
		out = append(out, m)
	}
	return out
}

// notifyWebhook enqueues an event without a store transaction of its own
// (see [WebhookEvents]); a failure is logged, not returned: the action it
// announces is already recorded.
func (s *Service) notifyWebhook(ctx context.Context, tenant, eventType string, data any) {
	if s.cfg.Webhooks == nil {
		return
	}
	if err := s.cfg.Webhooks.Notify(ctx, tenant, eventType, data); err != nil {
		s.log.WarnContext(ctx, "workflow: webhook event not enqueued", "type", eventType, "error", err)
	}
}
