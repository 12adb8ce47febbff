package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/workflow"
)

var _ workflow.ContentStore = (*Store)(nil)

// finished is the SQL list of the finished envelope states.
const finished = `('completed', 'declined', 'voided', 'expired')`

// usedBy is the condition that a document or envelope document of
// tenant ?1 uses content ?2 (each placeholder bound once per use).
const usedBy = `EXISTS (SELECT 1 FROM workflow_documents d WHERE d.tenant = ? AND d.sha256 = ?)
	OR EXISTS (SELECT 1 FROM workflow_envelope_documents v JOIN workflow_envelopes e ON e.id = v.envelope_id
		WHERE e.tenant = ? AND v.sha256 = ?)
	OR EXISTS (SELECT 1 FROM workflow_envelope_documents v JOIN workflow_envelopes e ON e.id = v.envelope_id
		WHERE e.tenant = ? AND v.original_sha256 = ?)`

// InsertContent implements [workflow.ContentStore].
func (s *Store) InsertContent(ctx context.Context, c *workflow.Content) (bool, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO workflow_contents (tenant, sha256, blob, size, state, created_ns)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, sha256) DO NOTHING`,
			c.Tenant, c.SHA256, c.Blob, c.Size, c.State, c.Created.UnixNano())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n == 1, err
}

// InsertDocumentContent implements [workflow.ContentStore].
func (s *Store) InsertDocumentContent(ctx context.Context, d *workflow.Document, c *workflow.Content) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO workflow_contents (tenant, sha256, blob, size, state, created_ns)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, sha256) DO UPDATE SET created_ns = excluded.created_ns`,
			c.Tenant, c.SHA256, c.Blob, c.Size, c.State, c.Created.UnixNano()); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO workflow_documents
			(id, tenant, sha256, size, pages, name, created_ns) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			d.ID, d.Tenant, d.SHA256, d.Size, d.Pages, d.Name, d.Created.UnixNano())
		return err
	})
}

// Content implements [workflow.ContentStore].
func (s *Store) Content(ctx context.Context, tenant, sha256 string) (*workflow.Content, error) {
	c, err := scanContent(s.pool.Reader().QueryRowContext(ctx, `SELECT tenant, sha256, blob, size, state, created_ns
		FROM workflow_contents WHERE tenant = ? AND sha256 = ?`, tenant, sha256))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, workflow.ErrNoRecord
	}
	if err != nil {
		return nil, fmt.Errorf("workflow/sqlite: %w", err)
	}
	return c, nil
}

func scanContent(r scanner) (*workflow.Content, error) {
	c := &workflow.Content{}
	var created int64
	if err := r.Scan(&c.Tenant, &c.SHA256, &c.Blob, &c.Size, &c.State, &created); err != nil {
		return nil, err
	}
	c.Created = time.Unix(0, created).UTC()
	return c, nil
}

