// Package storetest is the conformance suite of [webhook.Store]: every
// driver (internal/webhook/sqlite, internal/webhook/postgres) runs it.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/webhook"
)

// Open returns two stores over one fresh database (two "nodes": two
// pools, or two handles of the driver's single writer).
type Open func(t *testing.T) (a, b webhook.Store)

// Run runs the suite.
func Run(t *testing.T, open Open) {
	t.Run("Endpoints", func(t *testing.T) { a, _ := open(t); testEndpoints(t, a) })
	t.Run("OutboxAndAttempts", func(t *testing.T) { a, _ := open(t); testOutbox(t, a) })
	t.Run("ClaimsAreExclusive", func(t *testing.T) { a, b := open(t); testClaims(t, a, b) })
	t.Run("LostClaim", func(t *testing.T) { a, b := open(t); testLostClaim(t, a, b) })
	t.Run("RetryAndPrune", func(t *testing.T) { a, _ := open(t); testRetryPrune(t, a) })
	t.Run("SigningKeyOnce", func(t *testing.T) { a, b := open(t); testSigningKey(t, a, b) })
}

var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func endpoint(id, tenant string, events ...string) *webhook.Endpoint {
	return &webhook.Endpoint{ID: id, Tenant: tenant, URL: "https://" + id + ".example/hook", Events: events, Enabled: true,
		Secret: []byte("sealed-" + id), CreatedAt: base, UpdatedAt: base}
}

