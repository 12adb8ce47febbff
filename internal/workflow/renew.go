package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/signet-pki/signet/auditlog"
)

// EventDocumentArchiveRenewed is recorded when archive renewal moves a
// completed envelope's document to a renewed version (see
// [Service.RenewDocument]).
const EventDocumentArchiveRenewed = auditlog.DocumentArchiveRenewed

// ArchiveActor is the actor of archive renewals (package internal/archive).
var ArchiveActor = Actor{Kind: auditlog.ActorSystem, ID: "archive"}

// A DocumentRenewal is one archive renewal of a completed envelope's
// document: its version SHA256 is PreviousSHA256 followed by validation
// data and a new document time-stamp.
type DocumentRenewal struct {
	// EnvelopeID and DocumentID name the envelope's document.
	EnvelopeID, DocumentID string
	// PreviousSHA256 is the version the renewal extends, which MUST be
	// the document's current one; SHA256 is the renewed version, already
	// stored as a content of the envelope's tenant.
	PreviousSHA256, SHA256 string
	// Authority is the subject of the authority whose time-stamp was the
	// latest before the renewal, and Due when renewal was due (its
	// certificate's expiry less the renewal margin, or when its
	// algorithms weaken).
	Authority string
	Due       time.Time
	// Reason says in a few words why it was due.
	Reason string
}

// RenewDocument makes r.SHA256 the current version of document
// r.DocumentID of completed envelope r.EnvelopeID, under the envelope's
// lock: the envelope must be completed and the document's current
// version r.PreviousSHA256 ([ErrInvalidTransition] otherwise, so that a
// renewal raced by another stores nothing), and the renewed version must
// be a stored content of its tenant. It records
// document.archive_renewed (subject: the envelope and r.SHA256; details:
// document_id, previous_sha256, authority, due, reason) before storing
// the envelope (fail closed: without the event nothing changes); the
// state does not move. The caller holds the document's lock
// ([Service.LockDocument]) from reading r.PreviousSHA256 until this
// returns.
func (s *Service) RenewDocument(ctx context.Context, r DocumentRenewal) error {
	if len(r.SHA256) != 64 || len(r.PreviousSHA256) != 64 || r.SHA256 == r.PreviousSHA256 {
		return invalid("a renewal names two different SHA-256 versions")
	}
	_, err := s.mutate(ctx, ArchiveActor, r.EnvelopeID, func(e *Envelope) (*change, error) {
		if e.Status != StatusCompleted {
			return nil, withDetail(ErrInvalidTransition, "only a completed envelope's documents are renewed", nil)
		}
		var d *EnvelopeDocument
		for i := range e.Documents {
			if e.Documents[i].DocumentID == r.DocumentID {
				d = &e.Documents[i]
			}
		}
		if d == nil {
			return nil, withDetail(ErrNotFound, "no document "+quoteID(r.DocumentID)+" in envelope "+quoteID(e.ID), nil)
		}
		if d.SHA256 != r.PreviousSHA256 {
			return nil, withDetail(ErrInvalidTransition, "the document's version changed since the renewal began", nil)
		}
		if _, err := s.ContentDigest(ctx, e.Tenant, r.SHA256); err != nil {
			return nil, fmt.Errorf("workflow: renewed version of document %s: %w", r.DocumentID, err)
		}
		d.SHA256 = r.SHA256
		return &change{audit: audit{
			typ:     EventDocumentArchiveRenewed,
			subject: auditlog.Subject{DocumentSHA256: r.SHA256},
			details: map[string]string{
				"document_id":     r.DocumentID,
				"previous_sha256": r.PreviousSHA256,
				"authority":       r.Authority,
				"due":             r.Due.UTC().Format(time.RFC3339),
				"reason":          r.Reason,
			},
		}}, nil
	})
	return err
}

// CompletedEnvelopes returns the ids of at most limit completed envelopes
// of every tenant whose ids sort after after, in id order: a page of a
// walk over them (see [EnvelopeStore.CompletedEnvelopes]).
func (s *Service) CompletedEnvelopes(ctx context.Context, after string, limit int) ([]string, error) {
	ids, err := s.rawEnvs.CompletedEnvelopes(ctx, after, limit)
	if err != nil {
		return nil, fmt.Errorf("workflow: completed envelopes: %w", err)
	}
	return ids, nil
}
