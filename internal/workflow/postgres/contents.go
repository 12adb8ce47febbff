package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/internal/workflow"
)

var _ workflow.ContentStore = (*Store)(nil)

// finished is the SQL list of the finished envelope states.
const finished = `('completed', 'declined', 'voided', 'expired')`

// unused is the condition that no document or envelope document of
// tenant $1 uses content $2.
const unused = `NOT EXISTS (SELECT 1 FROM workflow_documents d WHERE d.tenant = %[1]s AND d.sha256 = %[2]s)
	AND NOT EXISTS (SELECT 1 FROM workflow_envelope_documents v JOIN workflow_envelopes e ON e.id = v.envelope_id
		WHERE e.tenant = %[1]s AND v.sha256 = %[2]s)
	AND NOT EXISTS (SELECT 1 FROM workflow_envelope_documents v JOIN workflow_envelopes e ON e.id = v.envelope_id
		WHERE e.tenant = %[1]s AND v.original_sha256 = %[2]s)`

// InsertContent implements [workflow.ContentStore].
func (s *Store) InsertContent(ctx context.Context, c *workflow.Content) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO workflow_contents (tenant, sha256, blob, size, state, created_ns)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant, sha256) DO NOTHING`,
		c.Tenant, c.SHA256, c.Blob, c.Size, c.State, c.Created.UnixNano())
	if err != nil {
		return false, wrap(err)
	}
	return tag.RowsAffected() == 1, nil
}

// InsertDocumentContent implements [workflow.ContentStore].
func (s *Store) InsertDocumentContent(ctx context.Context, d *workflow.Document, c *workflow.Content) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO workflow_contents (tenant, sha256, blob, size, state, created_ns)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant, sha256) DO UPDATE SET created_ns = excluded.created_ns`,
			c.Tenant, c.SHA256, c.Blob, c.Size, c.State, c.Created.UnixNano()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO workflow_documents
			(id, tenant, sha256, size, pages, name, created_ns) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			d.ID, d.Tenant, d.SHA256, d.Size, d.Pages, d.Name, d.Created.UnixNano())
		return err
	})
}

// Content implements [workflow.ContentStore].
func (s *Store) Content(ctx context.Context, tenant, sha256 string) (*workflow.Content, error) {
	rows, err := s.pool.Query(ctx, `SELECT tenant, sha256, blob, size, state, created_ns
		FROM workflow_contents WHERE tenant = $1 AND sha256 = $2`, tenant, sha256)
	if err != nil {
		return nil, wrap(err)
	}
	c, err := pgx.CollectExactlyOneRow(rows, scanContent)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, workflow.ErrNoRecord
	}
	return c, wrap(err)
}

func scanContent(r pgx.CollectableRow) (*workflow.Content, error) {
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
	tag, err := s.pool.Exec(ctx, `UPDATE workflow_contents SET created_ns = $1 WHERE tenant = $2 AND sha256 = $3`,
		at.UnixNano(), tenant, sha256)
	if err != nil {
		return wrap(err)
	}
	if tag.RowsAffected() == 0 {
		return workflow.ErrNoRecord
	}
	return nil
}

// ContentUsed implements [workflow.ContentStore].
func (s *Store) ContentUsed(ctx context.Context, tenant, sha256 string) (bool, error) {
	var free bool
	err := s.pool.QueryRow(ctx, `SELECT `+fmt.Sprintf(unused, "$1", "$2"), tenant, sha256).Scan(&free)
	return !free, wrap(err)
}

// UnusedContents implements [workflow.ContentStore].
func (s *Store) UnusedContents(ctx context.Context, before time.Time, limit int) ([]*workflow.Content, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.tenant, c.sha256, c.blob, c.size, c.state, c.created_ns
		FROM workflow_contents c WHERE c.created_ns < $1 AND `+fmt.Sprintf(unused, "c.tenant", "c.sha256")+`
		ORDER BY c.created_ns, c.tenant COLLATE "C", c.sha256 COLLATE "C" LIMIT $2`, before.UnixNano(), limit)
	if err != nil {
		return nil, wrap(err)
	}
	out, err := pgx.CollectRows(rows, scanContent)
	return out, wrap(err)
}

// ContentBlobReferenced implements [workflow.ContentStore].
func (s *Store) ContentBlobReferenced(ctx context.Context, blob string) (bool, error) {
	var used bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM workflow_contents WHERE blob = $1)`, blob).Scan(&used)
	return used, wrap(err)
}

// DeleteContent implements [workflow.ContentStore].
func (s *Store) DeleteContent(ctx context.Context, tenant, sha256 string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM workflow_contents WHERE tenant = $1 AND sha256 = $2`, tenant, sha256)
	return wrap(err)
}

// inUseQuery is the query of whether an unfinished envelope of tenant $2
// has document $1.
const inUseQuery = `SELECT EXISTS (SELECT 1 FROM workflow_envelope_documents v
	JOIN workflow_envelopes e ON e.id = v.envelope_id
	WHERE v.document_id = $1 AND e.tenant = $2 AND e.status NOT IN ` + finished + `)`

// DocumentInUse implements [workflow.ContentStore].
func (s *Store) DocumentInUse(ctx context.Context, tenant, id string) (bool, error) {
	var used bool
	err := s.pool.QueryRow(ctx, inUseQuery, id, tenant).Scan(&used)
	return used, wrap(err)
}

// DeleteDocument implements [workflow.ContentStore]. The document row is
// locked first, so that the check of the envelopes that have it and the
// deletion see one state with respect to other deletions.
func (s *Store) DeleteDocument(ctx context.Context, tenant, id string) (bool, error) {
	inUse := false
	err := s.write(ctx, func(tx pgx.Tx) error {
		var got string
		err := tx.QueryRow(ctx, `SELECT id FROM workflow_documents WHERE id = $1 AND tenant = $2 FOR UPDATE`, id, tenant).Scan(&got)
		if errors.Is(err, pgx.ErrNoRows) {
			return workflow.ErrNoRecord
		}
		if err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, inUseQuery, id, tenant).Scan(&inUse); err != nil {
			return err
		}
		if inUse {
			return nil
		}
		_, err = tx.Exec(ctx, `DELETE FROM workflow_documents WHERE id = $1 AND tenant = $2`, id, tenant)
		return err
	})
	return inUse, err
}

// FinishedEnvelopes implements [workflow.ContentStore].
func (s *Store) FinishedEnvelopes(ctx context.Context, before time.Time, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT id FROM workflow_envelopes
		WHERE status IN `+finished+` AND updated_ns < $1 ORDER BY updated_ns, id LIMIT $2`, before.UnixNano(), limit)
	if err != nil {
		return nil, wrap(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, wrap(err)
}

// DeleteEnvelope implements [workflow.ContentStore].
func (s *Store) DeleteEnvelope(ctx context.Context, id string) error {
	return s.write(ctx, func(tx pgx.Tx) error {
		for _, table := range []string{"workflow_transitions", "workflow_recipients", "workflow_envelope_documents", "workflow_placed_fields", "workflow_envelopes"} {
			col := "envelope_id"
			if table == "workflow_envelopes" {
				col = "id"
			}
			if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE `+col+` = $1`, id); err != nil {
				return err
			}
		}
		return nil
	})
}
