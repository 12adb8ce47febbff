package workflow_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/workflow"
)

// Several Signet nodes over one database: each test runs two services
// over one store, blob store, audit log, notifier and sealer, and races
// them on one envelope.

// sharedLocks is a Locker shared by the nodes of a test, as the
// database's locks are in production. It counts the locks taken by key.
type sharedLocks struct {
	mu    sync.Mutex
	held  map[string]chan struct{} // closed on release
	taken map[string]int
}

func newSharedLocks() *sharedLocks {
	return &sharedLocks{held: map[string]chan struct{}{}, taken: map[string]int{}}
}

func (l *sharedLocks) Lock(ctx context.Context, key string) (func(), error) {
	for {
		l.mu.Lock()
		busy, ok := l.held[key]
		if !ok {
			released := make(chan struct{})
			l.held[key] = released
			l.taken[key]++
			l.mu.Unlock()
			var once sync.Once
			return func() {
				once.Do(func() {
					l.mu.Lock()
					delete(l.held, key)
					l.mu.Unlock()
					close(released)
				})
			}, nil
		}
		l.mu.Unlock()
		select {
		case <-busy:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (l *sharedLocks) count(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.taken[key]
}

// rendezvous is an EnvelopeStore whose loads of one envelope, once armed,
// meet in rounds: each of the two nodes' load returns only after the
// other's has read the row too. Both nodes then decide on the same
// version, the worst interleaving for them.
type rendezvous struct {
	workflow.EnvelopeStore
	mu      sync.Mutex
	id      string
	rounds  int
	arrived int
	met     chan struct{}
}

// arm makes the next rounds pairs of loads of envelope id meet.
func (r *rendezvous) arm(id string, rounds int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.id, r.rounds, r.arrived, r.met = id, rounds, 0, make(chan struct{})
}

func (r *rendezvous) Envelope(ctx context.Context, id string) (*workflow.Envelope, error) {
	e, err := r.EnvelopeStore.Envelope(ctx, id)
	r.mu.Lock()
	if id != r.id || r.rounds == 0 {
		r.mu.Unlock()
		return e, err
	}
	met := r.met
	if r.arrived++; r.arrived == 2 {
		close(met)
		r.rounds--
		r.arrived, r.met = 0, make(chan struct{})
	}
	r.mu.Unlock()
	select {
	case <-met:
		return e, err
	case <-time.After(30 * time.Second):
		return nil, errors.New("test: the other node never loaded the envelope")
	}
}

// newNodes returns an env and a second service over its stores. With
// shared, both take their locks from one sharedLocks; otherwise each has
// its own in-process locks (nodes configured without a shared lock).
// The env's loads go through the returned rendezvous.
func newNodes(t *testing.T, shared bool) (*env, *workflow.Service, *rendezvous, *sharedLocks) {
	t.Helper()
	var locks *sharedLocks
	loads := &rendezvous{}
	e := newEnvConfig(t, func(c *workflow.Config) {
		if shared {
			locks = newSharedLocks()
			c.Locks = locks
		}
		loads.EnvelopeStore = c.Envelopes
		c.Envelopes = loads
	})
	other, err := workflow.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e, other, loads, locks
}

// race runs fn on both nodes at once and returns their errors.
func race(nodes [2]*workflow.Service, fn func(*workflow.Service) error) [2]error {
	var errs [2]error
	var wg sync.WaitGroup
	for i, svc := range nodes {
		wg.Go(func() { errs[i] = fn(svc) })
	}
	wg.Wait()
	return errs
}

// signAll has recipient r view, consent and sign every document of envID
// through svc.
func (e *env) signAll(svc *workflow.Service, envID, r string) (workflow.Progress, error) {
	ctx := context.Background()
	a := recipientActor(r)
	if _, err := svc.MarkViewed(ctx, a, envID); err != nil {
		return workflow.Progress{}, err
	}
	if _, err := svc.ConsentRecorded(ctx, a, envID); err != nil {
		return workflow.Progress{}, err
	}
	env, err := svc.RecipientContext(ctx, envID, r)
	if err != nil {
		return workflow.Progress{}, err
	}
	var p workflow.Progress
	for _, d := range env.Envelope.Documents {
		if p, err = e.signDocOn(svc, envID, r, d.DocumentID); err != nil {
			return workflow.Progress{}, err
		}
	}
	return p, nil
}

// transitionsTo counts envelope id's transitions to status.
func (e *env) transitionsTo(id string, status workflow.Status) int {
	e.t.Helper()
	ts, err := e.svc.History(context.Background(), actor("t1"), id)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, tr := range ts {
		if tr.To == status {
			n++
		}
	}
	return n
}

// eventsOf counts the audit events of type typ.
func (e *env) eventsOf(typ string) int {
	e.t.Helper()
	n := 0
	for _, ev := range e.events(0) {
		if strings.HasPrefix(ev, typ+":") {
			n++
		}
	}
	return n
}

// busy checks that exactly one of errs is ErrBusy and the other nil.
func busy(t *testing.T, errs [2]error) {
	t.Helper()
	n := 0
	for _, err := range errs {
		switch {
		case errors.Is(err, workflow.ErrBusy):
			n++
		case err != nil:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if n != 1 {
		t.Fatalf("errors %v, want exactly one ErrBusy", errs)
	}
}

func TestNodesCompleteOnce(t *testing.T) {
	e, other, loads, locks := newNodes(t, true)
	nodes := [2]*workflow.Service{e.svc, other}
	ctx := context.Background()
	d1, d2 := e.upload("t1", "one"), e.upload("t1", "two")
	env := e.draft("t1", []string{d1.ID, d2.ID}, "signer:1", "signer:1", "cc:2")
	if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
		t.Fatal(err)
	}
	e.outbox.take()

	// The two signers sign at once, each on a node.
	var progress [2]workflow.Progress
	errs := race(nodes, func(svc *workflow.Service) error {
		i := slices.Index(nodes[:], svc)
		p, err := e.signAll(svc, env.ID, env.Recipients[i].ID)
		progress[i] = p
		return err
	})
	if errs != [2]error{} {
		t.Fatalf("signatures: %v", errs)
	}
	if progress[0].ReadyToComplete == progress[1].ReadyToComplete {
		t.Fatalf("progress %+v: exactly one signature should find the envelope ready", progress)
	}
	// Both nodes see every signer done and complete at once (the last
	// signer's request on one, the scheduler on the other).
	loads.arm(env.ID, 1)
	var done [2]*workflow.Envelope
	errs = race(nodes, func(svc *workflow.Service) error {
		var err error
		done[slices.Index(nodes[:], svc)], err = svc.Complete(ctx, env.ID)
		return err
	})
	if errs != [2]error{} {
		t.Fatalf("Complete: %v", errs)
	}
	for _, d := range done {
		if d.Status != workflow.StatusCompleted || d.Version != done[0].Version {
			t.Fatalf("Complete answered %s v%d and %s v%d", done[0].Status, done[0].Version, d.Status, d.Version)
		}
	}
	if n := e.sealer.calls.Load(); n != 1 {
		t.Fatalf("sealed %d times, want once", n)
	}
	if n := e.eventsOf("envelope.completed"); n != 1 {
		t.Fatalf("%d envelope.completed events, want 1", n)
	}
	if n := e.transitionsTo(env.ID, workflow.StatusCompleted); n != 1 {
		t.Fatalf("%d transitions to completed, want 1", n)
	}
	if got := kinds(e.outbox.take()); !slices.Equal(got, []string{"completed:R0", "completed:R1", "completed:R2"}) {
		t.Fatalf("notified %v, want one completion notice each", got)
	}
	// Two originals, two signatures on each, one seal on each: the
	// sealed version is the only one.
	if c := e.counts(); c.blobs != 2+4+2 {
		t.Fatalf("%d blobs, want 8 (one sealed version per document)", c.blobs)
	}
	for _, key := range []string{"document/" + d1.ID, "document/" + d2.ID, "envelope/" + env.ID} {
		if locks.count(key) == 0 {
			t.Errorf("lock %q never taken from the configured Locker", key)
		}
	}
}

// Without a shared lock both nodes seal, but the stored version decides:
// one completion is stored and notified, the other node gets ErrBusy.
func TestNodesCompleteWithoutSharedLock(t *testing.T) {
	e, other, loads, _ := newNodes(t, false)
	nodes := [2]*workflow.Service{e.svc, other}
	ctx := context.Background()
	d := e.upload("t1", "one")
	env := e.draft("t1", []string{d.ID}, "signer:1", "cc:2")
	if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
		t.Fatal(err)
	}
	if p, err := e.signAll(other, env.ID, env.Recipients[0].ID); err != nil || !p.ReadyToComplete {
		t.Fatalf("sign: %+v %v", p, err)
	}
	e.outbox.take()
	// Complete loads the envelope before the document locks and again
	// under the envelope's: both loads of both nodes meet.
	loads.arm(env.ID, 2)
	busy(t, race(nodes, func(svc *workflow.Service) error {
		_, err := svc.Complete(ctx, env.ID)
		return err
	}))
	if got := e.get(env.ID); got.Status != workflow.StatusCompleted {
		t.Fatalf("status %s", got.Status)
	}
	if n := e.transitionsTo(env.ID, workflow.StatusCompleted); n != 1 {
		t.Fatalf("%d transitions to completed, want 1", n)
	}
	if got := kinds(e.outbox.take()); !slices.Equal(got, []string{"completed:R0", "completed:R1"}) {
		t.Fatalf("notified %v, want one completion notice each", got)
	}
}

func TestNodesRemindOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shared bool
		// rounds of loads that meet: under a shared lock only the load
		// before it can; without one, also the load under the node's own.
		rounds int
	}{
		{"shared lock", true, 1},
		{"no shared lock", false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, other, loads, _ := newNodes(t, tc.shared)
			nodes := [2]*workflow.Service{e.svc, other}
			ctx := context.Background()
			d := e.upload("t1", "one")
			env := e.draft("t1", []string{d.ID}, "signer:1", "signer:1", "signer:2") // reminders every 24 h
			if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
				t.Fatal(err)
			}
			e.outbox.take()
			for round := range 3 {
				e.clock.Advance(25 * time.Hour)
				loads.arm(env.ID, tc.rounds)
				errs := race(nodes, func(svc *workflow.Service) error {
					_, err := svc.Tick(ctx)
					return err
				})
				if errs != [2]error{} {
					t.Fatalf("round %d: Tick: %v", round, errs)
				}
				if got := kinds(e.outbox.take()); !slices.Equal(got, []string{"reminder:R0", "reminder:R1"}) {
					t.Fatalf("round %d: sent %v, want one reminder to each active recipient", round, got)
				}
			}
		})
	}
}

