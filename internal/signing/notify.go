package signing

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/mail"
	"github.com/signet-pki/signet/internal/workflow"
)

var _ workflow.Notifier = (*Notifier)(nil)

// Notify implements workflow.Notifier. For a turn or a reminder it issues
// a new link for the recipient (expiring after [Config.LinkTTL], never
// after the envelope) and emails it; for a completed or ended envelope it
// emails a short notice. It never calls back into the workflow.
func (s *Notifier) Notify(ctx context.Context, n workflow.Notification) error {
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

func (s *Notifier) sendLink(ctx context.Context, n workflow.Notification) error {
	if n.Kind == workflow.NotifyReminder {
		// A recipient whose links were revoked by repeated lockouts gets
		// no new link until the sender re-issues one: it would not open.
		st, err := s.cfg.Store.AuthState(ctx, n.EnvelopeID, n.Recipient.ID)
		if err != nil {
			return fmt.Errorf("signing: load code state: %w", err)
		}
		if !st.RevokedAt.IsZero() {
			s.log.InfoContext(ctx, "signing: no reminder for a recipient whose link was revoked", "envelope", n.EnvelopeID, "recipient", n.Recipient.ID)
			return nil
		}
	}
	tok, l, err := s.newLink(n.Tenant, n.EnvelopeID, n.Recipient.ID, n.ExpiresAt)
	if err != nil {
		return err
	}
	if err := s.cfg.Store.CreateLink(ctx, l); err != nil {
		return fmt.Errorf("signing: store link: %w", err)
	}
	return s.mailLink(ctx, n, tok, l.ExpiresAt, false)
}

// newLink makes a link for the recipient, expiring after [Config.LinkTTL]
// and never after the envelope (at envExpiry), and returns its token.
func (s *Notifier) newLink(tenant, envelopeID, recipientID string, envExpiry time.Time) (string, Link, error) {
	now := s.now()
	exp := now.Add(s.cfg.LinkTTL)
	if !envExpiry.IsZero() && envExpiry.Before(exp) {
		exp = envExpiry
	}
	if !exp.After(now) {
		return "", Link{}, fmt.Errorf("signing: envelope %s has expired; no link issued", envelopeID)
	}
	tok, hash, err := s.token()
	if err != nil {
		return "", Link{}, err
	}
	return tok, Link{Hash: hash, Tenant: tenant, EnvelopeID: envelopeID, RecipientID: recipientID, CreatedAt: now, ExpiresAt: exp}, nil
}

// mailLink emails the link with token tok, valid until exp, to n's
// recipient; reissued says the sender replaced their earlier links.
func (s *Notifier) mailLink(ctx context.Context, n workflow.Notification, tok string, exp time.Time, reissued bool) error {
	verb := "sign"
	if n.Recipient.Role == workflow.RoleApprover {
		verb = "approve"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\nyou are asked to %s %q.\n", n.Recipient.Name, verb, n.Subject)
	if n.Message != "" {
		fmt.Fprintf(&b, "\n%s\n", n.Message)
	}
	if reissued {
		b.WriteString("\nThe sender has issued you a new link; earlier links no longer work.\n")
	}
	fmt.Fprintf(&b, "\nOpen this link to review and %s (valid until %s):\n\n%s\n\n", verb, exp.Format(time.RFC1123), LinkFor(s.cfg.LinkURL, tok))
	b.WriteString(proofHint(n.Recipient))
	b.WriteString("Do not forward this message: the link is personal.\n\n— Signet\n")
	subject := "Please " + verb + ": " + n.Subject
	switch {
	case reissued:
		subject = "New link: " + subject
	case n.Kind == workflow.NotifyReminder:
		subject = "Reminder: " + subject
	}
	return s.send(ctx, n.Recipient.Email, subject, b.String())
}

func (s *Notifier) send(ctx context.Context, to, subject, body string) error {
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
