package workflow

import (
	"context"
	"errors"
	"fmt"

	"github.com/signet-pki/signet/auditlog"
)

// A change is what a mutation of an envelope did: the action (if its state
// machine moved), the audit event to record, and the notifications to
// send once the change is stored.
type change struct {
	action Action
	reason string
	audit  audit
	notify []Notification
	// notifyLater: the notifications are turn notifications that may be
	// sent after the caller returns (see [Service.Run]).
	notifyLater bool
}

// mutate runs fn on envelope id under the envelope's lock and stores the
// result: it loads the envelope (another tenant's is [ErrNotFound]), lets
// fn change it and describe the change, records the audit event (fail
// closed: without the event nothing is stored), then stores the envelope
// with its transition in one transaction, and finally sends the
// notifications.
//
// The event is recorded before the row is written, so a stored change
// always has its event; if the write then fails (a crash, or a concurrent
// writer in another process, [ErrBusy]), the log holds an event for a
// change that did not happen, and the envelope's transitions (see
// [Service.History]), which are written with the row, remain the
// authority on its state.
func (s *Service) mutate(ctx context.Context, a Actor, id string, fn func(e *Envelope) (*change, error)) (*Envelope, error) {
	unlock, err := s.envLocks.lock(ctx, id)
	if err != nil {
		return nil, err
	}
	defer unlock()
	e, err := s.load(ctx, a, id)
	if err != nil {
		return nil, err
	}
	prev, from := e.Version, e.Status
	ch, err := fn(e)
	if err != nil {
		return nil, err
	}
	if ch.audit.typ == "" {
		// Nothing to record: at most notifications to send.
		if e.Status != from {
			return nil, fmt.Errorf("workflow: internal: state change %s → %s without an audit event", from, e.Status)
		}
		s.dispatch(ctx, e, ch.notify)
		return e, nil
	}
	now := s.now()
	e.Version = prev + 1
	e.UpdatedAt = now
	ev := ch.audit
	ev.tenant = e.Tenant
	ev.subject.EnvelopeID = e.ID
	evID, err := s.record(ctx, a, ev)
	if err != nil {
		return nil, err
	}
	var t *Transition
	if e.Status != from {
		t = &Transition{
			EnvelopeID: e.ID, From: from, To: e.Status, Action: ch.action,
			ActorKind: string(a.Kind), ActorID: a.ID, Reason: ch.reason,
			At: now, CorrelationID: a.CorrelationID, AuditEventID: evID,
		}
	}
	if err := s.store(ctx, e, prev, t); err != nil {
		return nil, err
	}
	if ch.notifyLater && len(ch.notify) > 0 && s.running.Load() > 0 {
		select {
		case s.turns <- e.ID:
		default:
			// The queue is full: the recipients are due, the scheduler's
			// next tick notifies them.
		}
		return e, nil
	}
	s.dispatch(ctx, e, ch.notify)
	return e, nil
}

func (s *Service) store(ctx context.Context, e *Envelope, prev int64, t *Transition) error {
	err := s.cfg.Envelopes.UpdateEnvelope(ctx, e, prev, t)
	if errors.Is(err, ErrStale) {
		return withDetail(ErrBusy, "the envelope changed concurrently; retry", err)
	}
	if err != nil {
		return fmt.Errorf("workflow: store envelope: %w", err)
	}
	return nil
}

// load returns envelope id if actor a may see it.
func (s *Service) load(ctx context.Context, a Actor, id string) (*Envelope, error) {
	e, err := s.cfg.Envelopes.Envelope(ctx, id)
	if errors.Is(err, ErrNoRecord) || (err == nil && a.Tenant != "" && e.Tenant != a.Tenant) {
		return nil, withDetail(ErrNotFound, "no envelope "+quoteID(id), nil)
	}
	if err != nil {
		return nil, fmt.Errorf("workflow: load envelope: %w", err)
	}
	if a.Kind == auditlog.ActorRecipient && e.Recipient(a.ID) == nil {
		return nil, withDetail(ErrNotFound, "no envelope "+quoteID(id), nil)
	}
	return e, nil
}

// transit moves e's state by action, or fails with [ErrInvalidTransition].
func transit(e *Envelope, a Action) error {
	to, err := next(e.Status, a)
	if err != nil {
		return err
	}
	e.Status = to
	return nil
}

// dispatch sends notifications for e (whose lock the caller holds) and
// records, in a bookkeeping update without a state change, which
// recipients were notified or reminded. Failures are logged; the
// scheduler retries recipients still marked not notified.
func (s *Service) dispatch(ctx context.Context, e *Envelope, ns []Notification) {
	if len(ns) == 0 {
		return
	}
	touched := false
	for _, n := range ns {
		if err := s.cfg.Notifier.Notify(ctx, n); err != nil {
			s.log.WarnContext(ctx, "workflow: notification failed", "envelope", e.ID, "recipient", n.Recipient.ID, "kind", n.Kind, "error", err)
			continue
		}
		r := e.Recipient(n.Recipient.ID)
		switch {
		case r == nil:
		case n.Kind == NotifyTurn:
			r.NotifiedAt, touched = s.now(), true
		case n.Kind == NotifyReminder:
			r.RemindedAt, touched = s.now(), true
		}
	}
	if !touched {
		return
	}
	prev := e.Version
	e.Version++
	if err := s.store(ctx, e, prev, nil); err != nil {
		e.Version = prev
		s.log.WarnContext(ctx, "workflow: recording notifications failed", "envelope", e.ID, "error", err)
	}
}

// notification builds a notification of kind for recipient r of e.
func notification(kind NotificationKind, e *Envelope, r Recipient) Notification {
	return Notification{
		Kind: kind, Tenant: e.Tenant, EnvelopeID: e.ID, Recipient: r,
		Subject: e.Subject, Message: e.Message, Status: e.Status, ExpiresAt: e.ExpiresAt,
	}
}

// turnNotifications returns NotifyTurn notifications for the recipients
// at idx.
func turnNotifications(e *Envelope, idx []int) []Notification {
	var ns []Notification
	for _, i := range idx {
		ns = append(ns, notification(NotifyTurn, e, e.Recipients[i]))
	}
	return ns
}

// endNotifications tells every recipient who was contacted that e ended.
func endNotifications(e *Envelope, except string) []Notification {
	var ns []Notification
	for _, r := range e.Recipients {
		if r.ID != except && !r.NotifiedAt.IsZero() {
			ns = append(ns, notification(NotifyEnded, e, r))
		}
	}
	return ns
}
