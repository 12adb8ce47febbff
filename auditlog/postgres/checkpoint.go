package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/auditlog"
)

// AddCheckpoint stores c. Storing the same note again for the same size is
// a no-op; a different note for a stored size fails with
// [auditlog.ErrConflict]. ON CONFLICT DO NOTHING needs only INSERT.
func (s *Store) AddCheckpoint(ctx context.Context, c auditlog.Checkpoint) error {
	t, err := toNanos(c.Time)
	if err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx,
		"INSERT INTO checkpoints (size, note, time_ns) VALUES ($1, $2, $3) ON CONFLICT (size) DO NOTHING",
		c.Size, c.Note, t)
	if err != nil {
		return fmt.Errorf("postgres: add checkpoint %d: %w", c.Size, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var note []byte
	if err := s.pool.QueryRow(ctx, "SELECT note FROM checkpoints WHERE size = $1", c.Size).Scan(&note); err != nil {
		return fmt.Errorf("postgres: add checkpoint %d: %w", c.Size, err)
	}
	if !bytes.Equal(note, c.Note) {
		return fmt.Errorf("postgres: a different checkpoint for size %d is stored: %w", c.Size, auditlog.ErrConflict)
	}
	return nil
}

// Checkpoints returns every stored checkpoint by increasing size.
func (s *Store) Checkpoints(ctx context.Context) ([]auditlog.Checkpoint, error) {
	rows, err := s.pool.Query(ctx, "SELECT size, note, time_ns FROM checkpoints ORDER BY size")
	if err != nil {
		return nil, fmt.Errorf("postgres: checkpoints: %w", err)
	}
	var out []auditlog.Checkpoint
	var c auditlog.Checkpoint
	var t *int64
	_, err = pgx.ForEachRow(rows, []any{&c.Size, &c.Note, &t}, func() error {
		c.Time = fromNanos(t)
		out = append(out, c)
		c = auditlog.Checkpoint{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: checkpoints: %w", err)
	}
	return out, nil
}

// AddAnchor stores anchoring evidence for the checkpoint of size a.Size.
func (s *Store) AddAnchor(ctx context.Context, a auditlog.Anchor) error {
	if a.Kind == "" {
		return errors.New("postgres: add anchor: empty kind")
	}
	t, err := toNanos(a.Time)
	if err != nil {
		return err
	}
	data := a.Data
	if data == nil {
		data = []byte{}
	}
	if _, err := s.pool.Exec(ctx,
		"INSERT INTO anchors (size, kind, name, data, time_ns) VALUES ($1, $2, $3, $4, $5)",
		a.Size, a.Kind, a.Name, data, t); err != nil {
		return fmt.Errorf("postgres: add anchor for %d: %w", a.Size, err)
	}
	return nil
}

// Anchors returns the anchors of the checkpoint of the given size, in the
// order they were added.
func (s *Store) Anchors(ctx context.Context, size int64) ([]auditlog.Anchor, error) {
	rows, err := s.pool.Query(ctx,
		"SELECT size, kind, name, data, time_ns FROM anchors WHERE size = $1 ORDER BY seq", size)
	if err != nil {
		return nil, fmt.Errorf("postgres: anchors: %w", err)
	}
	var out []auditlog.Anchor
	var a auditlog.Anchor
	var t *int64
	_, err = pgx.ForEachRow(rows, []any{&a.Size, &a.Kind, &a.Name, &a.Data, &t}, func() error {
		a.Time = fromNanos(t)
		out = append(out, a)
		a = auditlog.Anchor{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: anchors: %w", err)
	}
	return out, nil
}
