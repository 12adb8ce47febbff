package signing

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/pades"
	"github.com/signet-pki/signet/pki/ca"
)

// A SignedDocument is one new document version made by [Service.Sign].
type SignedDocument struct {
	DocumentID string `json:"document_id"`
	SHA256     string `json:"sha256"`
}

// A SignResult is what [Service.Sign] did.
type SignResult struct {
	Signed []SignedDocument `json:"signed"`
	// Completed reports whether this signature completed the envelope
	// (sealed at B-LTA).
	Completed bool `json:"completed"`
	// Status is the envelope's state after the signature: in_progress,
	// or completed.
	Status workflow.Status `json:"status"`
}

// Sign makes the session's recipient's signature on every document of the
// envelope they have not signed yet. Each document is signed under its
// lock: a key generated for this signature and certified by the tenant's
// issuing CA to the recipient's verified identity, a PAdES B-T approval
// signature with the configured time-stamp authority, the new revision
// stored, the workflow advanced; the key is destroyed afterwards. If the
// time-stamp authority or any other step fails, the document is left as
// it was. When the last signer is done, the envelope is completed (the
// seal); a failure there leaves it for the workflow scheduler to retry.
func (s *Service) Sign(ctx context.Context, ss Session, req auditlog.Request) (SignResult, error) {
	return s.SignFields(ctx, ss, nil, req)
}

// SignFields is [Service.Sign] with the values the recipient fills their
// placed fields with ([workflow.Field]): each value names one of the
// recipient's own fields; a date field shows the signing date (UTC,
// [DateFormat]) whatever was sent; a required field left empty is
// [ErrFieldsIncomplete], before anything is signed. Each document's
// signature shows the recipient's filled fields of that document as its
// widgets ([pades.Options.Widgets]), typed signatures and initials in the
// script face. The values are kept nowhere but in the signed documents.
func (s *Service) SignFields(ctx context.Context, ss Session, values []FieldValue, req auditlog.Request) (SignResult, error) {
	if s.cfg.ObserveSign == nil {
		return s.sign(ctx, ss, values, req)
	}
	ctx, done := s.cfg.ObserveSign(ctx)
	res, err := s.sign(ctx, ss, values, req)
	done(err)
	return res, err
}

func (s *Service) sign(ctx context.Context, ss Session, values []FieldValue, req auditlog.Request) (SignResult, error) {
	wf := s.wf
	if err := checkFieldValues(values); err != nil {
		return SignResult{}, err
	}
	v, err := s.view(ctx, ss.EnvelopeID, ss.RecipientID)
	if err != nil {
		return SignResult{}, err
	}
	if err := canSign(v); err != nil {
		return SignResult{}, err
	}
	if err := checkIntent(v, ss); err != nil {
		return SignResult{}, err
	}
	fills, err := fillFields(v.Envelope.FieldsOf(ss.RecipientID), values, s.now())
	if err != nil {
		return SignResult{}, err
	}
	a := actor(ss, req)
	ids := make([]string, 0, len(v.Envelope.Documents))
	for _, d := range v.Envelope.Documents {
		if !slices.Contains(v.Recipient.Signed, d.DocumentID) {
			ids = append(ids, d.DocumentID)
		}
	}
	slices.Sort(ids)
	var res SignResult
	var p workflow.Progress
	for _, id := range ids {
		sd, prog, err := s.signDocument(ctx, wf, ss, a, id, fills)
		if err != nil {
			return SignResult{}, err
		}
		if sd != nil {
			res.Signed = append(res.Signed, *sd)
			p = prog
		}
	}
	if p.RecipientDone {
		if err := s.cfg.Store.MarkLinksUsed(ctx, ss.EnvelopeID, ss.RecipientID, s.now()); err != nil {
			s.log.WarnContext(ctx, "signing: marking links used failed", "envelope", ss.EnvelopeID, "error", err)
		}
	}
	res.Status = workflow.StatusInProgress
	if p.ReadyToComplete {
		e, err := wf.Complete(context.WithoutCancel(ctx), ss.EnvelopeID)
		if err != nil {
			s.log.WarnContext(ctx, "signing: completion failed; the scheduler retries", "envelope", ss.EnvelopeID, "error", err)
		} else {
			res.Completed = e.Status == workflow.StatusCompleted
			res.Status = e.Status
		}
	}
	return res, nil
}

