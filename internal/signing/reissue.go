package signing

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/workflow"
)

// A Reissued is what [Service.Reissue] did. It never carries the new
// link: the link is personal, and only its recipient receives it.
type Reissued struct {
	RecipientID string `json:"recipient_id"`
	// SentTo is the address the new link was emailed to, masked.
	SentTo string `json:"sent_to"`
	// ExpiresAt is when the new link expires.
	ExpiresAt time.Time `json:"link_expires_at"`
	// Lockouts is the number of lockouts the re-issue cleared, and
	// WasRevoked whether the recipient's links had been revoked by them.
	Lockouts   int  `json:"cleared_lockouts"`
	WasRevoked bool `json:"was_revoked"`
}

// Reissue issues recipient recipientID of envelope envelopeID a new link
// at the request of a, a principal of the envelope's tenant (the sender's
// API key): every earlier link of the recipient is revoked and every
// session opened through one ends, their
// one-time-code state (failures, lockouts, revocation, pending code) is
// cleared, and the new link is emailed to them. It is recorded as
// recipient.link_reissued before anything changes (fail closed). The
// envelope must be open and it must be the recipient's turn (409
// otherwise); an envelope of another tenant, or a recipient not in it,
// is not found.
func (s *Service) Reissue(ctx context.Context, a workflow.Actor, envelopeID, recipientID string) (Reissued, error) {
	if a.Tenant == "" || a.Kind == auditlog.ActorRecipient || a.ID == "" {
		return Reissued{}, withDetail(ErrInvalid, "only the sender's tenant may re-issue a link", nil)
	}
	wf := s.wf
	e, err := wf.Envelope(ctx, a, envelopeID)
	if err != nil {
		return Reissued{}, err
	}
	r := e.Recipient(recipientID)
	if r == nil {
		return Reissued{}, withDetail(ErrNotFound, fmt.Sprintf("no recipient %q in the envelope", recipientID), nil)
	}
	now := s.now()
	switch {
	case e.Status != workflow.StatusSent && e.Status != workflow.StatusInProgress:
		return Reissued{}, withDetail(workflow.ErrInvalidTransition, "the envelope is "+string(e.Status)+": its links cannot be re-issued", nil)
	case !now.Before(e.ExpiresAt):
		return Reissued{}, withDetail(workflow.ErrInvalidTransition, "the envelope has expired: its links cannot be re-issued", nil)
	case r.Status != workflow.RecipientActive:
		return Reissued{}, withDetail(workflow.ErrNotYourTurn, "the recipient is "+string(r.Status)+": a link is issued only while it is their turn", nil)
	}

	// The code state is read and replaced under the recipient's lock; the
	// e-mail goes out after the lock is released, so that the recipient's
	// other requests do not wait for a mail server.
	tok, l, st, err := s.reissueLink(ctx, a, e, r)
	if err != nil {
		return Reissued{}, err
	}
	n := workflow.Notification{
		Kind: workflow.NotifyTurn, Tenant: e.Tenant, EnvelopeID: e.ID, Recipient: *r,
		Subject: e.Subject, Message: e.Message, Status: e.Status, ExpiresAt: e.ExpiresAt,
	}
	if err := s.notifier.mailLink(ctx, n, tok, l.ExpiresAt, true); err != nil {
		return Reissued{}, withDetail(ErrUnavailable, "the new link could not be emailed (the earlier links are revoked); re-issue it again", err)
	}
	return Reissued{
		RecipientID: r.ID, SentTo: maskEmail(r.Email), ExpiresAt: l.ExpiresAt,
		Lockouts: st.Lockouts, WasRevoked: !st.RevokedAt.IsZero(),
	}, nil
}

// reissueLink records the re-issue of recipient r's link and stores the
// new link with the recipient's fresh code state (earlier links revoked,
// their sessions ended), under the recipient's lock. It returns the new
// link's token, the link, and the code state it replaced.
func (s *Service) reissueLink(ctx context.Context, a workflow.Actor, e *workflow.Envelope, r *workflow.Recipient) (string, Link, AuthState, error) {
	unlock, err := s.lockRecipient(ctx, e.ID, r.ID)
	if err != nil {
		return "", Link{}, AuthState{}, err
	}
	defer unlock()
	st, err := s.cfg.Store.AuthState(ctx, e.ID, r.ID)
	if err != nil {
		return "", Link{}, AuthState{}, fmt.Errorf("signing: load code state: %w", err)
	}
	tok, l, err := s.notifier.newLink(e.Tenant, e.ID, r.ID, e.ExpiresAt)
	if err != nil {
		return "", Link{}, AuthState{}, err
	}
	ev := auditlog.Event{
		Type: auditlog.RecipientLinkReissued, Tenant: e.Tenant,
		Actor:   auditlog.Actor{Kind: a.Kind, ID: a.ID},
		Subject: auditlog.Subject{EnvelopeID: e.ID, RecipientEmail: r.Email},
		Request: auditlog.Request{CorrelationID: a.CorrelationID, IP: a.IP, UserAgent: a.UserAgent},
		Outcome: auditlog.OutcomeSuccess,
		Details: map[string]string{
			"recipient_id": r.ID, "cleared_lockouts": strconv.Itoa(st.Lockouts),
			"was_revoked":     strconv.FormatBool(!st.RevokedAt.IsZero()),
			"link_expires_at": l.ExpiresAt.Format(time.RFC3339),
		},
	}
	if err := s.cfg.Audit.Record(ctx, ev); err != nil {
		return "", Link{}, AuthState{}, withDetail(ErrUnavailable, "the re-issue could not be recorded, so it was not carried out", err)
	}
	// The send rate limit is kept: a re-issue is not a way around it.
	// The used passkey assertions stay used: a replay stays refused.
	fresh := AuthState{EnvelopeID: e.ID, RecipientID: r.ID, WindowStart: st.WindowStart, WindowSends: st.WindowSends, UsedAssertions: st.UsedAssertions}
	if err := s.cfg.Store.Reissue(ctx, l, fresh); err != nil {
		return "", Link{}, AuthState{}, fmt.Errorf("signing: store re-issued link: %w", err)
	}
	return tok, l, st, nil
}
