package signing

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/signet-pki/signet/mail"
	"github.com/signet-pki/signet/workflow"
)

var _ workflow.Notifier = (*Service)(nil)

// Notify implements workflow.Notifier. For a turn or a reminder it issues
// a new link for the recipient (expiring after [Config.LinkTTL], never
// after the envelope) and emails it; for a completed or ended envelope it
// emails a short notice. It never calls back into the workflow.
func (s *Service) Notify(ctx context.Context, n workflow.Notification) error {
	switch n.Kind {
	case workflow.NotifyTurn, workflow.NotifyReminder:
		return s.sendLink(ctx, n)
	case workflow.NotifyCompleted:
		return s.send(ctx, n.Recipient.Email, "Completed: "+n.Subject,
			fmt.Sprintf("Hello %s,\n\nevery party has signed %q. The sender can share the signed documents with you.\n\n— Signet\n", n.Recipient.Name, n.Subject))
	case workflow.NotifyEnded:
		return s.send(ctx, n.Recipient.Email, "Ended: "+n.Subject,
			fmt.Sprintf("Hello %s,\n\nthe envelope %q is now %s; no further action is needed.\n\n— Signet\n", n.Recipient.Name, n.Subject, n.Status))
	default:
		return fmt.Errorf("signing: unknown notification kind %q", n.Kind)
	}
}

func (s *Service) sendLink(ctx context.Context, n workflow.Notification) error {
	now := s.now()
	exp := now.Add(s.cfg.LinkTTL)
	if !n.ExpiresAt.IsZero() && n.ExpiresAt.Before(exp) {
		exp = n.ExpiresAt
	}
	if !exp.After(now) {
		return fmt.Errorf("signing: envelope %s has expired; no link issued", n.EnvelopeID)
	}
	tok, hash, err := s.token()
	if err != nil {
		return err
	}
	l := Link{Hash: hash, Tenant: n.Tenant, EnvelopeID: n.EnvelopeID, RecipientID: n.Recipient.ID, CreatedAt: now, ExpiresAt: exp}
	if err := s.cfg.Store.CreateLink(ctx, l); err != nil {
		return fmt.Errorf("signing: store link: %w", err)
	}
	verb := "sign"
	if n.Recipient.Role == workflow.RoleApprover {
		verb = "approve"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\nyou are asked to %s %q.\n", n.Recipient.Name, verb, n.Subject)
	if n.Message != "" {
		fmt.Fprintf(&b, "\n%s\n", n.Message)
	}
	fmt.Fprintf(&b, "\nOpen this link to review and %s (valid until %s):\n\n%s\n\n", verb, exp.Format(time.RFC1123), LinkFor(s.cfg.LinkURL, tok))
	b.WriteString("Before you see the documents we will email you a one-time code to confirm this address.\n" +
		"Do not forward this message: the link is personal.\n\n— Signet\n")
	subject := "Please " + verb + ": " + n.Subject
	if n.Kind == workflow.NotifyReminder {
		subject = "Reminder: " + subject
	}
	return s.send(ctx, n.Recipient.Email, subject, b.String())
}

func (s *Service) send(ctx context.Context, to, subject, body string) error {
	// A subject is one line; an envelope subject is checked by the
	// workflow, but a stray line break must not fail a notification.
	subject = strings.Join(strings.Fields(subject), " ")
	if err := s.cfg.Mailer.Send(ctx, mail.Message{To: to, Subject: subject, Body: body}); err != nil {
		return fmt.Errorf("signing: email to recipient: %w", err)
	}
	return nil
}

// LinkFor returns the link a recipient opens: base with the token as its
// fragment.
func LinkFor(base, token string) string { return base + "#" + token }

// TokenFromLink extracts the token from a link made by [LinkFor], or
// returns "" if the link carries none.
func TokenFromLink(link string) string {
	_, tok, ok := strings.Cut(link, "#")
	if !ok {
		return ""
	}
	if _, ok := ParseToken(tok); !ok {
		return ""
	}
	return tok
}