// canSign checks, before any certificate is issued, that the recipient
// may sign now; the workflow checks again under the envelope lock.
func canSign(v *workflow.RecipientView) error {
	e, r := v.Envelope, v.Recipient
	switch {
	case e.Status != workflow.StatusSent && e.Status != workflow.StatusInProgress:
		return withDetail(workflow.ErrInvalidTransition, "the envelope is "+string(e.Status), nil)
	case !r.Role.Acts():
		return withDetail(ErrNotSigner, "a "+string(r.Role)+" recipient does not sign", nil)
	case r.Status == workflow.RecipientCompleted:
		return withDetail(workflow.ErrNotYourTurn, "the recipient has already signed", nil)
	case r.Status != workflow.RecipientActive:
		return withDetail(workflow.ErrNotYourTurn, "it is not the recipient's turn", nil)
	case r.ConsentedAt.IsZero():
		return withDetail(ErrConsentRequired, "consent to sign electronically first (POST /v1/recipient/consent)", nil)
	}
	return nil
}

// checkIntent checks that session ss may sign what v's recipient has
// left to sign: a passkey recipient signs only in a session opened by a
// passkey confirmation, and every recipient of a high-assurance envelope
// only in such a session or, a totp recipient, in one opened by their
// TOTP code ([ErrPasskeyRequired]); a passkey confirmation's intent must be
// the recipient's and approve the current version of every document
// left ([ErrIntentOutdated] when another signer changed one since).
// [Service.Sign] checks before anything is signed, and again under each
// document's lock.
func checkIntent(v *workflow.RecipientView, ss Session) error {
	if ss.Intent == nil {
		level := workflow.NormalizeAuth(v.Recipient.Auth)
		totpOK := level == workflow.AuthTOTP && totpSession(ss)
		if level == workflow.AuthPasskey || (v.Envelope.HighAssurance && !totpOK) {
			return withDetail(ErrPasskeyRequired, "this signature needs a passkey confirmation of the documents (POST /v1/recipient/passkey/begin and /finish)", nil)
		}
		return nil
	}
	if !ss.Intent.Binds(ss.EnvelopeID, ss.RecipientID) {
		return withDetail(ErrInvalidSession, "the session's passkey confirmation is not this recipient's", nil)
	}
	for _, d := range toSign(v) {
		if sum, ok := ss.Intent.version(d.DocumentID); !ok || sum != d.SHA256 {
			return withDetail(ErrIntentOutdated, fmt.Sprintf("document %s changed since your passkey confirmation (another signer signed it first): what you approved is not what would be signed; confirm the current versions again (POST /v1/recipient/passkey/begin)", d.DocumentID), nil)
		}
	}
	return nil
}

// signDocument signs document id under its lock. It returns nil if the
// recipient signed it meanwhile.
func (s *Service) signDocument(ctx context.Context, wf Workflow, ss Session, a workflow.Actor, id string, fills []filled) (*SignedDocument, workflow.Progress, error) {
	lctx, unlock, err := wf.LockDocument(ctx, id)
	if err != nil {
		return nil, workflow.Progress{}, err
	}
	defer unlock()
	// Read the current version under the lock.
	v, err := s.view(lctx, ss.EnvelopeID, ss.RecipientID)
	if err != nil {
		return nil, workflow.Progress{}, err
	}
	if err := canSign(v); err != nil {
		return nil, workflow.Progress{}, err
	}
	if err := checkIntent(v, ss); err != nil {
		return nil, workflow.Progress{}, err
	}
	d := v.Envelope.Document(id)
	if d == nil || slices.Contains(v.Recipient.Signed, id) {
		return nil, workflow.Progress{}, nil
	}
	var widgets []pades.Widget
	if slices.ContainsFunc(fills, func(f filled) bool { return f.field.DocumentID == id }) {
		pages, err := wf.PageSizes(lctx, v.Envelope.Tenant, d.OriginalSHA256)
		if err != nil {
			return nil, workflow.Progress{}, fmt.Errorf("signing: page sizes: %w", err)
		}
		widgets = widgetsOf(fills, id, pages)
	}
	update, err := s.signVersion(lctx, ss, v.Envelope.Tenant, v.Recipient, d.SHA256, widgets)
	if err != nil {
		return nil, workflow.Progress{}, err
	}
	name, _, err := wf.AppendContent(lctx, v.Envelope.Tenant, d.SHA256, bytes.NewReader(update))
	if err != nil {
		return nil, workflow.Progress{}, fmt.Errorf("signing: store signed document: %w", err)
	}
	p, err := wf.RecipientSigned(lctx, a, ss.EnvelopeID, id, name)
	if err != nil {
		// The blob is unreferenced; the workflow's garbage collection
		// removes it.
		return nil, workflow.Progress{}, err
	}
	return &SignedDocument{DocumentID: id, SHA256: name}, p, nil
}

