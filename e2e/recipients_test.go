package e2e

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/apiclient"
)

// wantProblem fails unless err is a problem with status and slug.
func wantProblem(t *testing.T, what string, err error, status int, slug string) *apiclient.Problem {
	t.Helper()
	var p *apiclient.Problem
	if !errors.As(err, &p) || p.Status != status || p.Slug() != slug || !strings.HasPrefix(p.ContentType, "application/problem+json") {
		t.Fatalf("%s: %v, want a %d %s problem", what, err, status, slug)
	}
	return p
}

// TestVoidCutsOffRecipients: through the running server, voiding an
// envelope stops its recipient's link and live session at once (410), and
// no code is emailed.
func TestVoidCutsOffRecipients(t *testing.T) {
	in := start(t, nil)
	ctx := context.Background()
	acme, _ := in.sender("Acme")
	env, err := envelope(ctx, acme, "Offer", samplePDF(t, "Offer", 0), "alice@example.com")
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
	if _, err := session.View(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := acme.Void(ctx, env.ID, "offer withdrawn"); err != nil {
		t.Fatal(err)
	}
	// The void notice is sent before Void answers.
	mails := len(in.mailbox.To("alice@example.com"))

	p := wantProblem(t, "code", in.client.Recipient(link).SendCode(ctx), 410, "envelope-ended")
	if !strings.Contains(p.Detail, "voided") {
		t.Errorf("the problem does not say the envelope was voided: %q", p.Detail)
	}
	_, err = in.client.Recipient(link).Verify(ctx, "123456")
	wantProblem(t, "verify", err, 410, "envelope-ended")
	_, err = session.View(ctx)
	wantProblem(t, "view", err, 410, "envelope-ended")
	_, err = session.RecipientDocument(ctx, env.Documents[0].DocumentID)
	wantProblem(t, "document", err, 410, "envelope-ended")
	_, err = session.Sign(ctx)
	wantProblem(t, "sign", err, 410, "envelope-ended")
	if n := len(in.mailbox.To("alice@example.com")); n != mails {
		t.Errorf("%d messages sent after the void", n-mails)
	}
}

// TestReissueLink: through the running server, the sender re-issues a
// recipient's link; the old link is revoked, the new one (emailed) works,
// and the code message keeps the code out of its subject.
func TestReissueLink(t *testing.T) {
	in := start(t, nil)
	ctx := context.Background()
	acme, _ := in.sender("Acme")
	globex, _ := in.sender("Globex")
	env, err := envelope(ctx, acme, "Offer", samplePDF(t, "Offer", 0), "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	mb := &apiclient.Mailbox{Inbox: in.mailbox.Sent()}
	old, err := mb.Link(ctx, "bob@example.com", 1)
	if err != nil {
		t.Fatal(err)
	}
	// A session opened through the old link ends with the re-issue.
	oldSession, err := mb.Authenticate(ctx, in.client, "bob@example.com", old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oldSession.View(ctx); err != nil {
		t.Fatal(err)
	}
	rid := env.Recipients[0].ID
	_, err = globex.ReissueLink(ctx, env.ID, rid)
	wantProblem(t, "another tenant's re-issue", err, 404, "not-found")
	res, err := acme.ReissueLink(ctx, env.ID, rid)
	if err != nil {
		t.Fatal(err)
	}
	if res.RecipientID != rid || res.WasRevoked || res.SentTo != "b***@example.com" {
		t.Errorf("re-issue answer %+v", res)
	}
	wantProblem(t, "old link", in.client.Recipient(old).SendCode(ctx), 410, "link-revoked")
	_, err = oldSession.View(ctx)
	wantProblem(t, "session of the old link", err, 401, "invalid-session")
	fresh, err := mb.Link(ctx, "bob@example.com", 3) // after the old link and its code
	if err != nil {
		t.Fatal(err)
	}
	if fresh == old {
		t.Fatal("the re-issued link is the old one")
	}
	session, err := mb.Authenticate(ctx, in.client, "bob@example.com", fresh)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := session.View(ctx); err != nil {
		t.Fatal(err)
	}
	msgs := in.mailbox.To("bob@example.com")
	codeMsg := msgs[len(msgs)-1]
	code, err := mb.Code(ctx, "bob@example.com", len(msgs))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(codeMsg.Subject, code) || !strings.Contains(codeMsg.Body, code) {
		t.Errorf("code %s: subject %q; want it in the body only", code, codeMsg.Subject)
	}
}
