package workflow

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/webhook"
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
// The envelope's lock is taken through [Config.Locks], so with a Locker
// shared by every node each change is decided on the stored state, once.
// The store checks the version all the same (optimistic concurrency): of
// two nodes that decided on one version (a lock not shared, or lost), one
// stores its change and sends its notifications; the other gets
// [ErrBusy] and sends nothing.
//
// The event is recorded before the row is written, so a stored change
// always has its event; if the write then fails (a crash, or such a
// concurrent writer, [ErrBusy]), the log holds an event for a change that
// did not happen, and the envelope's transitions (see [Service.History]),
// which are written with the row, remain the authority on its state.
func (s *Service) mutate(ctx context.Context, a Actor, id string, fn func(e *Envelope) (*change, error)) (*Envelope, error) {
	unlock, err := s.lockEnvelope(ctx, id)
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
	if err := s.store(ctx, e, prev, t, s.webhookMessages(e, from, ch)...); err != nil {
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

func (s *Service) store(ctx context.Context, e *Envelope, prev int64, t *Transition, out ...webhook.Message) error {
	err := s.cfg.Envelopes.UpdateEnvelope(ctx, e, prev, t, out...)
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

// dispatch sends notifications for e (whose lock the caller holds, as
// stored) and records, in bookkeeping updates without a state change,
// which recipients were notified or reminded. Failures are logged; the
// scheduler retries.
//
// A reminder is recorded (RemindedAt) before it is sent, and sent only if
// that update wins: the update is checked against the stored version, so
// of several nodes reminding one recipient at once, even without a shared
// lock, one sends. A reminder that fails is unrecorded again, so that the
// next tick retries it; a crash between the record and the send loses
// that reminder, and the next follows after the interval.
//
// Other notifications are sent first and recorded after (a turn as
// NotifiedAt): a crash in between must not leave the recipient whose turn
// it is without a link, so it is sent again; nodes sharing the envelope
// lock ([Config.Locks]) see the record and do not send it twice.
func (s *Service) dispatch(ctx context.Context, e *Envelope, ns []Notification) {
	if len(ns) == 0 {
		return
	}
	// Record the reminders first.
	before := map[string]time.Time{} // RemindedAt before the claim, by recipient
	now := s.now()
	for _, n := range ns {
		if r := e.Recipient(n.Recipient.ID); r != nil && n.Kind == NotifyReminder {
			before[r.ID] = r.RemindedAt
			r.RemindedAt = now
		}
	}
	if len(before) > 0 && !s.bookkeep(ctx, e, "recording reminders") {
		// Another node's update won (or the store failed): nothing is
		// sent; what is still due, the next tick finds.
		for id, t := range before {
			e.Recipient(id).RemindedAt = t
		}
		return
	}
	touched := false
	for _, n := range ns {
		err := s.cfg.Notifier.Notify(ctx, n)
		if err != nil {
			s.log.WarnContext(ctx, "workflow: notification failed", "envelope", e.ID, "recipient", n.Recipient.ID, "kind", n.Kind, "error", err)
		}
		r := e.Recipient(n.Recipient.ID)
		switch {
		case r == nil:
		case n.Kind == NotifyReminder && err != nil:
			r.RemindedAt, touched = before[r.ID], true
		case n.Kind == NotifyTurn && err == nil:
			r.NotifiedAt, touched = s.now(), true
		}
	}
	if touched {
		s.bookkeep(ctx, e, "recording notifications")
	}
}

// bookkeep stores e (whose lock the caller holds) as the next version,
// without a transition, and reports whether it was stored. A failure is
// logged as what failed.
func (s *Service) bookkeep(ctx context.Context, e *Envelope, what string) bool {
	prev := e.Version
	e.Version++
	err := s.store(ctx, e, prev, nil)
	if err == nil {
		return true
	}
	e.Version = prev
	if errors.Is(err, ErrBusy) {
		// Another node changed the envelope meanwhile (without a shared
		// lock): its update stands, and this node's is dropped.
		s.log.InfoContext(ctx, "workflow: "+what+" lost to a concurrent update", "envelope", e.ID)
	} else {
		s.log.WarnContext(ctx, "workflow: "+what+" failed", "envelope", e.ID, "error", err)
	}
	return false
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
