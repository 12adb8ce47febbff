package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/workflow"
)

// TestConcurrentEnvelopes is the concurrency test: 200 envelopes, each
// to its own signer, signed by 16 concurrent workers over loopback. Every
// envelope must complete, every PDF verify at B-LTA, and the audit log
// hold exactly one signature.created and one envelope.completed per
// envelope, with no event id twice. It takes tens of seconds; -short
// skips it.
func TestConcurrentEnvelopes(t *testing.T) {
	if testing.Short() {
		t.Skip("concurrency test skipped in -short mode")
	}
	const (
		envelopes = 200
		workers   = 16
	)
	// The load comes from one IP; the rate limits are not under test.
	unlimited := &api.RateLimits{}
	in := start(t, unlimited)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sender, _ := in.sender("Acme")
	pdfBytes := samplePDF(t, "Concurrency", 0)

	ids := make([]string, envelopes)
	docs := make([]string, envelopes)
	errs := make(chan error, envelopes)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				addr := fmt.Sprintf("signer%03d@example.com", i)
				e, err := envelope(ctx, sender, fmt.Sprintf("Envelope %d", i), pdfBytes, addr)
				if err != nil {
					errs <- fmt.Errorf("envelope %d: %w", i, err)
					continue
				}
				ids[i], docs[i] = e.ID, e.Documents[0].DocumentID
				if _, err := in.signAs(ctx, addr, 1); err != nil {
					errs <- fmt.Errorf("envelope %d: %w", i, err)
				}
			}
		}()
	}
	startT := time.Now()
	for i := 0; i < envelopes; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	t.Logf("%d envelopes signed and sealed in %v", envelopes, time.Since(startT).Round(time.Millisecond))
	for i := range ids {
		e, err := sender.Envelope(ctx, ids[i])
		if err != nil || e.Status != workflow.StatusCompleted {
			t.Fatalf("envelope %d: %s, %v", i, e.Status, err)
		}
		b, err := sender.Content(ctx, ids[i], docs[i])
		if err != nil {
			t.Fatal(err)
		}
		in.checkPDF(t, b, 2, i%50 == 0)
	}
	in.down()
	sigs, completed := map[string]int{}, map[string]int{}
	for _, r := range in.auditRecords(t) {
		switch auditlog.EventType(r.Type) {
		case auditlog.SignatureCreated:
			sigs[leafEnvelope(t, r.Leaf)]++
		case auditlog.EnvelopeCompleted:
			completed[leafEnvelope(t, r.Leaf)]++
		}
	}
	for i, id := range ids {
		if sigs[id] != 1 || completed[id] != 1 {
			t.Errorf("envelope %d: %d signature.created and %d envelope.completed events, want 1 and 1", i, sigs[id], completed[id])
		}
	}
	if len(sigs) != envelopes || len(completed) != envelopes {
		t.Errorf("events for %d and %d envelopes, want %d", len(sigs), len(completed), envelopes)
	}
}