// signVersion returns the incremental update that adds the recipient's
// B-T signature to tenant's content sum. Thanks to the content's digest
// state, the document is not hashed again, and only the parts of it the
// update needs are read.
func (s *Service) signVersion(ctx context.Context, ss Session, tenant string, r workflow.Recipient, sum string, widgets []pades.Widget) ([]byte, error) {
	rd, size, err := s.wf.OpenContent(ctx, tenant, sum)
	if err != nil {
		return nil, fmt.Errorf("signing: open document: %w", err)
	}
	defer rd.Close()
	prefix, err := s.wf.ContentDigest(ctx, tenant, sum)
	if err != nil {
		return nil, fmt.Errorf("signing: document digest: %w", err)
	}
	chain, err := caChain(s.cfg.CA, ss.Tenant)
	if err != nil {
		return nil, err
	}
	id := ca.Identity{Name: r.Name, Email: ss.Email, Tenant: ss.Tenant}
	// The evidence is what the session's verification proved, as stored
	// with it; a session without any proves nothing and signs nothing.
	if len(ss.Methods) == 0 || ss.Assurance == "" {
		return nil, withDetail(ErrInvalidSession, "the session carries no authentication evidence; verify again", nil)
	}
	ev := ca.AuthEvidence{Methods: slices.Clone(ss.Methods), AssuranceLevel: ss.Assurance, Time: ss.AuthTime}
	details := map[string]string{"purpose": "ephemeral-signer", "operation": "sign"}
	if in := ss.Intent; in != nil {
		ev.SigningIntent = &ca.SigningIntent{DocumentSHA256: in.Digest, EnvelopeID: ss.EnvelopeID, SignerID: ss.RecipientID,
			Challenge: in.Challenge, Assertion: slices.Clone(in.Evidence)}
		for k, v := range intentDetails(ss) {
			details[k] = v
		}
	}
	signer, cert, done, err := s.cfg.CA.IssueEphemeral(ctx, id, ev)
	if err != nil {
		return nil, withDetail(ErrUnavailable, "the signing certificate could not be issued; nothing was signed", err)
	}
	defer func() {
		if err := done(); err != nil {
			s.log.ErrorContext(ctx, "signing: destroying the ephemeral key failed", "serial", cert.SerialNumber.String(), "error", err)
		}
	}()
	if err := s.cfg.Audit.Record(ctx, auditlog.Event{
		Type: auditlog.KeyUsed, Tenant: ss.Tenant,
		Actor:   auditlog.Actor{Kind: auditlog.ActorRecipient, ID: ss.RecipientID, AuthMethods: ss.Methods, AuthStrength: ss.Assurance},
		Subject: auditlog.Subject{EnvelopeID: ss.EnvelopeID, DocumentSHA256: sum, CertificateSerial: cert.SerialNumber.Text(16)},
		Outcome: auditlog.OutcomeSuccess,
		Details: details,
	}); err != nil {
		return nil, withDetail(ErrUnavailable, "the signature could not be recorded; nothing was signed", err)
	}
	var out bytes.Buffer
	err = pades.SignUpdate(ctx, &out, rd, size, prefix, pades.Options{
		Signer: signer, Certificates: append([]*x509.Certificate{cert}, chain...),
		Level: pades.LevelBT, Timestamper: s.cfg.Timestamper,
		Name: r.Name, Reason: "Signed by " + r.Name + " (" + string(r.Role) + ")",
		Time: s.now(), Widgets: widgets,
	})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		return nil, withDetail(ErrUnavailable, "the signature or its time-stamp could not be made; nothing was signed", err)
	}
	return out.Bytes(), nil
}

// caChain returns the tenant's issuing CA certificate and the root.
func caChain(a Authority, tenant string) ([]*x509.Certificate, error) {
	iss, err := a.Issuer(tenant)
	if err != nil {
		return nil, withDetail(ErrUnavailable, "the tenant has no issuing CA", err)
	}
	root, err := a.Issuer(ca.RootName)
	if err != nil {
		return nil, withDetail(ErrUnavailable, "no root CA", err)
	}
	return []*x509.Certificate{iss.Certificate, root.Certificate}, nil
}
