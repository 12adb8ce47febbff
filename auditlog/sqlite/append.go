package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/internal/batch"
)

// Append stores recs and the tree hashes they add in one transaction on the
// writer connection. It returns [auditlog.ErrConflict] if recs[0].Index is
// not the current size, and an error if hashes are not exactly the stored
// hashes recs add; on any error nothing is stored. When it returns nil the
// transaction is committed and synced (WAL, synchronous=FULL).
func (s *Store) Append(ctx context.Context, recs []auditlog.Record, hashes []auditlog.HashEntry) error {
	if len(recs) == 0 {
		if len(hashes) != 0 {
			return fmt.Errorf("sqlite: append: hashes without records")
		}
		return nil
	}
	// The shape is checked outside the write lock; a conflict takes
	// precedence, so the error is reported after the size check.
	shapeErr := batch.Check(recs, hashes)
	tx, err := s.w.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		return fmt.Errorf("sqlite: append: %w", err)
	}
	if err := appendTx(ctx, tx, recs, hashes, shapeErr); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: append: commit: %w", err)
	}
	return nil
}

func appendTx(ctx context.Context, tx *sql.Tx, recs []auditlog.Record, hashes []auditlog.HashEntry, shapeErr error) error {
	n, err := size(ctx, tx)
	if err != nil {
		return err
	}
	if n != recs[0].Index {
		return fmt.Errorf("sqlite: append at %d, size is %d: %w", recs[0].Index, n, auditlog.ErrConflict)
	}
	if shapeErr != nil {
		return fmt.Errorf("sqlite: append: %w", shapeErr)
	}
	if err := insertRecords(ctx, tx, recs); err != nil {
		return err
	}
	return insertHashes(ctx, tx, hashes)
}
