package auditlog_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"golang.org/x/mod/sumdb/tlog"
)

// TestAppendConcurrent appends from many goroutines and checks that the
// indexes are unique and dense, times increase with the index, and the
// result verifies.
func TestAppendConcurrent(t *testing.T) {
	s := auditlog.NewMemStore()
	signer, verifier := newKey(t)
	pub, err := auditlog.NewPublisher(s, auditlog.PublisherConfig{Origin: origin, Signer: signer, Every: 100})
	if err != nil {
		t.Fatal(err)
	}
	l := newLog(t, s, auditlog.Config{Publisher: pub, MaxBatch: 16})
	const workers, each = 64, 20
	seen := make([]atomic.Bool, workers*each)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				idx, err := l.Append(context.Background(), event(w*each+i))
				if err != nil {
					t.Error(err)
					return
				}
				if seen[idx].Swap(true) {
					t.Errorf("index %d returned twice", idx)
				}
			}
		}()
	}
	wg.Wait()
	if err := l.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range seen {
		if !seen[i].Load() {
			t.Fatalf("index %d never returned", i)
		}
	}
	recs, err := s.Records(context.Background(), 0, workers*each)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(recs); i++ {
		if !recs[i].Time.After(recs[i-1].Time) {
			t.Fatalf("time of %d (%v) is not after %d (%v)", i, recs[i].Time, i-1, recs[i-1].Time)
		}
	}
	res, err := auditlog.Verify(context.Background(), s, auditlog.VerifyOptions{Verifier: verifier, Origin: origin})
	if err != nil || res.Size != workers*each || res.Unsigned != 0 {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
	if _, err := l.Append(context.Background(), event(0)); !errors.Is(err, auditlog.ErrClosed) {
		t.Fatalf("Append after Shutdown: %v, want ErrClosed", err)
	}
}

// TestClockNeverGoesBack steps the wall clock back, also across a
// restart, and checks that event times still increase.
func TestClockNeverGoesBack(t *testing.T) {
	s := auditlog.NewMemStore()
	var mu sync.Mutex
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	step := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	ctx := context.Background()
	l := newLog(t, s, auditlog.Config{Now: clock})
	for _, d := range []time.Duration{0, time.Second, -time.Hour, 0, time.Minute} {
		step(d)
		if _, err := l.Append(ctx, event(1)); err != nil {
			t.Fatal(err)
		}
	}
	l.Shutdown(ctx)
	step(-24 * time.Hour)
	l2 := newLog(t, s, auditlog.Config{Now: clock})
	if _, err := l2.Append(ctx, event(2)); err != nil {
		t.Fatal(err)
	}
	recs, _ := s.Records(ctx, 0, 100)
	if len(recs) != 6 {
		t.Fatalf("%d records", len(recs))
	}
	for i := 1; i < len(recs); i++ {
		h0, _ := auditlog.ParseLeafHeader(recs[i-1].Leaf)
		h1, _ := auditlog.ParseLeafHeader(recs[i].Leaf)
		if !h1.Time.After(h0.Time) || !recs[i].Time.Equal(h1.Time) {
			t.Fatalf("leaf time %d = %v after %v", i, h1.Time, h0.Time)
		}
	}
}

// failingStore fails Append while fail is set, storing nothing.
type failingStore struct {
	*auditlog.MemStore
	fail atomic.Bool
}

func (f *failingStore) Append(ctx context.Context, recs []auditlog.Record, hs []auditlog.HashEntry) error {
	if f.fail.Load() {
		return errors.New("disk full")
	}
	return f.MemStore.Append(ctx, recs, hs)
}

