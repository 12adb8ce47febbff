package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/internal/webhook"
	webhookpostgres "github.com/signet-pki/signet/internal/webhook/postgres"
	"github.com/signet-pki/signet/internal/workflow"
)

// InsertEnvelope implements [workflow.EnvelopeStore]. The rows are sent
// as one batch inside the transaction.
func (s *Store) InsertEnvelope(ctx context.Context, e *workflow.Envelope, t workflow.Transition) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO workflow_envelopes
			(id, tenant, status, subject, message, expires_ns, reminder_ns, created_by,
			 created_ns, updated_ns, sent_ns, completed_ns, reason, version, next_due_ns, allow_link_only,
			 approval_required, high_assurance)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
			e.ID, e.Tenant, string(e.Status), e.Subject, e.Message, e.ExpiresAt.UnixNano(), int64(e.ReminderEvery),
			e.CreatedBy, e.CreatedAt.UnixNano(), e.UpdatedAt.UnixNano(), nanos(e.SentAt), nanos(e.CompletedAt),
			e.Reason, e.Version, nanos(e.NextDue()), e.AllowLinkOnly, e.ApprovalRequired, e.HighAssurance)
		for i, d := range e.Documents {
			b.Queue(`INSERT INTO workflow_envelope_documents
				(envelope_id, position, document_id, name, pages, original_sha256, sha256)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				e.ID, i, d.DocumentID, d.Name, d.Pages, d.OriginalSHA256, d.SHA256)
		}
		for i, r := range e.Recipients {
			b.Queue(`INSERT INTO workflow_recipients
				(envelope_id, position, id, role, name, email, auth, routing_order, status, signed,
				 notified_ns, reminded_ns, viewed_ns, consented_ns, completed_ns, declined_ns, decline_reason,
				 phone, access_code_hash)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
				e.ID, i, r.ID, string(r.Role), r.Name, r.Email, r.Auth, r.Order, string(r.Status),
				strings.Join(r.Signed, ","), nanos(r.NotifiedAt), nanos(r.RemindedAt), nanos(r.ViewedAt),
				nanos(r.ConsentedAt), nanos(r.CompletedAt), nanos(r.DeclinedAt), r.DeclineReason,
				r.Phone, r.AccessCodeHash)
		}
		queueFields(b, e)
		queueTransition(b, t)
		return tx.SendBatch(ctx, b).Close()
	})
}

// queueFields queues the inserts of e's placed fields.
func queueFields(b *pgx.Batch, e *workflow.Envelope) {
	for i, f := range e.Fields {
		b.Queue(`INSERT INTO workflow_placed_fields
			(envelope_id, position, id, document_id, recipient_id, kind, page, x, y, width, height, required, label)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			e.ID, i, f.ID, f.DocumentID, f.RecipientID, string(f.Kind), f.Page, f.X, f.Y, f.W, f.H, f.Required, f.Label)
	}
}

// queueTransition queues the insert of t as the envelope's next seq. The
// caller holds the envelope row (inserted or updated in the same
// transaction), so no other transaction appends to it meanwhile.
func queueTransition(b *pgx.Batch, t workflow.Transition) {
	b.Queue(`INSERT INTO workflow_transitions
		(envelope_id, seq, from_status, to_status, action, actor_kind, actor_id, reason, at_ns, correlation_id, audit_event_id)
		VALUES ($1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM workflow_transitions WHERE envelope_id = $1),
		        $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		t.EnvelopeID, string(t.From), string(t.To), string(t.Action), t.ActorKind, t.ActorID,
		t.Reason, t.At.UnixNano(), t.CorrelationID, t.AuditEventID)
}

// UpdateEnvelope implements [workflow.EnvelopeStore]. Documents and
// recipients are fixed when the draft is created; their mutable columns
// are updated in place; the placed fields of a draft are replaced. The
// envelope row is updated first: if its version
// is not prev, nothing else is written. The webhook messages out go to
// the webhook outbox (internal/webhook/postgres's tables) in the same
// transaction.
//
// The transaction costs two round trips, and holds the envelope's row
// lock across one.
func (s *Store) UpdateEnvelope(ctx context.Context, e *workflow.Envelope, prev int64, t *workflow.Transition, out ...webhook.Message) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return wrap(err)
	}
	// A connection released inside a transaction (a failure below) is
	// closed by the pool, which rolls the transaction back.
	defer conn.Release()
	// Two round trips: BEGIN with the envelope's UPDATE (which locks its
	// row), then the other writes with the COMMIT.
	b := &pgx.Batch{}
	b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	var updated int64
	b.Queue(`UPDATE workflow_envelopes SET
		status = $1, updated_ns = $2, sent_ns = $3, completed_ns = $4, reason = $5, version = $6, next_due_ns = $7
		WHERE id = $8 AND version = $9`,
		string(e.Status), e.UpdatedAt.UnixNano(), nanos(e.SentAt), nanos(e.CompletedAt), e.Reason,
		e.Version, nanos(e.NextDue()), e.ID, prev).Exec(func(tag pgconn.CommandTag) error {
		updated = tag.RowsAffected()
		return nil
	})
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return wrap(err)
	}
	if updated != 1 {
		if _, err := conn.Exec(ctx, "ROLLBACK"); err != nil {
			return wrap(err)
		}
		return workflow.ErrStale
	}
	b = &pgx.Batch{}
	for _, d := range e.Documents {
		b.Queue(`UPDATE workflow_envelope_documents SET sha256 = $1 WHERE envelope_id = $2 AND document_id = $3`,
			d.SHA256, e.ID, d.DocumentID)
	}
	for _, r := range e.Recipients {
		b.Queue(`UPDATE workflow_recipients SET
			status = $1, signed = $2, notified_ns = $3, reminded_ns = $4, viewed_ns = $5, consented_ns = $6,
			completed_ns = $7, declined_ns = $8, decline_reason = $9
			WHERE envelope_id = $10 AND id = $11`,
			string(r.Status), strings.Join(r.Signed, ","), nanos(r.NotifiedAt), nanos(r.RemindedAt),
			nanos(r.ViewedAt), nanos(r.ConsentedAt), nanos(r.CompletedAt), nanos(r.DeclinedAt),
			r.DeclineReason, e.ID, r.ID)
	}
	if e.Status == workflow.StatusDraft {
		b.Queue(`DELETE FROM workflow_placed_fields WHERE envelope_id = $1`, e.ID)
		queueFields(b, e)
	}
	if t != nil {
		queueTransition(b, *t)
	}
	webhookpostgres.QueueMessages(b, out)
	b.Queue("COMMIT")
	return wrap(conn.SendBatch(ctx, b).Close())
}

