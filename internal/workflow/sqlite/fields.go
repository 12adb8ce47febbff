package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/signet-pki/signet/internal/workflow"
)

var _ workflow.FieldStore = (*Store)(nil)

// DocumentsAfter implements [workflow.FieldStore].
func (s *Store) DocumentsAfter(ctx context.Context, after string, limit int) ([]*workflow.Document, error) {
	rows, err := s.pool.Reader().QueryContext(ctx, `SELECT id, tenant, sha256, size, pages, name, created_ns
		FROM workflow_documents WHERE id > ? ORDER BY id LIMIT ?`, after, max(limit, 0))
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
	rows, err := s.pool.Reader().QueryContext(ctx, `SELECT id FROM workflow_envelopes WHERE id > ? ORDER BY id LIMIT ?`,
		after, max(limit, 0))
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, wrap(err)
		}
		out = append(out, id)
	}
	return out, wrap(rows.Err())
}

// SetDocumentName implements [workflow.FieldStore].
func (s *Store) SetDocumentName(ctx context.Context, id, old, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		// secure_delete zeroes the bytes the update frees.
		if _, err := tx.ExecContext(ctx, "PRAGMA secure_delete = ON"); err != nil {
			return err
		}
		defer tx.ExecContext(ctx, "PRAGMA secure_delete = OFF")
		res, err := tx.ExecContext(ctx, `UPDATE workflow_documents SET name = ? WHERE id = ? AND name = ?`, name, id, old)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return workflow.ErrStale
		}
		return nil
	})
}

// SetEnvelopeFields implements [workflow.FieldStore].
func (s *Store) SetEnvelopeFields(ctx context.Context, e *workflow.Envelope, ts []workflow.Transition) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "PRAGMA secure_delete = ON"); err != nil {
			return err
		}
		defer tx.ExecContext(ctx, "PRAGMA secure_delete = OFF")
		res, err := tx.ExecContext(ctx, `UPDATE workflow_envelopes SET subject = ?, message = ?, reason = ?
			WHERE id = ? AND version = ?`, e.Subject, e.Message, e.Reason, e.ID, e.Version)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return workflow.ErrStale
		}
		for _, d := range e.Documents {
			if _, err := tx.ExecContext(ctx, `UPDATE workflow_envelope_documents SET name = ?
				WHERE envelope_id = ? AND document_id = ?`, d.Name, e.ID, d.DocumentID); err != nil {
				return err
			}
		}
		for _, r := range e.Recipients {
			if _, err := tx.ExecContext(ctx, `UPDATE workflow_recipients SET name = ?, email = ?, phone = ?, decline_reason = ?
				WHERE envelope_id = ? AND id = ?`, r.Name, r.Email, r.Phone, r.DeclineReason, e.ID, r.ID); err != nil {
				return err
			}
		}
		for _, f := range e.Fields {
			if _, err := tx.ExecContext(ctx, `UPDATE workflow_placed_fields SET label = ? WHERE envelope_id = ? AND id = ?`,
				f.Label, e.ID, f.ID); err != nil {
				return err
			}
		}
		for _, t := range ts {
			if _, err := tx.ExecContext(ctx, `UPDATE workflow_transitions SET reason = ? WHERE envelope_id = ? AND seq = ?`,
				t.Reason, e.ID, t.Seq); err != nil {
				return err
			}
		}
		return nil
	})
}

// ScrubFreed implements [workflow.FieldStore]: the Set methods zero what
// they free (secure_delete), and the former pages still in the
// write-ahead log go with it, truncated after a full checkpoint.
func (s *Store) ScrubFreed(ctx context.Context) error {
	var busy, logged, done int
	if err := s.pool.Writer().QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logged, &done); err != nil {
		return wrap(err)
	}
	if busy != 0 {
		return wrap(errors.New("checkpoint of the write-ahead log blocked by a reader; former values may remain in it"))
	}
	return nil
}