// TestFailClosed checks that a failed write fails every Append of its
// batch and that the log continues correctly afterwards.
func TestFailClosed(t *testing.T) {
	fs := &failingStore{MemStore: auditlog.NewMemStore()}
	ctx := context.Background()
	l := newLog(t, fs, auditlog.Config{})
	for i := 0; i < 5; i++ {
		if _, err := l.Append(ctx, event(i)); err != nil {
			t.Fatal(err)
		}
	}
	fs.fail.Store(true)
	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.Record(ctx, event(i)); err != nil {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 20 {
		t.Fatalf("%d of 20 appends failed while storage failed", failed.Load())
	}
	fs.fail.Store(false)
	idx, err := l.Append(ctx, event(99))
	if err != nil || idx != 5 {
		t.Fatalf("Append after recovery = %d, %v; want 5", idx, err)
	}
	signer, verifier := newKey(t)
	pub, _ := auditlog.NewPublisher(fs, auditlog.PublisherConfig{Origin: origin, Signer: signer})
	if _, err := pub.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := auditlog.Verify(ctx, fs, auditlog.VerifyOptions{Verifier: verifier}); err != nil {
		t.Fatal(err)
	}
}

func TestEventValidation(t *testing.T) {
	ok := event(1)
	tests := []struct {
		name   string
		mutate func(e *auditlog.Event)
		ok     bool
	}{
		{"valid", func(e *auditlog.Event) {}, true},
		{"system actor without id", func(e *auditlog.Event) { e.Actor = auditlog.Actor{Kind: auditlog.ActorSystem} }, true},
		{"unknown type", func(e *auditlog.Event) { e.Type = "document.teleported" }, false},
		{"empty type", func(e *auditlog.Event) { e.Type = "" }, false},
		{"unknown actor kind", func(e *auditlog.Event) { e.Actor.Kind = "robot" }, false},
		{"user without id", func(e *auditlog.Event) { e.Actor = auditlog.Actor{Kind: auditlog.ActorUser} }, false},
		{"unknown outcome", func(e *auditlog.Event) { e.Outcome = "maybe" }, false},
		{"bad decision", func(e *auditlog.Event) { e.Policy.Decision = "perhaps" }, false},
		{"bad document hash", func(e *auditlog.Event) { e.Subject.DocumentSHA256 = "abc" }, false},
		{"longest envelope id", func(e *auditlog.Event) { e.Subject.EnvelopeID = strings.Repeat("e", auditlog.MaxEnvelopeID) }, true},
		{"envelope id too long", func(e *auditlog.Event) { e.Subject.EnvelopeID = strings.Repeat("e", auditlog.MaxEnvelopeID+1) }, false},
		{"envelope id with NUL", func(e *auditlog.Event) { e.Subject.EnvelopeID = "env\x00" }, false},
		{"envelope id not UTF-8", func(e *auditlog.Event) { e.Subject.EnvelopeID = "env\xff" }, false},
	}
	s := auditlog.NewMemStore()
	l := newLog(t, s, auditlog.Config{})
	for _, tt := range tests {
		e := ok
		tt.mutate(&e)
		err := e.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%s: Validate = %v", tt.name, err)
		}
		_, aerr := l.Append(context.Background(), e)
		if (aerr == nil) != tt.ok || (!tt.ok && !errors.Is(aerr, auditlog.ErrInvalidEvent)) {
			t.Errorf("%s: Append = %v", tt.name, aerr)
		}
	}
}

