package workflow

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
)

// EventEnvelopeReminded is recorded when the sender re-notifies the
// recipients whose turn it is ([Service.Remind]).
const EventEnvelopeReminded auditlog.EventType = "envelope.reminded"

// MinReminderInterval is how long after a recipient was last contacted
// [Service.Remind] may contact them again: a sender cannot flood a
// recipient's mailbox.
const MinReminderInterval = 10 * time.Minute

// ErrRemindedRecently means every recipient whose turn it is was
// contacted less than [MinReminderInterval] ago (409).
var ErrRemindedRecently = &api.Error{Kind: api.KindConflict, Type: "reminded-recently"}

// Remind re-notifies the recipients of the acting tenant's sent or
// in-progress envelope id whose turn it is, as the scheduler's reminders
// do (a reminder, or their turn notification if it was never sent), and
// records envelope.reminded naming them. Recipients contacted less than
// [MinReminderInterval] ago are skipped; if that leaves none, it fails
// with [ErrRemindedRecently]. An envelope that is not sent is
// [ErrInvalidTransition].
func (s *Service) Remind(ctx context.Context, a Actor, id string) (*Envelope, error) {
	return s.mutate(ctx, a, id, func(e *Envelope) (*change, error) {
		if e.Status != StatusSent && e.Status != StatusInProgress {
			return nil, withDetail(ErrInvalidTransition, "only a sent envelope's recipients are reminded; this one is "+string(e.Status), nil)
		}
		now := s.now()
		var ns []Notification
		var ids []string
		for _, r := range e.Recipients {
			if r.Status != RecipientActive {
				continue
			}
			switch {
			case r.NotifiedAt.IsZero():
				ns = append(ns, notification(NotifyTurn, e, r))
			case lastContact(r).Add(MinReminderInterval).After(now):
				continue
			default:
				ns = append(ns, notification(NotifyReminder, e, r))
			}
			ids = append(ids, r.ID)
		}
		if len(ns) == 0 {
			return nil, withDetail(ErrRemindedRecently, "the recipients whose turn it is were contacted less than "+
				MinReminderInterval.String()+" ago", nil)
		}
		return &change{
			audit: audit{typ: EventEnvelopeReminded, details: map[string]string{
				"reminded": strconv.Itoa(len(ids)), "recipient_ids": strings.Join(ids, ","),
			}},
			notify: ns,
		}, nil
	})
}