// TouchContent implements [workflow.ContentStore].
func (s *Store) TouchContent(ctx context.Context, tenant, sha256 string, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE workflow_contents SET created_ns = ? WHERE tenant = ? AND sha256 = ?`,
			at.UnixNano(), tenant, sha256)
		if err != nil {
			return err
		}
		return affected(res)
	})
}

// ContentUsed implements [workflow.ContentStore].
func (s *Store) ContentUsed(ctx context.Context, tenant, sha256 string) (bool, error) {
	var used bool
	err := s.pool.Reader().QueryRowContext(ctx, `SELECT `+usedBy,
		tenant, sha256, tenant, sha256, tenant, sha256).Scan(&used)
	if err != nil {
		return false, fmt.Errorf("workflow/sqlite: %w", err)
	}
	return used, nil
}

// UnusedContents implements [workflow.ContentStore].
func (s *Store) UnusedContents(ctx context.Context, before time.Time, limit int) ([]*workflow.Content, error) {
	rows, err := s.pool.Reader().QueryContext(ctx, `SELECT c.tenant, c.sha256, c.blob, c.size, c.state, c.created_ns
		FROM workflow_contents c
		WHERE c.created_ns < ?
		AND NOT EXISTS (SELECT 1 FROM workflow_documents d WHERE d.tenant = c.tenant AND d.sha256 = c.sha256)
		AND NOT EXISTS (SELECT 1 FROM workflow_envelope_documents v JOIN workflow_envelopes e ON e.id = v.envelope_id
			WHERE e.tenant = c.tenant AND v.sha256 = c.sha256)
		AND NOT EXISTS (SELECT 1 FROM workflow_envelope_documents v JOIN workflow_envelopes e ON e.id = v.envelope_id
			WHERE e.tenant = c.tenant AND v.original_sha256 = c.sha256)
		ORDER BY c.created_ns, c.tenant, c.sha256 LIMIT ?`, before.UnixNano(), limit)
	if err != nil {
		return nil, fmt.Errorf("workflow/sqlite: %w", err)
	}
	defer rows.Close()
	var out []*workflow.Content
	for rows.Next() {
		c, err := scanContent(rows)
		if err != nil {
			return nil, fmt.Errorf("workflow/sqlite: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("workflow/sqlite: %w", err)
	}
	return out, nil
}

// ContentBlobReferenced implements [workflow.ContentStore].
func (s *Store) ContentBlobReferenced(ctx context.Context, blob string) (bool, error) {
	var used bool
	err := s.pool.Reader().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM workflow_contents WHERE blob = ?)`, blob).Scan(&used)
	if err != nil {
		return false, fmt.Errorf("workflow/sqlite: %w", err)
	}
	return used, nil
}

// DeleteContent implements [workflow.ContentStore].
func (s *Store) DeleteContent(ctx context.Context, tenant, sha256 string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM workflow_contents WHERE tenant = ? AND sha256 = ?`, tenant, sha256)
		return err
	})
}

// inUseQuery is the query of whether an unfinished envelope of tenant ?2 has
// document ?1.
const inUseQuery = `SELECT EXISTS (SELECT 1 FROM workflow_envelope_documents v
	JOIN workflow_envelopes e ON e.id = v.envelope_id
	WHERE v.document_id = ? AND e.tenant = ? AND e.status NOT IN ` + finished + `)`

// DocumentInUse implements [workflow.ContentStore].
func (s *Store) DocumentInUse(ctx context.Context, tenant, id string) (bool, error) {
	var used bool
	if err := s.pool.Reader().QueryRowContext(ctx, inUseQuery, id, tenant).Scan(&used); err != nil {
		return false, fmt.Errorf("workflow/sqlite: %w", err)
	}
	return used, nil
}

// DeleteDocument implements [workflow.ContentStore].
func (s *Store) DeleteDocument(ctx context.Context, tenant, id string) (bool, error) {
	inUse := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, inUseQuery, id, tenant).Scan(&inUse); err != nil {
			return err
		}
		if inUse {
			return nil
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM workflow_documents WHERE id = ? AND tenant = ?`, id, tenant)
		if err != nil {
			return err
		}
		return affected(res)
	})
	return inUse, err
}

// FinishedEnvelopes implements [workflow.ContentStore].
func (s *Store) FinishedEnvelopes(ctx context.Context, before time.Time, limit int) ([]string, error) {
	rows, err := s.pool.Reader().QueryContext(ctx, `SELECT id FROM workflow_envelopes
		WHERE status IN `+finished+` AND updated_ns < ? ORDER BY updated_ns, id LIMIT ?`, before.UnixNano(), limit)
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
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("workflow/sqlite: %w", err)
	}
	return ids, nil
}

// DeleteEnvelope implements [workflow.ContentStore].
func (s *Store) DeleteEnvelope(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"workflow_transitions", "workflow_recipients", "workflow_envelope_documents", "workflow_placed_fields"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE envelope_id = ?`, id); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM workflow_envelopes WHERE id = ?`, id)
		return err
	})
}

// affected is [workflow.ErrNoRecord] if res changed no row.
func affected(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return workflow.ErrNoRecord
	}
	return nil
}
