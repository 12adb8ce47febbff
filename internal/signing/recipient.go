package signing

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/blob"
	"github.com/signet-pki/signet/internal/workflow"
)

// actor is the workflow actor of session ss in request req: with the
// session's authentication, and for a passkey session the facts of its
// confirmation ([intentDetails]) for the signature.created events.
func actor(ss Session, req auditlog.Request) workflow.Actor {
	return workflow.Actor{
		Tenant: ss.Tenant, Kind: auditlog.ActorRecipient, ID: ss.RecipientID,
		CorrelationID: req.CorrelationID, ClientRequestID: req.ClientRequestID, IP: req.IP, UserAgent: req.UserAgent,
		AuthMethods: slices.Clone(ss.Methods), AuthStrength: ss.Assurance, AuthDetails: intentDetails(ss),
	}
}

// intentDetails are the audit details of a passkey session's
// confirmation: the method, its time, the intent digest, and the SHA-256
// of the assertion's evidence (the evidence itself, up to 4 KiB, is in
// the signer certificate, not in the event); of a TOTP session, the
// method and its time. Nil for another session.
func intentDetails(ss Session) map[string]string {
	if totpSession(ss) {
		return map[string]string{"auth_method": totpMethod, "auth_time": ss.AuthTime.UTC().Format(time.RFC3339)}
	}
	if ss.Intent == nil {
		return nil
	}
	sum := sha256.Sum256(ss.Intent.Evidence)
	return map[string]string{
		"auth_method":          passkeyMethod,
		"auth_time":            ss.AuthTime.UTC().Format(time.RFC3339),
		"auth_evidence_sha256": hex.EncodeToString(sum[:]),
		"intent_digest":        hex.EncodeToString(ss.Intent.Digest[:]),
	}
}

// A View is what a verified recipient sees: the envelope's subject,
// message, state and documents (with their page sizes), their own entry
// and their own fields, and the consent text they accept before signing.
// Other recipients' names, addresses and fields are not shown.
type View struct {
	EnvelopeID string                      `json:"envelope_id"`
	Subject    string                      `json:"subject"`
	Message    string                      `json:"message,omitempty"`
	Status     workflow.Status             `json:"status"`
	ExpiresAt  time.Time                   `json:"expires_at"`
	Documents  []workflow.EnvelopeDocument `json:"documents"`
	Recipient  workflow.Recipient          `json:"recipient"`
	// CanAct reports whether it is the recipient's turn.
	CanAct bool `json:"can_act"`
	// Fields are the fields placed for this recipient to fill.
	Fields []workflow.Field `json:"fields"`
	// Consent is the text the recipient consents to before signing, with
	// its SHA-256, which POST /v1/recipient/consent may confirm.
	Consent workflow.ConsentText `json:"consent"`
}

// toView returns v as its recipient sees it. A document whose page sizes
// cannot be read is shown without them.
func (s *Service) toView(ctx context.Context, v *workflow.RecipientView) (View, error) {
	e := v.Envelope
	ct, err := s.wf.ConsentText(ctx, e.Tenant)
	if err != nil {
		return View{}, err
	}
	docs := slices.Clone(e.Documents)
	for i := range docs {
		if ps, err := s.wf.PageSizes(ctx, e.Tenant, docs[i].OriginalSHA256); err == nil {
			docs[i].PageSizes = ps
		}
	}
	fs := e.FieldsOf(v.Recipient.ID)
	if fs == nil {
		fs = []workflow.Field{}
	}
	return View{
		EnvelopeID: e.ID, Subject: e.Subject, Message: e.Message, Status: e.Status, ExpiresAt: e.ExpiresAt,
		Documents: docs, Recipient: v.Recipient, CanAct: v.CanAct, Fields: fs, Consent: ct,
	}, nil
}

// View returns the session's envelope as its recipient may see it, and
// records the first view (recipient.viewed) while it is their turn.
func (s *Service) View(ctx context.Context, ss Session, req auditlog.Request) (View, error) {
	wf := s.wf
	v, err := s.view(ctx, ss.EnvelopeID, ss.RecipientID)
	if err != nil {
		return View{}, err
	}
	if v.CanAct && v.Recipient.ViewedAt.IsZero() {
		if _, err := wf.MarkViewed(ctx, actor(ss, req), ss.EnvelopeID); err != nil {
			return View{}, err
		}
		if v, err = s.view(ctx, ss.EnvelopeID, ss.RecipientID); err != nil {
			return View{}, err
		}
	}
	return s.toView(ctx, v)
}

// Document opens the current version of document id of the session's
// envelope. A document of any other envelope is not found. The caller
// MUST close the reader.
func (s *Service) Document(ctx context.Context, ss Session, id string, req auditlog.Request) (blob.Reader, *workflow.EnvelopeDocument, error) {
	wf := s.wf
	rd, d, err := wf.OpenEnvelopeDocument(ctx, actor(ss, req), ss.EnvelopeID, id)
	if errors.Is(err, workflow.ErrNotFound) {
		return nil, nil, withDetail(ErrNotFound, "no such document in this envelope", nil)
	}
	return rd, d, err
}

// Consent records the recipient's consent to sign electronically.
func (s *Service) Consent(ctx context.Context, ss Session, req auditlog.Request) (View, error) {
	return s.ConsentText(ctx, ss, "", req)
}

// ConsentText records the recipient's consent to sign electronically
// under the consent text whose SHA-256 (hex) is textSHA256, as shown to
// them (View.Consent); empty: not confirmed. A digest of any other text
// than the tenant's current one is [workflow.ErrConsentTextChanged].
func (s *Service) ConsentText(ctx context.Context, ss Session, textSHA256 string, req auditlog.Request) (View, error) {
	if _, err := s.wf.ConsentRecordedText(ctx, actor(ss, req), ss.EnvelopeID, textSHA256); err != nil {
		return View{}, err
	}
	v, err := s.view(ctx, ss.EnvelopeID, ss.RecipientID)
	if err != nil {
		return View{}, err
	}
	return s.toView(ctx, v)
}

// Decline records that the recipient declines with reason, which ends the
// envelope; the recipient's links are used up.
func (s *Service) Decline(ctx context.Context, ss Session, reason string, req auditlog.Request) (View, error) {
	wf := s.wf
	if _, err := wf.RecipientDeclined(ctx, actor(ss, req), ss.EnvelopeID, reason); err != nil {
		return View{}, err
	}
	if err := s.cfg.Store.MarkLinksUsed(ctx, ss.EnvelopeID, ss.RecipientID, s.now()); err != nil {
		s.log.WarnContext(ctx, "signing: marking links used failed", "envelope", ss.EnvelopeID, "recipient", ss.RecipientID, "error", err)
	}
	v, err := s.view(ctx, ss.EnvelopeID, ss.RecipientID)
	if err != nil {
		return View{}, fmt.Errorf("signing: reload envelope: %w", err)
	}
	return s.toView(ctx, v)
}
