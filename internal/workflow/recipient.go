package workflow

import (
	"context"
	"encoding/hex"
	"slices"

	"github.com/signet-pki/signet/auditlog"
)

// A RecipientView is what a recipient may see of an envelope: the
// envelope (with the current version of each document) and their own
// entry.
type RecipientView struct {
	Envelope  *Envelope
	Recipient Recipient
	// CanAct reports whether it is the recipient's turn: the envelope is
	// sent or in progress and the recipient is active.
	CanAct bool
}

// RecipientContext returns recipient recipientID's view of envelope
// envelopeID, for the signing side after it has authenticated the
// recipient's link. The pair must match: a recipient of another envelope
// is [ErrNotFound].
func (s *Service) RecipientContext(ctx context.Context, envelopeID, recipientID string) (*RecipientView, error) {
	e, err := s.load(ctx, Actor{Kind: auditlog.ActorRecipient, ID: recipientID}, envelopeID)
	if err != nil {
		return nil, err
	}
	r := e.Recipient(recipientID)
	return &RecipientView{
		Envelope: e, Recipient: *r,
		CanAct: (e.Status == StatusSent || e.Status == StatusInProgress) && r.Status == RecipientActive,
	}, nil
}

// recipientAction checks that a is a recipient of e whose turn it is, and
// moves a sent envelope to in progress (its first recipient activity). It
// returns the recipient and whether the envelope started.
func recipientAction(e *Envelope, a Actor) (*Recipient, bool, error) {
	if a.Kind != auditlog.ActorRecipient {
		return nil, false, withDetail(ErrInvalid, "only the recipient may do this", nil)
	}
	r := e.Recipient(a.ID)
	if e.Status != StatusSent && e.Status != StatusInProgress {
		_, err := next(e.Status, ActionSign)
		return nil, false, err
	}
	if r.Status != RecipientActive {
		return nil, false, withDetail(ErrNotYourTurn, "the recipient is "+string(r.Status)+", not active", nil)
	}
	started := false
	if e.Status == StatusSent {
		if err := transit(e, ActionStart); err != nil {
			return nil, false, err
		}
		started = true
	}
	return r, started, nil
}

func startAction(started bool) Action {
	if started {
		return ActionStart
	}
	return ""
}

// MarkViewed records that recipient a (Kind recipient, ID the recipient
// id) opened envelope envelopeID: recipient.viewed on the first view. The
// first activity of any recipient moves a sent envelope to in_progress.
func (s *Service) MarkViewed(ctx context.Context, a Actor, envelopeID string) (*Envelope, error) {
	return s.mutate(ctx, a, envelopeID, func(e *Envelope) (*change, error) {
		r, started, err := recipientAction(e, a)
		if err != nil {
			return nil, err
		}
		if !r.ViewedAt.IsZero() && !started {
			return &change{}, nil
		}
		if r.ViewedAt.IsZero() {
			r.ViewedAt = s.now()
		}
		return &change{
			action: startAction(started),
			audit:  audit{typ: auditlog.RecipientViewed, details: map[string]string{"recipient_id": r.ID}},
		}, nil
	})
}

// ConsentRecorded records that recipient a consented to sign envelope
// envelopeID electronically (recipient.consented). Signing requires it.
func (s *Service) ConsentRecorded(ctx context.Context, a Actor, envelopeID string) (*Envelope, error) {
	return s.ConsentRecordedText(ctx, a, envelopeID, "")
}

// ConsentRecordedText is [Service.ConsentRecorded] for a recipient who
// confirms which consent text they read by its SHA-256 textSHA256 (hex;
// empty: not confirmed). A digest other than that of the tenant's
// current text ([Service.ConsentText]) is [ErrConsentTextChanged]. The
// event records the current text's digest as consent_sha256, and
// consent_confirmed when the recipient confirmed it.
func (s *Service) ConsentRecordedText(ctx context.Context, a Actor, envelopeID, textSHA256 string) (*Envelope, error) {
	if textSHA256 != "" && !checkDigest(textSHA256) {
		return nil, invalid("consent_sha256 must be a lowercase hex SHA-256")
	}
	return s.mutate(ctx, a, envelopeID, func(e *Envelope) (*change, error) {
		ct, err := s.ConsentText(ctx, e.Tenant)
		if err != nil {
			return nil, err
		}
		if textSHA256 != "" && textSHA256 != ct.SHA256 {
			return nil, withDetail(ErrConsentTextChanged, "the consent text changed since it was shown; read the current one (GET /v1/recipient/envelope) and consent again", nil)
		}
		r, started, err := recipientAction(e, a)
		if err != nil {
			return nil, err
		}
		if !r.ConsentedAt.IsZero() && !started {
			return &change{}, nil
		}
		if r.ConsentedAt.IsZero() {
			r.ConsentedAt = s.now()
		}
		details := map[string]string{"recipient_id": r.ID, "consent_sha256": ct.SHA256}
		if textSHA256 != "" {
			details["consent_confirmed"] = "true"
		}
		return &change{
			action: startAction(started),
			audit:  audit{typ: EventRecipientConsented, details: details},
		}, nil
	})
}

