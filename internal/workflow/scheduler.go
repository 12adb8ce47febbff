package workflow

import (
	"context"
	"errors"
	"sync"
	"time"
)

// DefaultTick is how often [Service.Run] looks for due envelopes.
const DefaultTick = 5 * time.Second

// dueBatch bounds the envelopes one [Service.Tick] handles.
const dueBatch = 256

// turnQueue bounds the envelopes waiting for their turn notifications;
// beyond it, the scheduler's next tick notifies (their recipients are due).
const turnQueue = 4096

// notifiers is the number of goroutines [Service.Run] sends turn
// notifications from.
const notifiers = 8

// Run runs the scheduler ([Service.RunScheduler]) and the turn notifiers
// ([Service.RunNotifiers]) until ctx is done, and returns ctx's error: a
// service that runs alone.
func (s *Service) Run(ctx context.Context, interval time.Duration) error {
	var wg sync.WaitGroup
	wg.Go(func() { s.RunNotifiers(ctx) })
	s.RunScheduler(ctx, interval)
	wg.Wait()
	return ctx.Err()
}

// RunScheduler calls [Service.Tick] every interval (DefaultTick if zero)
// until ctx is done. A failing tick is logged and retried at the next
// one. With several nodes on one database, one node at a time runs it
// (under a lease): every tick is safe on its own (each transition is
// stored once, see mutate), and one scheduler spares the others the work.
func (s *Service) RunScheduler(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultTick
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "workflow: scheduler tick failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunNotifiers runs the turn notifiers until ctx is done. While they run,
// a recipient's action that makes it the next recipients' turn does not
// wait for their emails: the envelope is handed to the notifiers, which
// issue the links and send them (see notifyLater). The state that says
// who is to be notified is stored first, so a crash in between leaves the
// recipients due, and the scheduler's next tick notifies them. Every node
// runs its own.
func (s *Service) RunNotifiers(ctx context.Context) {
	var wg sync.WaitGroup
	for range notifiers {
		wg.Go(func() { s.notifyTurns(ctx) })
	}
	s.running.Add(1)
	defer func() {
		s.running.Add(-1)
		wg.Wait()
	}()
	<-ctx.Done()
}

// Tick handles every envelope due at the service clock's now: it expires
// sent and in-progress envelopes past their expiry (envelope.expired),
// completes envelopes whose recipients have all acted, notifies active
// recipients not yet notified, and reminds active recipients whose
// reminder interval has passed; then, with [Config.Retention] set, it
// purges envelopes finished longer ago ([Service.PurgeFinished]). It
// returns how many envelopes it handled and the first error (it goes on
// after errors).
//
// Several nodes may tick at once: each envelope is handled under its lock
// ([Config.Locks]), on its stored state, so what one node did the others
// find done. Even where the lock is not shared, an expiry or a completion
// is stored and notified once (the store checks the version, see mutate),
// and a reminder is recorded before it is sent and sent only by the node
// whose record won.
func (s *Service) Tick(ctx context.Context) (int, error) {
	ids, err := s.cfg.Envelopes.DueEnvelopes(ctx, s.now(), dueBatch)
	if err != nil {
		return 0, err
	}
	var first error
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if err := s.handleDue(ctx, id); err != nil && first == nil {
			first = err
		}
	}
	purged, err := s.PurgeFinished(ctx)
	if err != nil && first == nil {
		first = err
	}
	return len(ids) + purged, first
}

func (s *Service) handleDue(ctx context.Context, id string) error {
	e, err := s.cfg.Envelopes.Envelope(ctx, id)
	if err != nil {
		return err
	}
	now := s.now()
	switch {
	case e.Status.Terminal() || e.Status == StatusDraft:
		return nil
	case !e.ExpiresAt.After(now):
		_, err := s.mutate(ctx, System, id, func(e *Envelope) (*change, error) {
			if err := transit(e, ActionExpire); err != nil {
				return nil, err
			}
			e.Reason = "expired"
			return &change{
				action: ActionExpire, reason: "expired at " + e.ExpiresAt.Format(time.RFC3339),
				audit:  audit{typ: EventEnvelopeExpired, reason: "expired"},
				notify: endNotifications(e, ""),
			}, nil
		})
		if errors.Is(err, ErrInvalidTransition) {
			return nil // it ended meanwhile
		}
		return err
	case e.AllActed():
		_, err := s.complete(ctx, System, id)
		return err
	}
	_, err = s.mutate(ctx, System, id, func(e *Envelope) (*change, error) {
		var ns []Notification
		for _, r := range e.Recipients {
			if r.Status != RecipientActive {
				continue
			}
			switch {
			case r.NotifiedAt.IsZero():
				ns = append(ns, notification(NotifyTurn, e, r))
			case e.ReminderEvery > 0 && !lastContact(r).Add(e.ReminderEvery).After(now):
				ns = append(ns, notification(NotifyReminder, e, r))
			}
		}
		return &change{notify: ns}, nil
	})
	return err
}

// notifyTurns notifies the active recipients not yet notified of each
// envelope handed to it, until ctx is done; envelopes still queued then
// are left to the next tick (their recipients are due).
func (s *Service) notifyTurns(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-s.turns:
			// A notification under way is finished even if Run is being
			// stopped: an email sent but not recorded would be sent again
			// after the restart. Run waits for it.
			if err := s.notifyPending(context.WithoutCancel(ctx), id); err != nil {
				s.log.WarnContext(ctx, "workflow: notifying the next recipients failed; the scheduler retries", "envelope", id, "error", err)
			}
		}
	}
}

// notifyPending sends turn notifications to envelope id's active
// recipients that have not been notified.
func (s *Service) notifyPending(ctx context.Context, id string) error {
	_, err := s.mutate(ctx, System, id, func(e *Envelope) (*change, error) {
		if e.Status != StatusSent && e.Status != StatusInProgress {
			return &change{}, nil
		}
		var ns []Notification
		for _, r := range e.Recipients {
			if r.Status == RecipientActive && r.NotifiedAt.IsZero() {
				ns = append(ns, notification(NotifyTurn, e, r))
			}
		}
		return &change{notify: ns}, nil
	})
	return err
}