const envelopeColumns = `id, tenant, status, subject, message, expires_ns, reminder_ns, created_by,
	created_ns, updated_ns, sent_ns, completed_ns, reason, version, allow_link_only,
	approval_required, high_assurance`

func scanEnvelope(row pgx.Row) (*workflow.Envelope, error) {
	e := &workflow.Envelope{}
	var status string
	var expires, reminder, created, updated int64
	var sent, completed *int64
	if err := row.Scan(&e.ID, &e.Tenant, &status, &e.Subject, &e.Message, &expires, &reminder, &e.CreatedBy,
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

// queueParts queues the reads of the documents, recipients and placed
// fields of the
// envelopes in byID, whose ids are ids, appending them to their envelopes
// in position order.
//
// One envelope's parts are read with envelope_id = $1, not = ANY($1): the
// plan a prepared statement settles on is generic, and for an array
// whose length it does not know the planner expects so many rows that it
// scans the whole table instead of the primary key.
func queueParts(b *pgx.Batch, ids []string, byID map[string]*workflow.Envelope) {
	var match string
	var arg any
	if len(ids) == 1 {
		match, arg = "envelope_id = $1", ids[0]
	} else {
		match, arg = "envelope_id = ANY($1)", ids
	}
	b.Queue(`SELECT envelope_id, document_id, name, pages, original_sha256, sha256
		FROM workflow_envelope_documents WHERE `+match+` ORDER BY envelope_id, position`, arg).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var id string
				var d workflow.EnvelopeDocument
				if err := rows.Scan(&id, &d.DocumentID, &d.Name, &d.Pages, &d.OriginalSHA256, &d.SHA256); err != nil {
					return err
				}
				if e := byID[id]; e != nil {
					e.Documents = append(e.Documents, d)
				}
			}
			return rows.Err()
		})
	b.Queue(`SELECT envelope_id, id, role, name, email, auth, routing_order, status, signed,
		notified_ns, reminded_ns, viewed_ns, consented_ns, completed_ns, declined_ns, decline_reason,
		phone, access_code_hash
		FROM workflow_recipients WHERE `+match+` ORDER BY envelope_id, position`, arg).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var id string
				var r workflow.Recipient
				var role, status, signed string
				var notified, reminded, viewed, consented, completed, declined *int64
				if err := rows.Scan(&id, &r.ID, &role, &r.Name, &r.Email, &r.Auth, &r.Order, &status, &signed,
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
				if e := byID[id]; e != nil {
					e.Recipients = append(e.Recipients, r)
				}
			}
			return rows.Err()
		})
	b.Queue(`SELECT envelope_id, id, document_id, recipient_id, kind, page, x, y, width, height, required, label
		FROM workflow_placed_fields WHERE `+match+` ORDER BY envelope_id, position`, arg).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var id, kind string
				var f workflow.Field
				if err := rows.Scan(&id, &f.ID, &f.DocumentID, &f.RecipientID, &kind, &f.Page, &f.X, &f.Y, &f.W, &f.H,
					&f.Required, &f.Label); err != nil {
					return err
				}
				f.Kind = workflow.FieldKind(kind)
				if e := byID[id]; e != nil {
					e.Fields = append(e.Fields, f)
				}
			}
			return rows.Err()
		})
}

