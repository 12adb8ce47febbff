package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/webhook"
	webhooksqlite "github.com/signet-pki/signet/internal/webhook/sqlite"
	"github.com/signet-pki/signet/internal/workflow"
)

// InsertEnvelope implements [workflow.EnvelopeStore].
func (s *Store) InsertEnvelope(ctx context.Context, e *workflow.Envelope, t workflow.Transition) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO workflow_envelopes
			(id, tenant, status, subject, message, expires_ns, reminder_ns, created_by,
			 created_ns, updated_ns, sent_ns, completed_ns, reason, version, next_due_ns, allow_link_only,
			 approval_required, high_assurance)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.Tenant, string(e.Status), e.Subject, e.Message, e.ExpiresAt.UnixNano(), int64(e.ReminderEvery),
			e.CreatedBy, e.CreatedAt.UnixNano(), e.UpdatedAt.UnixNano(), nanos(e.SentAt), nanos(e.CompletedAt),
			e.Reason, e.Version, nanos(e.NextDue()), e.AllowLinkOnly, e.ApprovalRequired, e.HighAssurance)
		if err != nil {
			return err
		}
		for i, d := range e.Documents {
			if _, err := tx.ExecContext(ctx, `INSERT INTO workflow_envelope_documents
				(envelope_id, position, document_id, name, pages, original_sha256, sha256)
				VALUES (?, ?, ?, ?, ?, ?, ?)`,
				e.ID, i, d.DocumentID, d.Name, d.Pages, d.OriginalSHA256, d.SHA256); err != nil {
				return err
			}
		}
		for i, r := range e.Recipients {
			if _, err := tx.ExecContext(ctx, `INSERT INTO workflow_recipients
				(envelope_id, position, id, role, name, email, auth, routing_order, status, signed,
				 notified_ns, reminded_ns, viewed_ns, consented_ns, completed_ns, declined_ns, decline_reason,
				 phone, access_code_hash)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				e.ID, i, r.ID, string(r.Role), r.Name, r.Email, r.Auth, r.Order, string(r.Status),
				strings.Join(r.Signed, ","), nanos(r.NotifiedAt), nanos(r.RemindedAt), nanos(r.ViewedAt),
				nanos(r.ConsentedAt), nanos(r.CompletedAt), nanos(r.DeclinedAt), r.DeclineReason,
				r.Phone, r.AccessCodeHash); err != nil {
				return err
			}
		}
		if err := insertFields(ctx, tx, e); err != nil {
			return err
		}
		return insertTransition(ctx, tx, t)
	})
}

// insertFields inserts e's placed fields.
func insertFields(ctx context.Context, tx *sql.Tx, e *workflow.Envelope) error {
	for i, f := range e.Fields {
		if _, err := tx.ExecContext(ctx, `INSERT INTO workflow_placed_fields
			(envelope_id, position, id, document_id, recipient_id, kind, page, x, y, width, height, required, label)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, i, f.ID, f.DocumentID, f.RecipientID, string(f.Kind), f.Page, f.X, f.Y, f.W, f.H, f.Required, f.Label); err != nil {
			return err
		}
	}
	return nil
}

func insertTransition(ctx context.Context, tx *sql.Tx, t workflow.Transition) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO workflow_transitions
		(envelope_id, seq, from_status, to_status, action, actor_kind, actor_id, reason, at_ns, correlation_id, audit_event_id)
		VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM workflow_transitions WHERE envelope_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.EnvelopeID, t.EnvelopeID, string(t.From), string(t.To), string(t.Action), t.ActorKind, t.ActorID,
		t.Reason, t.At.UnixNano(), t.CorrelationID, t.AuditEventID)
	return err
}