// Progress is what a signature changed in the routing.
type Progress struct {
	// RecipientDone: the recipient has now signed every document.
	RecipientDone bool
	// ReadyToComplete: every signer and approver is done; call
	// [Service.Complete] (after releasing the document lock), or let the
	// scheduler do it.
	ReadyToComplete bool
}

// RecipientSigned records that recipient a signed document documentID of
// envelope envelopeID, producing the version newSHA256 (already in the
// blob store), and records signature.created. When the recipient has
// signed every document they are done; when their parallel group is done
// the next routing order's recipients are notified.
//
// The caller MUST hold the document's lock (see [Service.LockDocument])
// from reading the current version until RecipientSigned returns, so that
// no signature is based on a stale version.
func (s *Service) RecipientSigned(ctx context.Context, a Actor, envelopeID, documentID, newSHA256 string) (Progress, error) {
	var p Progress
	if b, err := hex.DecodeString(newSHA256); err != nil || len(b) != 32 || hex.EncodeToString(b) != newSHA256 {
		return p, invalid("the new document version must be a lowercase hex SHA-256")
	}
	_, err := s.mutate(ctx, a, envelopeID, func(e *Envelope) (*change, error) {
		r, started, err := recipientAction(e, a)
		if err != nil {
			return nil, err
		}
		if r.ConsentedAt.IsZero() {
			return nil, withDetail(ErrNotYourTurn, "the recipient has not consented to sign electronically", nil)
		}
		d := e.Document(documentID)
		if d == nil {
			return nil, withDetail(ErrNotFound, "no document "+quoteID(documentID)+" in the envelope", nil)
		}
		if slices.Contains(r.Signed, documentID) {
			return nil, withDetail(ErrNotYourTurn, "the recipient already signed this document", nil)
		}
		prevSHA := d.SHA256
		d.SHA256 = newSHA256
		r.Signed = append(r.Signed, documentID)
		var notify []Notification
		if e.signedAll(r) {
			r.Status = RecipientCompleted
			r.CompletedAt = s.now()
			p.RecipientDone = true
			if cur, ok := e.CurrentOrder(); ok && cur != r.Order {
				notify = turnNotifications(e, e.activate())
			}
			p.ReadyToComplete = e.AllActed()
		}
		details := map[string]string{
			"recipient_id": r.ID, "role": string(r.Role), "document_id": documentID,
			"previous_sha256": prevSHA,
		}
		for k, v := range a.AuthDetails {
			if _, taken := details[k]; !taken {
				details[k] = v
			}
		}
		return &change{
			action: startAction(started),
			audit: audit{
				typ:     auditlog.SignatureCreated,
				subject: auditlog.Subject{DocumentSHA256: newSHA256},
				details: details,
			},
			notify:      notify,
			notifyLater: true,
		}, nil
	})
	if err != nil {
		return Progress{}, err
	}
	return p, nil
}

// RecipientDeclined records that recipient a declined envelope envelopeID
// with reason: the envelope is declined (recipient.declined) and the
// recipients contacted so far are told.
func (s *Service) RecipientDeclined(ctx context.Context, a Actor, envelopeID, reason string) (*Envelope, error) {
	if err := checkText("reason", reason, maxReasonLen, true); err != nil {
		return nil, err
	}
	return s.mutate(ctx, a, envelopeID, func(e *Envelope) (*change, error) {
		r, _, err := recipientAction(e, a)
		if err != nil {
			return nil, err
		}
		if err := transit(e, ActionDecline); err != nil {
			return nil, err
		}
		r.Status = RecipientDeclined
		r.DeclinedAt = s.now()
		r.DeclineReason = reason
		e.Reason = reason
		return &change{
			action: ActionDecline, reason: reason,
			audit:  audit{typ: auditlog.RecipientDeclined, details: map[string]string{"recipient_id": r.ID}, sensitive: freeText("reason", reason)},
			notify: endNotifications(e, r.ID),
		}, nil
	})
}
