package logbench

import (
	"context"
	"testing"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/storetest"
)

// TestFillEnvelopes checks the benchmark's log: it verifies (records
// agree with their leaves, envelope included), and the envelope has its
// events, in order, without the other tenant's envelope of the same ID.
func TestFillEnvelopes(t *testing.T) {
	ctx := context.Background()
	const n = 100_000
	s := auditlog.NewMemStore()
	got := FillEnvelopes(t, s, n)
	signer, verifier := storetest.NewKey(t, "signet.test/audit")
	pub, err := auditlog.NewPublisher(s, auditlog.PublisherConfig{Origin: "signet.test/audit", Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	if res, err := auditlog.Verify(ctx, s, auditlog.VerifyOptions{Verifier: verifier}); err != nil || res.Size != n {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
	recs, err := s.EnvelopeRecords(ctx, got.Tenant, got.Envelope)
	if err != nil || len(recs) != got.Events || got.Events != 60 {
		t.Fatalf("EnvelopeRecords = %d records, %v; want %d (60)", len(recs), err, got.Events)
	}
	for i, r := range recs {
		h, err := auditlog.ParseLeafHeader(r.Leaf)
		if err != nil || h.Envelope != got.Envelope || h.Tenant != got.Tenant {
			t.Fatalf("record %d: %+v, %v", r.Index, h, err)
		}
		if i > 0 && r.Index <= recs[i-1].Index {
			t.Fatalf("records out of order at %d", r.Index)
		}
	}
	// Spread through the log, not clustered.
	if first, last := recs[0].Index, recs[len(recs)-1].Index; first > n/50 || last < n-n/50 {
		t.Fatalf("envelope's events span %d..%d of %d", first, last, n)
	}
	decoys, err := s.EnvelopeRecords(ctx, "tenant-2", got.Envelope)
	if err != nil || len(decoys) != 30 {
		t.Fatalf("the other tenant's envelope: %d records, %v; want 30", len(decoys), err)
	}
}