// Envelope implements [workflow.EnvelopeStore]. The envelope row, its
// documents and its recipients are read in one snapshot, in one round
// trip.
func (s *Store) Envelope(ctx context.Context, id string) (*workflow.Envelope, error) {
	var e *workflow.Envelope
	b := &pgx.Batch{}
	b.Queue("SELECT "+envelopeColumns+" FROM workflow_envelopes WHERE id = $1", id).QueryRow(func(row pgx.Row) error {
		var err error
		e, err = scanEnvelope(row)
		if errors.Is(err, pgx.ErrNoRows) {
			return workflow.ErrNoRecord
		}
		return err
	})
	// The parts are collected on a placeholder, as e is only known once
	// the batch is read.
	parts := &workflow.Envelope{}
	queueParts(b, []string{id}, map[string]*workflow.Envelope{id: parts})
	if err := pgdb.Snapshot(ctx, s.pool, b); err != nil {
		return nil, wrap(err)
	}
	e.Documents, e.Recipients, e.Fields = parts.Documents, parts.Recipients, parts.Fields
	return e, nil
}

// ListEnvelopes implements [workflow.EnvelopeStore].
func (s *Store) ListEnvelopes(ctx context.Context, tenant string, f workflow.ListFilter) ([]*workflow.Envelope, error) {
	q := "SELECT " + envelopeColumns + " FROM workflow_envelopes WHERE tenant = $1"
	args := []any{tenant}
	if f.Status != "" {
		args = append(args, string(f.Status))
		q += fmt.Sprintf(" AND status = $%d", len(args))
	}
	if f.AfterID != "" {
		args = append(args, f.AfterCreated.UnixNano(), f.AfterID)
		q += fmt.Sprintf(" AND (created_ns, id) < ($%d, $%d)", len(args)-1, len(args))
	}
	args = append(args, max(f.Limit, 1))
	q += fmt.Sprintf(" ORDER BY created_ns DESC, id DESC LIMIT $%d", len(args))
	var out []*workflow.Envelope
	err := s.view(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, q, args...)
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
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		ids := make([]string, len(out))
		byID := make(map[string]*workflow.Envelope, len(out))
		for i, e := range out {
			ids[i], byID[e.ID] = e.ID, e
		}
		b := &pgx.Batch{}
		queueParts(b, ids, byID)
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DueEnvelopes implements [workflow.EnvelopeStore]. Envelopes due at the
// same instant come in id order; a limit below 1 returns none.
func (s *Store) DueEnvelopes(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM workflow_envelopes
		WHERE next_due_ns IS NOT NULL AND next_due_ns <= $1 ORDER BY next_due_ns, id LIMIT $2`,
		now.UnixNano(), max(limit, 0))
	if err != nil {
		return nil, wrap(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrap(err)
	}
	return ids, nil
}

// CompletedEnvelopes implements [workflow.EnvelopeStore]; a limit below
// 1 returns none. Ids compare byte by byte (COLLATE "C"), as on SQLite.
func (s *Store) CompletedEnvelopes(ctx context.Context, after string, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM workflow_envelopes
		WHERE status = $1 AND id COLLATE "C" > $2 ORDER BY id COLLATE "C" LIMIT $3`,
		string(workflow.StatusCompleted), after, max(limit, 0))
	if err != nil {
		return nil, wrap(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrap(err)
	}
	return ids, nil
}

// Transitions implements [workflow.EnvelopeStore].
func (s *Store) Transitions(ctx context.Context, id string) ([]workflow.Transition, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, from_status, to_status, action, actor_kind, actor_id,
		reason, at_ns, correlation_id, audit_event_id
		FROM workflow_transitions WHERE envelope_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, wrap(err)
	}
	defer rows.Close()
	var out []workflow.Transition
	for rows.Next() {
		t := workflow.Transition{EnvelopeID: id}
		var from, to, action string
		var at int64
		if err := rows.Scan(&t.Seq, &from, &to, &action, &t.ActorKind, &t.ActorID, &t.Reason, &at,
			&t.CorrelationID, &t.AuditEventID); err != nil {
			return nil, wrap(err)
		}
		t.From, t.To, t.Action = workflow.Status(from), workflow.Status(to), workflow.Action(action)
		t.At = time.Unix(0, at).UTC()
		out = append(out, t)
	}
	return out, wrap(rows.Err())
}
