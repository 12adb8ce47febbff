package e2e

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/apiclient"
	"github.com/signet-pki/signet/internal/workflow"
)

// TestFullFlow: through the HTTPS API, two signers in sequence sign a
// document, the envelope completes, and the sealed PDF passes
// pades.Verify at B-LTA, pdfsig (both signatures and the seal valid) and
// qpdf --check.
func TestFullFlow(t *testing.T) {
	in := start(t, nil)
	ctx := context.Background()
	sender, _ := in.sender("Acme")
	e, err := envelope(ctx, sender, "Offer letter", samplePDF(t, "Offer letter", 0), "alice@example.com", "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.signAs(ctx, "alice@example.com", 1); err != nil {
		t.Fatal(err)
	}
	if got, _ := sender.Envelope(ctx, e.ID); got.Status != workflow.StatusInProgress {
		t.Fatalf("after the first signature the envelope is %s", got.Status)
	}
	if _, err := in.signAs(ctx, "bob@example.com", 1); err != nil {
		t.Fatal(err)
	}
	got, err := sender.Envelope(ctx, e.ID)
	if err != nil || got.Status != workflow.StatusCompleted {
		t.Fatalf("envelope = %s, %v; want completed", got.Status, err)
	}
	b, err := sender.Content(ctx, e.ID, e.Documents[0].DocumentID)
	if err != nil {
		t.Fatal(err)
	}
	in.checkPDF(t, b, 3, true)
}

// TestRecipientAPIBadInput checks the recipient routes behind the full
// middleware: problem+json answers, and a link or session of one tenant's
// envelope reaching nothing else.
func TestRecipientAPIBadInput(t *testing.T) {
	in := start(t, nil)
	ctx := context.Background()
	acme, _ := in.sender("Acme")
	globex, _ := in.sender("Globex")
	a, err := envelope(ctx, acme, "A", samplePDF(t, "A", 0), "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	g, err := envelope(ctx, globex, "G", samplePDF(t, "G", 0), "gina@example.com")
	if err != nil {
		t.Fatal(err)
	}
	mb := &apiclient.Mailbox{Inbox: in.mailbox.Sent()}
	link, err := mb.Link(ctx, "alice@example.com", 1)
	if err != nil {
		t.Fatal(err)
	}
	session, err := mb.Authenticate(ctx, in.client, "alice@example.com", link)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		call   func() error
		status int
		slug   string
	}{
		{"no token", func() error { return in.client.SendCode(ctx) }, 401, "invalid-link"},
		{"API key as link", func() error {
			return acme.WithAuth("Link " + strings.TrimPrefix(acme.Authorization, "Bearer ")).SendCode(ctx)
		}, 401, "invalid-link"},
		{"other tenant's document by id", func() error {
			_, err := session.RecipientDocument(ctx, g.Documents[0].DocumentID)
			return err
		}, 404, "not-found"},
		{"own document through another tenant's API key", func() error {
			_, err := globex.Content(ctx, a.ID, a.Documents[0].DocumentID)
			return err
		}, 404, "not-found"},
		{"session as API key", func() error {
			_, err := in.client.WithAuth(strings.Replace(session.Authorization, "Session", "Bearer", 1)).Envelope(ctx, a.ID)
			return err
		}, 401, ""},
		{"sign before consent", func() error {
			_, err := session.Sign(ctx)
			return err
		}, 409, "consent-required"},
		{"unknown field", func() error {
			_, err := session.Do(ctx, "POST", "/v1/recipient/decline", map[string]string{"reason": "x", "recipient_id": "r"}, "", nil)
			return err
		}, 422, "unknown-field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var p *apiclient.Problem
			if !errors.As(err, &p) {
				t.Fatalf("got %v, want a problem", err)
			}
			if p.Status != tt.status || (tt.slug != "" && p.Slug() != tt.slug) || !strings.HasPrefix(p.ContentType, "application/problem+json") {
				t.Fatalf("got %d %s (%s), want %d %s", p.Status, p.Type, p.ContentType, tt.status, tt.slug)
			}
		})
	}
	// Globex's envelope is untouched.
	if got, _ := globex.Envelope(ctx, g.ID); got.Status != workflow.StatusSent {
		t.Errorf("globex envelope is %s", got.Status)
	}
	_ = http.StatusOK
}
