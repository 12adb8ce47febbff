package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/signet-pki/signet/internal/signing"
)

var _ signing.ClearSessionPurger = (*Store)(nil)

// PurgeClearSessions implements [signing.ClearSessionPurger]: the rows go
// with secure_delete (their bytes zeroed), then the write-ahead log is
// truncated after a full checkpoint, so the addresses leave the file.
func (s *Store) PurgeClearSessions(ctx context.Context) (int, error) {
	var n int64
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "PRAGMA secure_delete = ON"); err != nil {
			return err
		}
		defer tx.ExecContext(ctx, "PRAGMA secure_delete = OFF")
		res, err := tx.ExecContext(ctx, `DELETE FROM signing_sessions WHERE email <> '' AND substr(email, 1, 7) <> 'sealed:'`)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("signing/sqlite: purge sessions: %w", err)
	}
	if n == 0 {
		return 0, nil
	}
	var busy, logged, done int
	if err := s.pool.Writer().QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logged, &done); err != nil {
		return int(n), fmt.Errorf("signing/sqlite: checkpoint: %w", err)
	}
	if busy != 0 {
		return int(n), errors.New("signing/sqlite: checkpoint of the write-ahead log blocked by a reader; former sessions may remain in it")
	}
	return int(n), nil
}