// A reminder that fails is sent again at the next tick, by whichever node.
func TestNodesReminderRetried(t *testing.T) {
	e, other, _, _ := newNodes(t, true)
	ctx := context.Background()
	d := e.upload("t1", "one")
	env := e.draft("t1", []string{d.ID}, "signer:1")
	if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
		t.Fatal(err)
	}
	e.outbox.take()
	e.clock.Advance(25 * time.Hour)
	e.outbox.failing.Store(true)
	if _, err := e.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.get(env.ID).Recipients[0].RemindedAt; !got.IsZero() {
		t.Fatalf("a failed reminder stays recorded at %v", got)
	}
	e.outbox.failing.Store(false)
	if _, err := other.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if got := kinds(e.outbox.take()); !slices.Equal(got, []string{"reminder:R0"}) {
		t.Fatalf("retry sent %v", got)
	}
	if got := e.get(env.ID).Recipients[0].RemindedAt; !got.Equal(e.clock.Now()) {
		t.Fatalf("reminder recorded at %v, want %v", got, e.clock.Now())
	}
}

func TestNodesExpireOnce(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shared bool
		rounds int
	}{
		{"shared lock", true, 1},
		{"no shared lock", false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, other, loads, _ := newNodes(t, tc.shared)
			nodes := [2]*workflow.Service{e.svc, other}
			ctx := context.Background()
			d := e.upload("t1", "one")
			env := e.draft("t1", []string{d.ID}, "signer:1", "signer:1", "signer:2")
			if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
				t.Fatal(err)
			}
			e.outbox.take()
			e.clock.Advance(workflow.DefaultExpiry + time.Hour)
			loads.arm(env.ID, tc.rounds)
			errs := race(nodes, func(svc *workflow.Service) error {
				_, err := svc.Tick(ctx)
				return err
			})
			if tc.shared {
				if errs != [2]error{} {
					t.Fatalf("Tick: %v", errs)
				}
				// One event: the second node found the envelope expired.
				if n := e.eventsOf("envelope.expired"); n != 1 {
					t.Fatalf("%d envelope.expired events, want 1", n)
				}
			} else {
				// The losing node may have recorded its event before its
				// write failed (see mutate); its change was not stored.
				busy(t, errs)
			}
			if got := e.get(env.ID).Status; got != workflow.StatusExpired {
				t.Fatalf("status %s", got)
			}
			if n := e.transitionsTo(env.ID, workflow.StatusExpired); n != 1 {
				t.Fatalf("%d transitions to expired, want 1", n)
			}
			if got := kinds(e.outbox.take()); !slices.Equal(got, []string{"ended:R0", "ended:R1"}) {
				t.Fatalf("notified %v, want one notice to each contacted recipient", got)
			}
		})
	}
}