// UpdateEnvelope implements [workflow.EnvelopeStore]. Documents and
// recipients are fixed when the draft is created; their mutable columns
// are updated in place. The placed fields of a draft are replaced. The webhook messages out go to the webhook outbox
// (internal/webhook/sqlite's tables, in the same database) in the same
// transaction.
func (s *Store) UpdateEnvelope(ctx context.Context, e *workflow.Envelope, prev int64, t *workflow.Transition, out ...webhook.Message) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE workflow_envelopes SET
			status = ?, updated_ns = ?, sent_ns = ?, completed_ns = ?, reason = ?, version = ?, next_due_ns = ?
			WHERE id = ? AND version = ?`,
			string(e.Status), e.UpdatedAt.UnixNano(), nanos(e.SentAt), nanos(e.CompletedAt), e.Reason,
			e.Version, nanos(e.NextDue()), e.ID, prev)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return workflow.ErrStale
		}
		for _, d := range e.Documents {
			if _, err := tx.ExecContext(ctx, `UPDATE workflow_envelope_documents SET sha256 = ?
				WHERE envelope_id = ? AND document_id = ?`, d.SHA256, e.ID, d.DocumentID); err != nil {
				return err
			}
		}
		for _, r := range e.Recipients {
			if _, err := tx.ExecContext(ctx, `UPDATE workflow_recipients SET
				status = ?, signed = ?, notified_ns = ?, reminded_ns = ?, viewed_ns = ?, consented_ns = ?,
				completed_ns = ?, declined_ns = ?, decline_reason = ?
				WHERE envelope_id = ? AND id = ?`,
				string(r.Status), strings.Join(r.Signed, ","), nanos(r.NotifiedAt), nanos(r.RemindedAt),
				nanos(r.ViewedAt), nanos(r.ConsentedAt), nanos(r.CompletedAt), nanos(r.DeclinedAt),
				r.DeclineReason, e.ID, r.ID); err != nil {
				return err
			}
		}
		if e.Status == workflow.StatusDraft {
			if _, err := tx.ExecContext(ctx, `DELETE FROM workflow_placed_fields WHERE envelope_id = ?`, e.ID); err != nil {
				return err
			}
			if err := insertFields(ctx, tx, e); err != nil {
				return err
			}
		}
		if t != nil {
			if err := insertTransition(ctx, tx, *t); err != nil {
				return err
			}
		}
		if len(out) > 0 {
			return webhooksqlite.InsertMessages(ctx, tx, out)
		}
		return nil
	})
}

const envelopeColumns = `id, tenant, status, subject, message, expires_ns, reminder_ns, created_by,
	created_ns, updated_ns, sent_ns, completed_ns, reason, version, allow_link_only,
	approval_required, high_assurance`

type scanner interface{ Scan(dest ...any) error }

func scanEnvelope(sc scanner) (*workflow.Envelope, error) {
	e := &workflow.Envelope{}
	var status string
	var expires, reminder, created, updated int64
	var sent, completed sql.NullInt64
	if err := sc.Scan(&e.ID, &e.Tenant, &status, &e.Subject, &e.Message, &expires, &reminder, &e.CreatedBy,
		&created, &updated, &sent, &completed, &e.Reason, &e.Version, &e.AllowLinkOnly,
		&e.ApprovalRequired, &e.HighAssurance); err != nil {
		return nil, err
	}
	e.Status = workflow.Status(status)
	e.ExpiresAt = time.Unix(0, expires).UTC()
	e.ReminderEvery = time.Duration(reminder)
	e.CreatedAt = time.Unix(0, created).UTC()
	e.UpdatedAt = time.Unix(0, updated).UTC()
	e.SentAt = fromNanos(sent)
	e.CompletedAt = fromNanos(completed)
	return e, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// fill loads e's documents and recipients.
func fill(ctx context.Context, q querier, e *workflow.Envelope) error {
	rows, err := q.QueryContext(ctx, `SELECT document_id, name, pages, original_sha256, sha256
		FROM workflow_envelope_documents WHERE envelope_id = ? ORDER BY position`, e.ID)
	if err != nil {
		return err
	}
	for rows.Next() {
		var d workflow.EnvelopeDocument
		if err := rows.Scan(&d.DocumentID, &d.Name, &d.Pages, &d.OriginalSHA256, &d.SHA256); err != nil {
			rows.Close()
			return err
		}
		e.Documents = append(e.Documents, d)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	rows, err = q.QueryContext(ctx, `SELECT id, role, name, email, auth, routing_order, status, signed,
		notified_ns, reminded_ns, viewed_ns, consented_ns, completed_ns, declined_ns, decline_reason,
		phone, access_code_hash
		FROM workflow_recipients WHERE envelope_id = ? ORDER BY position`, e.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r workflow.Recipient
		var role, status, signed string
		var notified, reminded, viewed, consented, completed, declined sql.NullInt64
		if err := rows.Scan(&r.ID, &role, &r.Name, &r.Email, &r.Auth, &r.Order, &status, &signed,
			&notified, &reminded, &viewed, &consented, &completed, &declined, &r.DeclineReason,
			&r.Phone, &r.AccessCodeHash); err != nil {
			return err
		}
		r.Role, r.Status = workflow.Role(role), workflow.RecipientStatus(status)
		if signed != "" {
			r.Signed = strings.Split(signed, ",")
		}
		r.NotifiedAt, r.RemindedAt, r.ViewedAt = fromNanos(notified), fromNanos(reminded), fromNanos(viewed)
		r.ConsentedAt, r.CompletedAt, r.DeclinedAt = fromNanos(consented), fromNanos(completed), fromNanos(declined)
		e.Recipients = append(e.Recipients, r)
	}
	if err := rows.Close(); err != nil {
		return err
	}
	rows, err = q.QueryContext(ctx, `SELECT id, document_id, recipient_id, kind, page, x, y, width, height, required, label
		FROM workflow_placed_fields WHERE envelope_id = ? ORDER BY position`, e.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var f workflow.Field
		var kind string
		if err := rows.Scan(&f.ID, &f.DocumentID, &f.RecipientID, &kind, &f.Page, &f.X, &f.Y, &f.W, &f.H,
			&f.Required, &f.Label); err != nil {
			return err
		}
		f.Kind = workflow.FieldKind(kind)
		e.Fields = append(e.Fields, f)
	}
	return rows.Err()
}

// Envelope implements [workflow.EnvelopeStore].
func (s *Store) Envelope(ctx context.Context, id string) (*workflow.Envelope, error) {
	var e *workflow.Envelope
	err := s.view(ctx, func(tx *sql.Tx) error {
		var err error
		e, err = scanEnvelope(tx.QueryRowContext(ctx, "SELECT "+envelopeColumns+" FROM workflow_envelopes WHERE id = ?", id))
		if errors.Is(err, sql.ErrNoRows) {
			return workflow.ErrNoRecord
		}
		if err != nil {
			return err
		}
		return fill(ctx, tx, e)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// ListEnvelopes implements [workflow.EnvelopeStore].
func (s *Store) ListEnvelopes(ctx context.Context, tenant string, f workflow.ListFilter) ([]*workflow.Envelope, error) {
	q := "SELECT " + envelopeColumns + " FROM workflow_envelopes WHERE tenant = ?"
	args := []any{tenant}
	if f.Status != "" {
		q += " AND status = ?"
		args = append(args, string(f.Status))
	}
	if f.AfterID != "" {
		q += " AND (created_ns < ? OR (created_ns = ? AND id < ?))"
		n := f.AfterCreated.UnixNano()
		args = append(args, n, n, f.AfterID)
	}
	q += " ORDER BY created_ns DESC, id DESC LIMIT ?"
	args = append(args, max(f.Limit, 1))
	var out []*workflow.Envelope
	err := s.view(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			e, err := scanEnvelope(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, e)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, e := range out {
			if err := fill(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DueEnvelopes implements [workflow.EnvelopeStore]. Envelopes due at the
// same instant come in id order; a limit below 1 returns none.
func (s *Store) DueEnvelopes(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := s.pool.Reader().QueryContext(ctx, `SELECT id FROM workflow_envelopes
		WHERE next_due_ns IS NOT NULL AND next_due_ns <= ? ORDER BY next_due_ns, id LIMIT ?`, now.UnixNano(), max(limit, 0))
	if err != nil {
		return nil, fmt.Errorf("workflow/sqlite: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("workflow/sqlite: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// CompletedEnvelopes implements [workflow.EnvelopeStore]; a limit below
// 1 returns none.
func (s *Store) CompletedEnvelopes(ctx context.Context, after string, limit int) ([]string, error) {
	rows, err := s.pool.Reader().QueryContext(ctx, `SELECT id FROM workflow_envelopes
		WHERE status = ? AND id > ? ORDER BY id LIMIT ?`, string(workflow.StatusCompleted), after, max(limit, 0))
	if err != nil {
		return nil, fmt.Errorf("workflow/sqlite: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("workflow/sqlite: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// Transitions implements [workflow.EnvelopeStore].
func (s *Store) Transitions(ctx context.Context, id string) ([]workflow.Transition, error) {
	rows, err := s.pool.Reader().QueryContext(ctx, `SELECT seq, from_status, to_status, action, actor_kind, actor_id,
		reason, at_ns, correlation_id, audit_event_id
		FROM workflow_transitions WHERE envelope_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("workflow/sqlite: %w", err)
	}
	defer rows.Close()
	var out []workflow.Transition
	for rows.Next() {
		t := workflow.Transition{EnvelopeID: id}
		var from, to, action string
		var at int64
		if err := rows.Scan(&t.Seq, &from, &to, &action, &t.ActorKind, &t.ActorID, &t.Reason, &at,
			&t.CorrelationID, &t.AuditEventID); err != nil {
			return nil, fmt.Errorf("workflow/sqlite: %w", err)
		}
		t.From, t.To, t.Action = workflow.Status(from), workflow.Status(to), workflow.Action(action)
		t.At = time.Unix(0, at).UTC()
		out = append(out, t)
	}
	return out, rows.Err()
}