func message(t *testing.T, tenant, typ string, at time.Time) webhook.Message {
	t.Helper()
	m, err := webhook.NewMessage(tenant, typ, at, map[string]string{"envelope_id": "env"})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func testEndpoints(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	e := endpoint("wh_1", "t1", webhook.EventEnvelopeSent, webhook.EventEnvelopeCompleted)
	if err := s.InsertEndpoint(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertEndpoint(ctx, endpoint("wh_2", "t1")); err != nil {
		t.Fatal(err)
	}
	got, err := s.Endpoint(ctx, "t1", "wh_1")
	if err != nil {
		t.Fatal(err)
	}
	if got.URL != e.URL || !slices.Equal(got.Events, e.Events) || !got.Enabled || got.Failing ||
		!bytes.Equal(got.Secret, e.Secret) || got.PreviousSecret != nil || !got.CreatedAt.Equal(base) {
		t.Fatalf("endpoint %+v", got)
	}
	if _, err := s.Endpoint(ctx, "t2", "wh_1"); !errors.Is(err, webhook.ErrNoRecord) {
		t.Fatalf("other tenant: %v", err)
	}
	got.Enabled, got.Events = false, nil
	got.PreviousSecret, got.PreviousUntil = []byte("sealed-old"), base.Add(time.Hour)
	got.UpdatedAt = base.Add(time.Minute)
	if err := s.UpdateEndpoint(ctx, got); err != nil {
		t.Fatal(err)
	}
	again, _ := s.Endpoint(ctx, "t1", "wh_1")
	if again.Enabled || len(again.Events) != 0 || string(again.PreviousSecret) != "sealed-old" || !again.PreviousUntil.Equal(base.Add(time.Hour)) {
		t.Fatalf("updated %+v", again)
	}
	wrong := *again
	wrong.Tenant = "t2"
	if err := s.UpdateEndpoint(ctx, &wrong); !errors.Is(err, webhook.ErrNoRecord) {
		t.Fatalf("update by another tenant: %v", err)
	}
	list, err := s.Endpoints(ctx, "t1", 10)
	if err != nil || len(list) != 2 {
		t.Fatalf("list %d %v", len(list), err)
	}
	if list, _ := s.Endpoints(ctx, "t1", 1); len(list) != 1 {
		t.Fatal("limit ignored")
	}
	if err := s.DeleteEndpoint(ctx, "t2", "wh_1"); !errors.Is(err, webhook.ErrNoRecord) {
		t.Fatalf("delete by another tenant: %v", err)
	}
	if err := s.DeleteEndpoint(ctx, "t1", "wh_1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Endpoint(ctx, "t1", "wh_1"); !errors.Is(err, webhook.ErrNoRecord) {
		t.Fatalf("after delete: %v", err)
	}
}

func testOutbox(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	for _, e := range []*webhook.Endpoint{
		endpoint("wh_all", "t1"),
		endpoint("wh_sent", "t1", webhook.EventEnvelopeSent),
		endpoint("wh_other", "t2"),
	} {
		if err := s.InsertEndpoint(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	off := endpoint("wh_off", "t1")
	off.Enabled = false
	if err := s.InsertEndpoint(ctx, off); err != nil {
		t.Fatal(err)
	}
	sent := message(t, "t1", webhook.EventEnvelopeSent, base)
	done := message(t, "t1", webhook.EventEnvelopeCompleted, base.Add(time.Second))
	none := message(t, "t3", webhook.EventEnvelopeCompleted, base)
	if err := s.Enqueue(ctx, []webhook.Message{sent, done, none}); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, base.Add(time.Minute), base.Add(time.Hour), 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range claimed {
		got = append(got, c.EndpointID+" "+c.MessageID)
		if c.Claim == "" || c.Endpoint.ID != c.EndpointID || len(c.Payload) == 0 || c.Attempts != 0 || c.Status != webhook.StatusPending {
			t.Errorf("claimed %+v", c)
		}
	}
	slices.Sort(got)
	want := []string{"wh_all " + done.ID, "wh_all " + sent.ID, "wh_sent " + sent.ID}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("claimed %v, want %v", got, want)
	}
	// Claimed: not claimable again while the lease lasts.
	if again, _ := s.Claim(ctx, base.Add(2*time.Minute), base.Add(4*time.Minute), 10); len(again) != 0 {
		t.Fatalf("claimed twice: %d", len(again))
	}
	c := claimed[0]
	a := webhook.Attempt{EndpointID: c.EndpointID, MessageID: c.MessageID, At: base.Add(time.Minute), StatusCode: 503,
		Latency: 42 * time.Millisecond, Error: "status 503", Response: "busy"}
	if err := s.Record(ctx, c.Claim, a, webhook.Outcome{Status: webhook.StatusPending, NextAttempt: base.Add(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	// A recorded delivery is released: due again at its next attempt,
	// not before.
	if cs, _ := s.Claim(ctx, base.Add(5*time.Minute), base.Add(6*time.Minute), 10); len(cs) != 0 {
		t.Fatalf("claimed before its next attempt: %d", len(cs))
	}
	cs, err := s.Claim(ctx, base.Add(10*time.Minute), base.Add(12*time.Minute), 10)
	if err != nil || len(cs) != 1 || cs[0].MessageID != c.MessageID || cs[0].Attempts != 1 {
		t.Fatalf("reclaim %+v %v", cs, err)
	}
	a2 := a
	a2.At, a2.StatusCode, a2.Error, a2.Response = base.Add(10*time.Minute), 204, "", ""
	if err := s.Record(ctx, cs[0].Claim, a2, webhook.Outcome{Status: webhook.StatusDelivered}); err != nil {
		t.Fatal(err)
	}
	ds, atts, err := s.Deliveries(ctx, "t1", c.EndpointID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var d *webhook.Delivery
	for i := range ds {
		if ds[i].MessageID == c.MessageID {
			d = &ds[i]
		}
	}
	if d == nil || d.Status != webhook.StatusDelivered || d.Attempts != 2 {
		t.Fatalf("delivery %+v", ds)
	}
	la := atts[c.MessageID]
	if len(la) != 2 || la[0].N != 1 || la[1].N != 2 || la[0].StatusCode != 503 || la[0].Latency != 42*time.Millisecond ||
		la[0].Error != "status 503" || la[0].Response != "busy" || !la[0].At.Equal(a.At) || la[1].StatusCode != 204 {
		t.Fatalf("attempts %+v", la)
	}
	if _, _, err := s.Deliveries(ctx, "t2", c.EndpointID, 10); err != nil {
		t.Fatal(err)
	} else if ds2, _, _ := s.Deliveries(ctx, "t2", c.EndpointID, 10); len(ds2) != 0 {
		t.Fatal("another tenant sees the deliveries")
	}
	// Newest first.
	if all, _, err := s.Deliveries(ctx, "t1", "wh_all", 10); err != nil || len(all) != 2 || all[0].MessageID != done.ID || all[1].MessageID != sent.ID {
		t.Fatalf("wh_all's deliveries, newest first: %+v %v", all, err)
	}
	// Dead-lettering marks the endpoint failing.
	other := claimed[1]
	if other.MessageID == c.MessageID && other.EndpointID == c.EndpointID {
		other = claimed[2]
	}
	err = s.Record(ctx, other.Claim, webhook.Attempt{EndpointID: other.EndpointID, MessageID: other.MessageID, At: base.Add(time.Minute), Error: "timeout"},
		webhook.Outcome{Status: webhook.StatusDead})
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Endpoint(ctx, "t1", other.EndpointID); !e.Failing {
		t.Fatal("endpoint not failing after a dead letter")
	}
	// Disabled endpoints' deliveries wait.
	if err := s.InsertEndpoint(ctx, endpoint("wh_late", "t4")); err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, []webhook.Message{message(t, "t4", webhook.EventKeyRotated, base)}); err != nil {
		t.Fatal(err)
	}
	late, _ := s.Endpoint(ctx, "t4", "wh_late")
	late.Enabled = false
	if err := s.UpdateEndpoint(ctx, late); err != nil {
		t.Fatal(err)
	}
	if cs, _ := s.Claim(ctx, base.Add(30*time.Minute), base.Add(31*time.Minute), 10); len(cs) != 0 {
		t.Fatalf("claimed a disabled endpoint's delivery: %+v", cs)
	}
}

func testClaims(t *testing.T, a, b webhook.Store) {
	ctx := context.Background()
	if err := a.InsertEndpoint(ctx, endpoint("wh_1", "t1")); err != nil {
		t.Fatal(err)
	}
	if err := a.InsertEndpoint(ctx, endpoint("wh_2", "t1")); err != nil {
		t.Fatal(err)
	}
	const n = 60
	var msgs []webhook.Message
	for i := range n {
		msgs = append(msgs, message(t, "t1", webhook.EventEnvelopeSent, base.Add(time.Duration(i)*time.Millisecond)))
	}
	if err := b.Enqueue(ctx, msgs); err != nil {
		t.Fatal(err)
	}
	// Two nodes claim concurrently, in small batches: every delivery is
	// claimed exactly once.
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		s := a
		if w%2 == 1 {
			s = b
		}
		wg.Go(func() {
			for {
				cs, err := s.Claim(ctx, base.Add(time.Hour), base.Add(2*time.Hour), 7)
				if err != nil {
					errs <- err
					return
				}
				if len(cs) == 0 {
					return
				}
				mu.Lock()
				for _, c := range cs {
					seen[c.EndpointID+" "+c.MessageID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != 2*n {
		t.Fatalf("%d deliveries claimed, want %d", len(seen), 2*n)
	}
	for k, c := range seen {
		if c != 1 {
			t.Fatalf("%s claimed %d times", k, c)
		}
	}
}

func testLostClaim(t *testing.T, a, b webhook.Store) {
	ctx := context.Background()
	if err := a.InsertEndpoint(ctx, endpoint("wh_1", "t1")); err != nil {
		t.Fatal(err)
	}
	if err := a.Enqueue(ctx, []webhook.Message{message(t, "t1", webhook.EventEnvelopeVoided, base)}); err != nil {
		t.Fatal(err)
	}
	first, err := a.Claim(ctx, base, base.Add(time.Minute), 1)
	if err != nil || len(first) != 1 {
		t.Fatal(first, err)
	}
	// The lease lapses (the first node died); the other node takes it.
	second, err := b.Claim(ctx, base.Add(2*time.Minute), base.Add(3*time.Minute), 1)
	if err != nil || len(second) != 1 || second[0].Claim == first[0].Claim {
		t.Fatal(second, err)
	}
	c := first[0]
	at := webhook.Attempt{EndpointID: c.EndpointID, MessageID: c.MessageID, At: base.Add(2 * time.Minute), StatusCode: 204}
	if err := a.Record(ctx, c.Claim, at, webhook.Outcome{Status: webhook.StatusDelivered}); !errors.Is(err, webhook.ErrLostClaim) {
		t.Fatalf("record under a lost claim: %v", err)
	}
	if err := b.Record(ctx, second[0].Claim, at, webhook.Outcome{Status: webhook.StatusDelivered}); err != nil {
		t.Fatal(err)
	}
}

func testRetryPrune(t *testing.T, s webhook.Store) {
	ctx := context.Background()
	if err := s.InsertEndpoint(ctx, endpoint("wh_1", "t1")); err != nil {
		t.Fatal(err)
	}
	m := message(t, "t1", webhook.EventEnvelopeExpired, base)
	if n, err := s.Backlog(ctx); err != nil || n != 0 {
		t.Fatalf("backlog before enqueueing: %d, %v", n, err)
	}
	if err := s.Enqueue(ctx, []webhook.Message{m}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Backlog(ctx); err != nil || n != 1 {
		t.Fatalf("backlog after enqueueing: %d, %v", n, err)
	}
	cs, _ := s.Claim(ctx, base, base.Add(time.Minute), 1)
	if len(cs) != 1 {
		t.Fatal("nothing claimed")
	}
	if err := s.Record(ctx, cs[0].Claim, webhook.Attempt{EndpointID: "wh_1", MessageID: m.ID, At: base, Error: "timeout"},
		webhook.Outcome{Status: webhook.StatusDead}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Backlog(ctx); err != nil || n != 0 {
		t.Fatalf("backlog with the delivery dead: %d, %v", n, err)
	}
	if err := s.Retry(ctx, "t2", "wh_1", m.ID, base.Add(time.Hour)); !errors.Is(err, webhook.ErrNoRecord) {
		t.Fatalf("retry by another tenant: %v", err)
	}
	if err := s.Retry(ctx, "t1", "wh_1", m.ID, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	cs, _ = s.Claim(ctx, base.Add(time.Hour), base.Add(2*time.Hour), 1)
	if len(cs) != 1 || cs[0].MessageID != m.ID {
		t.Fatal("retried delivery not due")
	}
	if err := s.Record(ctx, cs[0].Claim, webhook.Attempt{EndpointID: "wh_1", MessageID: m.ID, At: base.Add(time.Hour), StatusCode: 200},
		webhook.Outcome{Status: webhook.StatusDelivered}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Prune(ctx, base.Add(30*time.Minute)); err != nil || n != 0 {
		t.Fatalf("pruned %d (%v) before the cut-off", n, err)
	}
	if n, err := s.Prune(ctx, base.Add(2*time.Hour)); err != nil || n != 1 {
		t.Fatalf("pruned %d (%v)", n, err)
	}
	if ds, _, _ := s.Deliveries(ctx, "t1", "wh_1", 10); len(ds) != 0 {
		t.Fatal("pruned delivery still listed")
	}
}

func testSigningKey(t *testing.T, a, b webhook.Store) {
	ctx := context.Background()
	if _, err := a.SigningKey(ctx, "t1"); !errors.Is(err, webhook.ErrNoRecord) {
		t.Fatalf("missing key: %v", err)
	}
	var wg sync.WaitGroup
	got := make([][]byte, 6)
	for i := range got {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			k, err := s.InsertSigningKey(ctx, "t1", []byte(fmt.Sprintf("sealed-%d", i)), base)
			if err != nil {
				t.Error(err)
			}
			got[i] = k
		})
	}
	wg.Wait()
	for _, k := range got[1:] {
		if !bytes.Equal(k, got[0]) {
			t.Fatalf("creators disagree: %q vs %q", k, got[0])
		}
	}
	if k, err := b.SigningKey(ctx, "t1"); err != nil || !bytes.Equal(k, got[0]) {
		t.Fatalf("stored key %q %v", k, err)
	}
}
