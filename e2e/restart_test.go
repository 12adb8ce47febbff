package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/apiclient"
	"github.com/signet-pki/signet/internal/workflow"
)

// TestRestartMidFlow: the first signer signs, the server shuts down and
// starts again over the same data directory; the second signer uses the
// link emailed before the restart, and the envelope completes with both
// signatures. The audit log holds every event exactly once.
func TestRestartMidFlow(t *testing.T) {
	in := start(t, nil)
	ctx := context.Background()
	sender, _ := in.sender("Acme")
	e, err := envelope(ctx, sender, "Lease", samplePDF(t, "Lease", 0), "alice@example.com", "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.signAs(ctx, "alice@example.com", 1); err != nil {
		t.Fatal(err)
	}
	// Bob's link reaches his mailbox before the restart (it is sent
	// after alice's sign call returns).
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := (&apiclient.Mailbox{Inbox: in.mailbox.Sent()}).Link(wctx, "bob@example.com", 1); err != nil {
		t.Fatalf("bob was not notified before the restart: %v", err)
	}
	key := sender.Authorization
	in.down()
	in.up()
	sender = in.client.WithAuth(key)
	if got, err := sender.Envelope(ctx, e.ID); err != nil || got.Status != workflow.StatusInProgress || got.Recipients[0].Status != workflow.RecipientCompleted {
		t.Fatalf("after restart: %+v, %v", got, err)
	}
	if _, err := in.signAs(ctx, "bob@example.com", 1); err != nil {
		t.Fatal(err)
	}
	got, err := sender.Envelope(ctx, e.ID)
	if err != nil || got.Status != workflow.StatusCompleted {
		t.Fatalf("envelope = %s, %v", got.Status, err)
	}
	b, err := sender.Content(ctx, e.ID, e.Documents[0].DocumentID)
	if err != nil {
		t.Fatal(err)
	}
	in.checkPDF(t, b, 3, true)
	in.down()
	counts := map[string]int{}
	for _, r := range in.auditRecords(t) {
		if leafEnvelope(t, r.Leaf) == e.ID {
			counts[r.Type]++
		}
	}
	for typ, want := range map[auditlog.EventType]int{
		auditlog.EnvelopeCreated: 1, auditlog.EnvelopeSent: 1, auditlog.SignatureCreated: 2,
		auditlog.EnvelopeCompleted: 1, auditlog.RecipientConsented: 2,
	} {
		if counts[string(typ)] != want {
			t.Errorf("%d %s events for the envelope, want %d (all: %v)", counts[string(typ)], typ, want, counts)
		}
	}
}
