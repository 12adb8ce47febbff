package auditlog_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"golang.org/x/mod/sumdb/tlog"
)

// prevRecorder records the previous checkpoint each publication passes
// to its anchorers.
type prevRecorder struct {
	mu    sync.Mutex
	prevs []int64
}

func (r *prevRecorder) Anchor(ctx context.Context, cp, prev auditlog.Checkpoint, proof tlog.TreeProof) ([]auditlog.Anchor, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prevs = append(r.prevs, prev.Size)
	return nil, nil
}

// TestPublisherRunTakesOver: a publisher that takes over (Run, as under
// a lease after another node held it) extends the latest stored
// checkpoint, not the one it knew when it last published.
func TestPublisherRunTakesOver(t *testing.T) {
	ctx := context.Background()
	s := auditlog.NewMemStore()
	signer, verifier := newKey(t)
	l := newLog(t, s, auditlog.Config{})
	rec := &prevRecorder{}
	first, _ := auditlog.NewPublisher(s, auditlog.PublisherConfig{Origin: origin, Signer: signer})
	second, _ := auditlog.NewPublisher(s, auditlog.PublisherConfig{Origin: origin, Signer: signer, Interval: 10 * time.Millisecond, Anchorers: []auditlog.Anchorer{rec}})
	for i := range 3 {
		if _, err := l.Append(ctx, event(i)); err != nil {
			t.Fatal(err)
		}
	}
	// The second publisher publishes at 3, then the first node takes
	// the lease and publishes at 6.
	if _, err := second.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		l.Append(ctx, event(10+i))
	}
	if _, err := first.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		l.Append(ctx, event(20+i))
	}
	// The second takes the lease back: its next checkpoint (at 9)
	// extends the first's (6), not its own last (3).
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { second.Run(runCtx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		cps, err := s.Checkpoints(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cps[len(cps)-1].Size == 9 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint at 9: %d checkpoints", len(cps))
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.prevs) != 2 || rec.prevs[0] != 0 || rec.prevs[1] != 6 {
		t.Errorf("previous checkpoints passed to the anchorers: %v, want [0 6]", rec.prevs)
	}
	if _, err := auditlog.Verify(ctx, s, auditlog.VerifyOptions{Verifier: verifier}); err != nil {
		t.Fatal(err)
	}
}
