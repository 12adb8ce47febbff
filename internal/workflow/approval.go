package workflow

import (
	"context"
	"fmt"

	"github.com/signet-pki/signet/auditlog"
)

// An ApprovalCheck decides, under the envelope's lock and from its stored
// facts, whether the acting principal may approve or reject it: sender is
// the principal that submitted it, highAssurance its flag. A non-nil
// error refuses, and is returned as is.
type ApprovalCheck func(sender string, highAssurance bool) error

// submit moves a draft that needs an approval to awaiting_approval and
// records envelope.submitted; nobody is notified yet.
func (s *Service) submit(e *Envelope) (*change, error) {
	if err := transit(e, ActionSubmit); err != nil {
		return nil, err
	}
	if !e.ExpiresAt.After(s.now()) {
		return nil, invalid("the envelope's expiry has passed; create a new envelope")
	}
	return &change{action: ActionSubmit, audit: audit{typ: auditlog.EnvelopeSubmitted}}, nil
}

// submitter returns the principal that submitted envelope id for
// approval most recently, from its recorded transitions.
func (s *Service) submitter(ctx context.Context, id string) (string, error) {
	ts, err := s.cfg.Envelopes.Transitions(ctx, id)
	if err != nil {
		return "", fmt.Errorf("workflow: transitions: %w", err)
	}
	for i := len(ts) - 1; i >= 0; i-- {
		if ts[i].Action == ActionSubmit {
			return ts[i].ActorID, nil
		}
	}
	return "", fmt.Errorf("workflow: envelope %s awaits approval without a recorded submission", id)
}

// Approve approves the acting tenant's envelope id, which awaits
// approval, if check allows it, and sends it: its first recipients are
// notified and envelope.approved is recorded. The envelope's submitter
// is given to check, which applies separation of duties.
func (s *Service) Approve(ctx context.Context, a Actor, id string, check ApprovalCheck) (*Envelope, error) {
	return s.mutate(ctx, a, id, func(e *Envelope) (*change, error) {
		if err := s.checkApproval(ctx, e, check); err != nil {
			return nil, err
		}
		if err := transit(e, ActionApprove); err != nil {
			return nil, err
		}
		return s.release(e, ActionApprove, auditlog.EnvelopeApproved, nil)
	})
}

// Reject returns the acting tenant's envelope id, which awaits approval,
// to draft with a reason, if check allows it, and records
// envelope.rejected.
func (s *Service) Reject(ctx context.Context, a Actor, id, reason string, check ApprovalCheck) (*Envelope, error) {
	if err := checkText("reason", reason, maxReasonLen, true); err != nil {
		return nil, err
	}
	return s.mutate(ctx, a, id, func(e *Envelope) (*change, error) {
		if err := s.checkApproval(ctx, e, check); err != nil {
			return nil, err
		}
		if err := transit(e, ActionReject); err != nil {
			return nil, err
		}
		return &change{action: ActionReject, reason: reason, audit: audit{typ: auditlog.EnvelopeRejected, sensitive: freeText("reason", reason)}}, nil
	})
}

// checkApproval asks check about e, which must await approval.
func (s *Service) checkApproval(ctx context.Context, e *Envelope, check ApprovalCheck) error {
	if e.Status != StatusAwaitingApproval {
		_, err := next(e.Status, ActionApprove)
		return err
	}
	if check == nil {
		return fmt.Errorf("workflow: no approval check")
	}
	sender, err := s.submitter(ctx, e.ID)
	if err != nil {
		return err
	}
	return check(sender, e.HighAssurance)
}
