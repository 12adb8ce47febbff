package signing_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/signet-pki/signet/internal/workflow"
)

// TestParallelGroup: two signers in the same routing order are notified
// together and sign the same two documents at the same moment; the
// document lock serializes their incremental updates, so both signatures
// and the seal are valid on each document.
func TestParallelGroup(t *testing.T) {
	e := newEnv(t)
	env := e.newEnvelope(2, signer("Alice Doe", "alice@example.com", 1), signer("Bob Roe", "bob@example.com", 1))
	sessions := []string{
		e.session("alice@example.com", e.link("alice@example.com", 1)),
		e.session("bob@example.com", e.link("bob@example.com", 1)),
	}
	for _, ss := range sessions {
		if st, p := e.call("POST", "/v1/recipient/consent", "Session", ss, map[string]bool{"consent": true}, nil); st != http.StatusOK {
			t.Fatalf("consent: %d %+v", st, p)
		}
	}
	var wg sync.WaitGroup
	status := make([]int, 2)
	for i, ss := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status[i], _ = e.call("POST", "/v1/recipient/sign", "Session", ss, nil, nil)
		}()
	}
	wg.Wait()
	if status[0] != http.StatusOK || status[1] != http.StatusOK {
		t.Fatalf("sign statuses %v", status)
	}
	final, err := e.wf.Envelope(context.Background(), sender, env.ID)
	if err != nil || final.Status != workflow.StatusCompleted {
		t.Fatalf("envelope %s, %v", final.Status, err)
	}
	for _, d := range final.Documents {
		rd, size, err := e.blobs.Open(context.Background(), d.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, size)
		rd.ReadAt(b, 0)
		rd.Close()
		rep := e.verifyPDF(b)
		approvals := 0
		for _, s := range rep.Signatures {
			if s.Kind == "approval" {
				approvals++
			}
		}
		if !rep.Valid || approvals != 3 {
			t.Fatalf("document %s: valid %v with %d approval signatures, want 3 (%v)", d.DocumentID, rep.Valid, approvals, levels(rep))
		}
	}
}

// TestReminderLink: a reminder issues a fresh link; both the first and
// the new link open the same recipient's envelope, and neither reaches
// another recipient's.
func TestReminderLink(t *testing.T) {
	e := newEnv(t)
	env := e.newEnvelope(1, signer("Alice Doe", "alice@example.com", 1))
	first := e.link("alice@example.com", 1)
	r := env.Recipients[0]
	if err := e.notifier.Notify(context.Background(), workflow.Notification{Kind: workflow.NotifyReminder, Tenant: tenant, EnvelopeID: env.ID, Recipient: r, Subject: env.Subject, ExpiresAt: env.ExpiresAt}); err != nil {
		t.Fatal(err)
	}
	second := e.link("alice@example.com", 2)
	if first == second {
		t.Fatal("the reminder reused the link token")
	}
	msgs := e.mailbox.To("alice@example.com")
	if got := msgs[1].Subject; got != "Reminder: Please sign: Employment contract" {
		t.Errorf("reminder subject %q", got)
	}
	for _, l := range []string{first, second} {
		ss := e.session("alice@example.com", l)
		var v struct {
			EnvelopeID string `json:"envelope_id"`
			Recipient  struct{ ID string }
		}
		if st, p := e.call("GET", "/v1/recipient/envelope", "Session", ss, nil, &v); st != http.StatusOK || v.EnvelopeID != env.ID || v.Recipient.ID != r.ID {
			t.Fatalf("view with link: %d %+v %+v", st, p, v)
		}
	}
}
