package workflow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
)

// EventEnvelopePurged is recorded when retention purges a finished
// envelope: its subject names the envelope, Details["documents"] the
// SHA-256 of every version of its documents (comma-separated), never
// their content.
const EventEnvelopePurged = auditlog.EnvelopePurged

// ErrDocumentInUse means a document cannot be deleted because an
// envelope that is not finished has it (409).
var ErrDocumentInUse = &api.Error{Kind: api.KindConflict, Type: "document-in-use"}

// DocumentObject returns the [KeyRing] object of document id's fields.
func DocumentObject(id string) string { return "document:" + id }

// EnvelopeObject returns the [KeyRing] object of envelope id's fields.
func EnvelopeObject(id string) string { return "envelope:" + id }

// RecipientObject returns the [KeyRing] object of the recipient side's
// state of recipient recipientID of envelope envelopeID.
func RecipientObject(envelopeID, recipientID string) string {
	return "recipient:" + envelopeID + "/" + recipientID
}

// DeleteDocument deletes the acting tenant's document id. A document
// that an envelope has is refused with [ErrDocumentInUse] until that
// envelope is finished (completed, declined, voided or expired); the
// envelope keeps its own versions. document.deleted is recorded first
// (with the document's SHA-256, never its content), then the row is
// deleted, the keys of its fields shredded, and, with [Config.Keys] set,
// its content shredded (see [Content]) unless another document or
// envelope of the tenant still uses it. The ciphertext then stays in the
// blob store, unreadable, until [Service.CollectGarbage] deletes it.
func (s *Service) DeleteDocument(ctx context.Context, a Actor, id string) error {
	if s.contents == nil {
		return errors.New("workflow: documents cannot be deleted: no content store")
	}
	d, err := s.Document(ctx, a, id)
	if err != nil {
		return err
	}
	// Under the document's lock, which envelope creation takes too, no
	// envelope starts to use it while it is deleted.
	lctx, unlock, err := s.LockDocument(ctx, id)
	if err != nil {
		return err
	}
	defer unlock()
	if inUse, err := s.contents.DocumentInUse(lctx, a.Tenant, id); err != nil {
		return fmt.Errorf("workflow: delete document: %w", err)
	} else if inUse {
		return withDetail(ErrDocumentInUse, "document "+quoteID(id)+" is part of an envelope that is not finished", nil)
	}
	if _, err := s.record(lctx, a, audit{
		typ: auditlog.DocumentDeleted, tenant: a.Tenant,
		subject: auditlog.Subject{DocumentSHA256: d.SHA256},
		details: map[string]string{"document_id": d.ID, "name": d.Name},
	}); err != nil {
		return err
	}
	inUse, err := s.contents.DeleteDocument(lctx, a.Tenant, id)
	switch {
	case errors.Is(err, ErrNoRecord):
		return withDetail(ErrNotFound, "no document "+quoteID(id), nil)
	case err != nil:
		return fmt.Errorf("workflow: delete document: %w", err)
	case inUse:
		return withDetail(ErrDocumentInUse, "document "+quoteID(id)+" is part of an envelope that is not finished", nil)
	}
	return s.shred(lctx, a.Tenant, []string{DocumentObject(id)}, []string{d.SHA256})
}

// shred destroys the data keys of objects of tenant, and those of the
// contents shas that nothing of tenant uses any more. Without
// [Config.Keys] nothing was sealed and there is nothing to shred.
func (s *Service) shred(ctx context.Context, tenant string, objects, shas []string) error {
	if s.cfg.Keys == nil {
		return nil
	}
	var errs []error
	for _, o := range objects {
		if err := s.cfg.Keys.Shred(ctx, tenant, o); err != nil {
			errs = append(errs, fmt.Errorf("workflow: shred %s: %w", o, err))
		}
	}
	for _, sha := range shas {
		if _, err := s.dropContent(ctx, tenant, sha, nil); err != nil {
			errs = append(errs, fmt.Errorf("workflow: shred content %s: %w", sha, err))
		}
	}
	return errors.Join(errs...)
}

// PurgeFinished purges the envelopes that finished (completed, declined,
// voided or expired) more than [Config.Retention] ago, at most a batch
// per call; it returns how many it purged and the first error. With
// Retention zero it does nothing. [Service.Tick] calls it.
//
// Each envelope is purged under its lock, after checking again that it
// is finished and old enough: envelope.purged is recorded (naming the
// SHA-256 of every version of its documents, never their content), its
// rows (documents, recipients, transitions) are deleted, the keys of its
// fields and of its recipients' state are shredded, and so are the
// contents of its versions that no other document or envelope of the
// tenant uses. The ciphertexts stay in the blob store, unreadable, until
// [Service.CollectGarbage] deletes them; the audit log still verifies.
func (s *Service) PurgeFinished(ctx context.Context) (int, error) {
	if s.cfg.Retention <= 0 || s.contents == nil {
		return 0, nil
	}
	cutoff := s.now().Add(-s.cfg.Retention)
	ids, err := s.contents.FinishedEnvelopes(ctx, cutoff, dueBatch)
	if err != nil {
		return 0, fmt.Errorf("workflow: purge: %w", err)
	}
	n := 0
	var first error
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		done, err := s.purge(ctx, id)
		if err != nil && first == nil {
			first = err
		}
		if done {
			n++
		}
	}
	return n, first
}

// purge purges envelope id if it is finished and was last updated more
// than the retention period ago, and reports whether it did.
func (s *Service) purge(ctx context.Context, id string) (bool, error) {
	unlock, err := s.lockEnvelope(ctx, id)
	if err != nil {
		return false, err
	}
	defer unlock()
	e, err := s.cfg.Envelopes.Envelope(ctx, id)
	if errors.Is(err, ErrNoRecord) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("workflow: purge %s: %w", id, err)
	}
	if !e.Status.Terminal() || !e.UpdatedAt.Before(s.now().Add(-s.cfg.Retention)) {
		return false, nil
	}
	var shas []string
	for _, d := range e.Documents {
		shas = append(shas, d.OriginalSHA256, d.SHA256)
	}
	slices.Sort(shas)
	shas = slices.Compact(shas)
	if _, err := s.record(ctx, System, audit{
		typ: EventEnvelopePurged, tenant: e.Tenant,
		subject: auditlog.Subject{EnvelopeID: e.ID},
		details: map[string]string{
			"status": string(e.Status), "documents": strings.Join(shas, ","),
			"retention": s.cfg.Retention.String(),
		},
	}); err != nil {
		return false, err
	}
	if p, ok := s.cfg.Notifier.(RecipientsPurger); ok {
		// First, so that a failure leaves the envelope to the next purge.
		if err := p.PurgeRecipients(ctx, id); err != nil {
			return false, fmt.Errorf("workflow: purge %s: %w", id, err)
		}
	}
	if err := s.contents.DeleteEnvelope(ctx, id); err != nil {
		return false, fmt.Errorf("workflow: purge %s: %w", id, err)
	}
	objects := []string{EnvelopeObject(id)}
	for _, r := range e.Recipients {
		objects = append(objects, RecipientObject(id, r.ID))
	}
	return true, s.shred(ctx, e.Tenant, objects, shas)
}