// TestSensitiveValues checks that clear values stay out of the leaf, can
// be matched by HMAC, unsealed with the tenant key, and shredded without
// breaking verification.
func TestSensitiveValues(t *testing.T) {
	s := auditlog.NewMemStore()
	keys := testKeys(t)
	ctx := context.Background()
	l := newLog(t, s, auditlog.Config{Keys: keys})
	e := event(7)
	e.Sensitive = map[string]string{"name": "Ada Lovelace"}
	e.Details = map[string]string{"note": "actor.email"}
	idx, err := l.Append(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := s.Records(ctx, idx, idx+1)
	if err != nil || len(rec) != 1 {
		t.Fatal(err)
	}
	leaf := string(rec[0].Leaf)
	for _, clear := range []string{e.Actor.Email, e.Request.IP, "Ada Lovelace"} {
		if strings.Contains(leaf, clear) {
			t.Errorf("leaf holds the clear value %q: %s", clear, leaf)
		}
	}
	if !strings.Contains(leaf, `"note":"actor.email"`) {
		t.Errorf("non-sensitive detail was altered: %s", leaf)
	}
	mac, _, err := keys.Keys(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(leaf, auditlog.MatchValue(mac, e.Actor.Email)) {
		t.Errorf("leaf lacks the HMAC of the actor email: %s", leaf)
	}
	other, _, _ := keys.Keys(ctx, "other-tenant")
	if strings.Contains(leaf, auditlog.MatchValue(other, e.Actor.Email)) {
		t.Errorf("HMAC is not per tenant")
	}
	clear, err := auditlog.Unseal(ctx, keys, rec[0])
	if err != nil || clear["actor.email"] != e.Actor.Email || clear["request.ip"] != e.Request.IP || clear["sensitive.name"] != "Ada Lovelace" {
		t.Fatalf("Unseal = %v, %v", clear, err)
	}
	forged := rec[0]
	forged.ID = "another-event"
	if _, err := auditlog.Unseal(ctx, keys, forged); err == nil {
		t.Errorf("sealed values opened under another event id")
	}
	keys.Destroy("acme")
	if _, err := auditlog.Unseal(ctx, keys, rec[0]); !errors.Is(err, auditlog.ErrKeyDestroyed) {
		t.Errorf("Unseal after shredding: %v", err)
	}
	if _, err := l.Append(ctx, e); !errors.Is(err, auditlog.ErrKeyDestroyed) {
		t.Errorf("Append for a shredded tenant: %v", err)
	}
	signer, verifier := newKey(t)
	pub, _ := auditlog.NewPublisher(s, auditlog.PublisherConfig{Origin: origin, Signer: signer})
	pub.Publish(ctx)
	if _, err := auditlog.Verify(ctx, s, auditlog.VerifyOptions{Verifier: verifier}); err != nil {
		t.Fatalf("Verify after shredding: %v", err)
	}
}

// TestPublisherRefusesFork gives the publisher a store whose tree does not
// extend the stored checkpoint.
func TestPublisherRefusesFork(t *testing.T) {
	ctx := context.Background()
	signer, _ := newKey(t)
	a := storeLeaves(t, validLeaves(10))
	pa, _ := auditlog.NewPublisher(a, auditlog.PublisherConfig{Origin: origin, Signer: signer})
	cp, err := pa.Publish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leaves := validLeaves(12)
	leaves[3] = bytes.Replace(leaves[3], []byte("success"), []byte("failure"), 1)
	b := storeLeaves(t, leaves)
	if err := b.AddCheckpoint(ctx, cp); err != nil {
		t.Fatal(err)
	}
	pb, _ := auditlog.NewPublisher(b, auditlog.PublisherConfig{Origin: origin, Signer: signer})
	if _, err := pb.Publish(ctx); !errors.Is(err, auditlog.ErrInconsistent) {
		t.Fatalf("Publish over a forked tree: %v, want ErrInconsistent", err)
	}
	cps, _ := b.Checkpoints(ctx)
	if len(cps) != 1 {
		t.Fatalf("a checkpoint was stored for the forked tree")
	}
}

// anchorer records its calls and returns one anchor.
type anchorer struct {
	calls []int64
	prev  []int64
	fail  bool
}

func (a *anchorer) Anchor(ctx context.Context, cp, prev auditlog.Checkpoint, proof tlog.TreeProof) ([]auditlog.Anchor, error) {
	a.calls = append(a.calls, cp.Size)
	a.prev = append(a.prev, prev.Size)
	if prev.Size > 0 {
		th, _ := auditlog.ParseCheckpointUnverified(cp.Note)
		ph, _ := auditlog.ParseCheckpointUnverified(prev.Note)
		if err := auditlog.CheckConsistency(ph, th, proof); err != nil {
			return nil, err
		}
	}
	if a.fail {
		return nil, errors.New("witness unreachable")
	}
	return []auditlog.Anchor{{Kind: "sink", Name: "test", Data: cp.Note, Time: time.Unix(1, 0)}}, nil
}

// TestPublisherAnchors checks the anchor hook, its consistency proofs and
// that failures are counted without unpublishing; then CheckAnchor.
func TestPublisherAnchors(t *testing.T) {
	ctx := context.Background()
	s := auditlog.NewMemStore()
	signer, verifier := newKey(t)
	good, bad := &anchorer{}, &anchorer{fail: true}
	pub, _ := auditlog.NewPublisher(s, auditlog.PublisherConfig{Origin: origin, Signer: signer, Anchorers: []auditlog.Anchorer{good, bad}, Logger: slog.New(slog.DiscardHandler)})
	l := newLog(t, s, auditlog.Config{})
	for _, n := range []int{3, 5, 5, 9} {
		for int(l.Size()) < n {
			l.Append(ctx, event(n))
		}
		if _, err := pub.Publish(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if want := []int64{3, 5, 9}; len(good.calls) != 3 || good.calls[2] != 9 || good.prev[2] != 5 {
		t.Fatalf("anchor calls %v prev %v, want %v", good.calls, good.prev, want)
	}
	if pub.AnchorFailures() != 3 {
		t.Fatalf("AnchorFailures = %d, want 3", pub.AnchorFailures())
	}
	check := func(a auditlog.Anchor, cp auditlog.Checkpoint) error {
		if !bytes.Equal(a.Data, cp.Note) {
			return errors.New("anchor does not match")
		}
		return nil
	}
	res, err := auditlog.Verify(ctx, s, auditlog.VerifyOptions{Verifier: verifier, CheckAnchor: check})
	if err != nil || res.Anchors != 3 {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
	s.AddAnchor(ctx, auditlog.Anchor{Size: 5, Kind: "sink", Name: "forged", Data: []byte("x")})
	var te *auditlog.TamperError
	if _, err := auditlog.Verify(ctx, s, auditlog.VerifyOptions{Verifier: verifier, CheckAnchor: check}); !errors.As(err, &te) || te.Kind != auditlog.BadAnchor || te.Index != 5 {
		t.Fatalf("Verify with a forged anchor: %v", err)
	}
}

func TestPublisherLoop(t *testing.T) {
	ctx := context.Background()
	s := auditlog.NewMemStore()
	signer, _ := newKey(t)
	pub, _ := auditlog.NewPublisher(s, auditlog.PublisherConfig{Origin: origin, Signer: signer, Every: 10})
	pub.Start(ctx)
	l := newLog(t, s, auditlog.Config{Publisher: pub})
	for i := 0; i < 25; i++ {
		if _, err := l.Append(ctx, event(i)); err != nil {
			t.Fatal(err)
		}
		if i == 9 { // the loop publishes once 10 events are in
			for {
				if cps, _ := s.Checkpoints(ctx); len(cps) > 0 {
					break
				}
				time.Sleep(time.Millisecond)
			}
		}
	}
	l.Shutdown(ctx)
	if err := pub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	cps, _ := s.Checkpoints(ctx)
	if len(cps) < 2 || cps[len(cps)-1].Size != 25 {
		t.Fatalf("checkpoints %v, want at least one every 10 events and a final one at 25", len(cps))
	}
}

// selfRecordingAnchorer appends an event to the log while anchoring, as
// the built-in TSA records its key's use.
type selfRecordingAnchorer struct{ l *auditlog.Log }

func (a *selfRecordingAnchorer) Anchor(ctx context.Context, cp, _ auditlog.Checkpoint, _ tlog.TreeProof) ([]auditlog.Anchor, error) {
	if _, err := a.l.Append(ctx, event(int(cp.Size))); err != nil {
		return nil, err
	}
	return []auditlog.Anchor{{Kind: "rfc3161", Name: "tsa", Data: cp.Note, Time: time.Unix(1, 0)}}, nil
}

// TestPublisherIdleAfterAnchoring: on an idle log, the events a
// publication's anchoring appends do not make the interval publish again
// (and again); a real event does, and the final checkpoint covers all.
func TestPublisherIdleAfterAnchoring(t *testing.T) {
	ctx := context.Background()
	s := auditlog.NewMemStore()
	signer, _ := newKey(t)
	anc := &selfRecordingAnchorer{}
	pub, _ := auditlog.NewPublisher(s, auditlog.PublisherConfig{Origin: origin, Signer: signer, Interval: 5 * time.Millisecond,
		Anchorers: []auditlog.Anchorer{anc}, Logger: slog.New(slog.DiscardHandler)})
	l := newLog(t, s, auditlog.Config{Publisher: pub})
	anc.l = l
	pub.Start(ctx)
	checkpoints := func() int {
		cps, _ := s.Checkpoints(ctx)
		return len(cps)
	}
	waitFor := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); checkpoints() < n; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d checkpoints, want %d", checkpoints(), n)
			}
		}
	}
	if _, err := l.Append(ctx, event(1)); err != nil {
		t.Fatal(err)
	}
	waitFor(1)
	time.Sleep(100 * time.Millisecond) // twenty intervals
	if n := checkpoints(); n != 1 {
		t.Fatalf("an idle log published %d checkpoints over twenty intervals, want 1", n)
	}
	if _, err := l.Append(ctx, event(2)); err != nil {
		t.Fatal(err)
	}
	waitFor(2)
	l.Shutdown(ctx)
	if err := pub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	cps, _ := s.Checkpoints(ctx)
	size, _ := s.Size(ctx)
	if last := cps[len(cps)-1]; last.Size != size {
		t.Fatalf("final checkpoint at %d of %d events", last.Size, size)
	}
}

// logBound is an anchorer whose anchoring is recorded in the log itself.
type logBound struct{ anchorer }

func (*logBound) AnchorsThroughLog() bool { return true }

// TestPublisherShutdownSkipsLogBoundAnchorers: a log-bound anchorer (the
// built-in TSA) anchors every checkpoint published while the log records,
// but not the last one of Shutdown, which the others still anchor; no
// anchoring failure is counted for it.
func TestPublisherShutdownSkipsLogBoundAnchorers(t *testing.T) {
	ctx := context.Background()
	s := auditlog.NewMemStore()
	signer, _ := newKey(t)
	bound, sink := &logBound{}, &anchorer{}
	pub, _ := auditlog.NewPublisher(s, auditlog.PublisherConfig{Origin: origin, Signer: signer, Anchorers: []auditlog.Anchorer{bound, sink}, Logger: slog.New(slog.DiscardHandler)})
	l := newLog(t, s, auditlog.Config{})
	l.Append(ctx, event(1))
	if _, err := pub.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	l.Append(ctx, event(2))
	if err := l.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := pub.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if len(bound.calls) != 1 || bound.calls[0] != 1 {
		t.Errorf("log-bound anchorer called for sizes %v, want [1]", bound.calls)
	}
	if len(sink.calls) != 2 || sink.calls[1] != 2 {
		t.Errorf("other anchorer called for sizes %v, want [1 2]", sink.calls)
	}
	if pub.AnchorFailures() != 0 {
		t.Errorf("AnchorFailures = %d, want 0", pub.AnchorFailures())
	}
}
