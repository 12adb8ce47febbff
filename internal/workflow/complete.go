package workflow

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/signet-pki/signet/auditlog"
)

// Complete seals envelope id once every signer and approver has acted: it
// takes the locks of all its documents, then the envelope's, calls the
// [Completer], stores the sealed versions, moves the envelope to
// completed (envelope.completed) and notifies every recipient, cc
// recipients included. Completing an envelope that is already completed
// does nothing; one whose recipients have not all acted is
// [ErrInvalidTransition]. The caller MUST NOT hold any of the envelope's
// document locks.
//
// With [Config.Locks] shared by every node, completions of one envelope
// racing on several nodes (the last signers' requests, the schedulers)
// run one after the other, and all but the first find it completed: the
// seal, its event and the notifications happen once.
func (s *Service) Complete(ctx context.Context, id string) (*Envelope, error) {
	return s.complete(ctx, System, id)
}

func (s *Service) complete(ctx context.Context, a Actor, id string) (*Envelope, error) {
	// The document locks come first: a signature holds its document's
	// lock while it records itself under the envelope's, so this is the
	// one order everywhere. An envelope's documents are fixed once it is
	// sent; mutate checks that they are still the ones locked here.
	e, err := s.load(ctx, a, id)
	if err != nil {
		return nil, err
	}
	if e.Status == StatusCompleted {
		return e, nil
	}
	ids := documentIDs(e)
	lctx := ctx
	for _, did := range ids {
		c, unlock, err := s.LockDocument(lctx, did)
		if err != nil {
			return nil, err
		}
		defer unlock()
		lctx = c
	}
	return s.mutate(lctx, a, id, func(e *Envelope) (*change, error) {
		if e.Status == StatusCompleted {
			return &change{}, nil
		}
		if !e.AllActed() {
			return nil, withDetail(ErrInvalidTransition, "not every signer and approver has acted", nil)
		}
		if _, err := next(e.Status, ActionComplete); err != nil {
			return nil, err
		}
		if !slices.Equal(documentIDs(e), ids) {
			return nil, fmt.Errorf("workflow: complete envelope %s: its documents changed while they were being locked", e.ID)
		}
		sealed, err := s.cfg.Completer.Complete(lctx, e, s)
		if err != nil {
			return nil, fmt.Errorf("workflow: complete envelope %s: %w", e.ID, err)
		}
		for i := range e.Documents {
			d := &e.Documents[i]
			sum, ok := sealed[d.DocumentID]
			if !ok || len(sum) != 64 {
				return nil, fmt.Errorf("workflow: complete envelope %s: no sealed version of document %s", e.ID, d.DocumentID)
			}
			d.SHA256 = sum
		}
		if err := transit(e, ActionComplete); err != nil {
			return nil, err
		}
		e.CompletedAt = s.now()
		var notify []Notification
		for _, r := range e.Recipients {
			notify = append(notify, notification(NotifyCompleted, e, r))
		}
		return &change{
			action: ActionComplete,
			audit:  audit{typ: auditlog.EnvelopeCompleted, details: map[string]string{"documents": strconv.Itoa(len(e.Documents))}},
			notify: notify,
		}, nil
	})
}

// documentIDs returns the ids of e's documents in increasing order (the
// order their locks are taken in).
func documentIDs(e *Envelope) []string {
	ids := make([]string, len(e.Documents))
	for i, d := range e.Documents {
		ids[i] = d.DocumentID
	}
	slices.Sort(ids)
	return ids
}
