package evidence

import (
	"time"

	"github.com/signet-pki/signet/evidence"
	"github.com/signet-pki/signet/internal/workflow"
)

// envelopeFacts is what the envelope's record and transitions say, as
// envelope.json shows it.
func envelopeFacts(e *workflow.Envelope, hist []workflow.Transition) evidence.Envelope {
	out := evidence.Envelope{
		ID: e.ID, Tenant: e.Tenant, Subject: e.Subject, Status: string(e.Status), Sender: e.CreatedBy,
		CreatedAt: e.CreatedAt.UTC(), SentAt: when(e.SentAt), CompletedAt: when(e.CompletedAt),
		Documents: []evidence.Document{}, Recipients: []evidence.Recipient{}, Transitions: []evidence.Transition{},
	}
	for _, d := range e.Documents {
		out.Documents = append(out.Documents, evidence.Document{ID: d.DocumentID, Name: d.Name, OriginalSHA256: d.OriginalSHA256, FinalSHA256: d.SHA256})
	}
	for _, r := range e.Recipients {
		out.Recipients = append(out.Recipients, evidence.Recipient{
			ID: r.ID, Name: r.Name, Email: r.Email, Role: string(r.Role), Order: r.Order, Auth: r.Auth, Status: string(r.Status),
			ConsentedAt: when(r.ConsentedAt), CompletedAt: when(r.CompletedAt), DeclinedAt: when(r.DeclinedAt),
		})
	}
	for _, t := range hist {
		out.Transitions = append(out.Transitions, evidence.Transition{
			From: string(t.From), To: string(t.To), Action: string(t.Action), ActorKind: t.ActorKind, ActorID: t.ActorID,
			At: t.At.UTC(), AuditEventID: t.AuditEventID,
		})
	}
	return out
}

// when is t, or nil when zero.
func when(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
