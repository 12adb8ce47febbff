package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/internal/workflow"
)

var _ workflow.FieldStore = (*Store)(nil)

// DocumentsAfter implements [workflow.FieldStore].
func (s *Store) DocumentsAfter(ctx context.Context, after string, limit int) ([]*workflow.Document, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, tenant, sha256, size, pages, name, created_ns
		FROM workflow_documents WHERE id COLLATE "C" > $1 ORDER BY id COLLATE "C" LIMIT $2`, after, max(limit, 0))
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []*workflow.Document
	for rows.Next() {
		d := &workflow.Document{}
		var created int64
		if err := rows.Scan(&d.ID, &d.Tenant, &d.SHA256, &d.Size, &d.Pages, &d.Name, &created); err != nil {
			return nil, wrap(err)
		}
		d.Created = time.Unix(0, created).UTC()
		out = append(out, d)
	}
	return out, wrap(rows.Err())
}

// EnvelopeIDsAfter implements [workflow.FieldStore].
func (s *Store) EnvelopeIDsAfter(ctx context.Context, after string, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM workflow_envelopes WHERE id > $1 ORDER BY id LIMIT $2`,
		after, max(limit, 0))
	if err != nil {
		return nil, wrap(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, wrap(err)
}

// SetDocumentName implements [workflow.FieldStore].
func (s *Store) SetDocumentName(ctx context.Context, id, old, name string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE workflow_documents SET name = $1 WHERE id = $2 AND name = $3`, name, id, old)
	if err != nil {
		return wrap(err)
	}
	if tag.RowsAffected() != 1 {
		return workflow.ErrStale
	}
	return nil
}

// SetEnvelopeFields implements [workflow.FieldStore].
func (s *Store) SetEnvelopeFields(ctx context.Context, e *workflow.Envelope, ts []workflow.Transition) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE workflow_envelopes SET subject = $1, message = $2, reason = $3
			WHERE id = $4 AND version = $5`, e.Subject, e.Message, e.Reason, e.ID, e.Version)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return workflow.ErrStale
		}
		b := &pgx.Batch{}
		for _, d := range e.Documents {
			b.Queue(`UPDATE workflow_envelope_documents SET name = $1 WHERE envelope_id = $2 AND document_id = $3`,
				d.Name, e.ID, d.DocumentID)
		}
		for _, r := range e.Recipients {
			b.Queue(`UPDATE workflow_recipients SET name = $1, email = $2, phone = $3, decline_reason = $4
				WHERE envelope_id = $5 AND id = $6`, r.Name, r.Email, r.Phone, r.DeclineReason, e.ID, r.ID)
		}
		for _, f := range e.Fields {
			b.Queue(`UPDATE workflow_placed_fields SET label = $1 WHERE envelope_id = $2 AND id = $3`, f.Label, e.ID, f.ID)
		}
		for _, t := range ts {
			b.Queue(`UPDATE workflow_transitions SET reason = $1 WHERE envelope_id = $2 AND seq = $3`, t.Reason, e.ID, t.Seq)
		}
		return tx.SendBatch(ctx, b).Close()
	})
}

// ScrubFreed implements [workflow.FieldStore]. PostgreSQL keeps replaced
// row versions until VACUUM reclaims them (autovacuum; the application's
// role does not own the tables), and no SQL reads them: it does nothing.
func (s *Store) ScrubFreed(context.Context) error { return nil }
