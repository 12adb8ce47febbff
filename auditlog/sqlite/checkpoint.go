package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"database/sql"

	"github.com/signet-pki/signet/auditlog"
)

// AddCheckpoint stores c. Storing the same note again for the same size is
// a no-op; a different note for a stored size fails with
// [auditlog.ErrConflict].
func (s *Store) AddCheckpoint(ctx context.Context, c auditlog.Checkpoint) error {
	t, err := toNanos(c.Time)
	if err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx,
		"INSERT INTO checkpoints (size, note, time_ns) VALUES (?, ?, ?) ON CONFLICT (size) DO NOTHING",
		c.Size, c.Note, t)
	if err != nil {
		return fmt.Errorf("sqlite: add checkpoint %d: %w", c.Size, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: add checkpoint %d: %w", c.Size, err)
	} else if n == 1 {
		return nil
	}
	var note []byte
	if err := s.w.QueryRowContext(ctx, "SELECT note FROM checkpoints WHERE size = ?", c.Size).Scan(&note); err != nil {
		return fmt.Errorf("sqlite: add checkpoint %d: %w", c.Size, err)
	}
	if !bytes.Equal(note, c.Note) {
		return fmt.Errorf("sqlite: a different checkpoint for size %d is stored: %w", c.Size, auditlog.ErrConflict)
	}
	return nil
}

// Checkpoints returns every stored checkpoint by increasing size.
func (s *Store) Checkpoints(ctx context.Context) ([]auditlog.Checkpoint, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT size, note, time_ns FROM checkpoints ORDER BY size")
	if err != nil {
		return nil, fmt.Errorf("sqlite: checkpoints: %w", err)
	}
	defer rows.Close()
	var out []auditlog.Checkpoint
	for rows.Next() {
		var c auditlog.Checkpoint
		var t sql.NullInt64
		if err := rows.Scan(&c.Size, &c.Note, &t); err != nil {
			return nil, fmt.Errorf("sqlite: checkpoints: %w", err)
		}
		c.Time = fromNanos(t)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: checkpoints: %w", err)
	}
	return out, nil
}

// AddAnchor stores anchoring evidence for the checkpoint of size a.Size.
func (s *Store) AddAnchor(ctx context.Context, a auditlog.Anchor) error {
	if a.Kind == "" {
		return errors.New("sqlite: add anchor: empty kind")
	}
	t, err := toNanos(a.Time)
	if err != nil {
		return err
	}
	data := a.Data
	if data == nil {
		data = []byte{}
	}
	if _, err := s.w.ExecContext(ctx,
		"INSERT INTO anchors (size, kind, name, data, time_ns) VALUES (?, ?, ?, ?, ?)",
		a.Size, a.Kind, a.Name, data, t); err != nil {
		return fmt.Errorf("sqlite: add anchor for %d: %w", a.Size, err)
	}
	return nil
}

// Anchors returns the anchors of the checkpoint of the given size, in the
// order they were added.
func (s *Store) Anchors(ctx context.Context, size int64) ([]auditlog.Anchor, error) {
	rows, err := s.r.QueryContext(ctx,
		"SELECT size, kind, name, data, time_ns FROM anchors WHERE size = ? ORDER BY seq", size)
	if err != nil {
		return nil, fmt.Errorf("sqlite: anchors: %w", err)
	}
	defer rows.Close()
	var out []auditlog.Anchor
	for rows.Next() {
		var a auditlog.Anchor
		var t sql.NullInt64
		if err := rows.Scan(&a.Size, &a.Kind, &a.Name, &a.Data, &t); err != nil {
			return nil, fmt.Errorf("sqlite: anchors: %w", err)
		}
		a.Time = fromNanos(t)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: anchors: %w", err)
	}
	return out, nil
}
