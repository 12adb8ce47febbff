package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/identity"
)

// RecordFailure implements [identity.Store]: one upsert that opens a new
// window when the stored one has ended, after a purge of the rows whose
// window and lock have both ended (at most 100 a call).
func (s *Store) RecordFailure(ctx context.Context, key string, at time.Time, window time.Duration) (int, error) {
	if err := identity.CheckLockout(key, &window); err != nil {
		return 0, fmt.Errorf("identity/sqlite: %w", err)
	}
	h := identity.LockoutKeyHash(key)
	now, cutoff := at.UnixNano(), at.Add(-window).UnixNano()
	var n int
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM identity_lockouts WHERE rowid IN (SELECT rowid FROM identity_lockouts
			WHERE window_start <= ? AND locked_until <= ? LIMIT 100)`, cutoff, now); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO identity_lockouts (key_hash, window_start, failures, locked_until)
			VALUES (?, ?, 1, 0)
			ON CONFLICT (key_hash) DO UPDATE SET
				failures = CASE WHEN identity_lockouts.window_start <= ? THEN 1 ELSE identity_lockouts.failures + 1 END,
				window_start = CASE WHEN identity_lockouts.window_start <= ? THEN excluded.window_start ELSE identity_lockouts.window_start END
			RETURNING failures`, h[:], now, cutoff, cutoff).Scan(&n)
	})
	return n, wrap("record failure", err)
}

// Lock implements [identity.Store].
func (s *Store) Lock(ctx context.Context, key string, until time.Time) error {
	if err := identity.CheckLockout(key, nil); err != nil {
		return fmt.Errorf("identity/sqlite: %w", err)
	}
	h := identity.LockoutKeyHash(key)
	_, err := s.pool.Exec(ctx, `INSERT INTO identity_lockouts (key_hash, window_start, failures, locked_until) VALUES (?, 0, 0, ?)
		ON CONFLICT (key_hash) DO UPDATE SET locked_until = max(identity_lockouts.locked_until, excluded.locked_until)`,
		h[:], until.UnixNano())
	return wrap("lock", err)
}

// LockedUntil implements [identity.Store].
func (s *Store) LockedUntil(ctx context.Context, key string) (time.Time, error) {
	if err := identity.CheckLockout(key, nil); err != nil {
		return time.Time{}, fmt.Errorf("identity/sqlite: %w", err)
	}
	h := identity.LockoutKeyHash(key)
	var until int64
	err := s.pool.Reader().QueryRowContext(ctx, `SELECT locked_until FROM identity_lockouts WHERE key_hash = ?`, h[:]).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && until == 0) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, wrap("locked until", err)
	}
	return time.Unix(0, until), nil
}

// ClearFailures implements [identity.Store].
func (s *Store) ClearFailures(ctx context.Context, key string) error {
	if err := identity.CheckLockout(key, nil); err != nil {
		return fmt.Errorf("identity/sqlite: %w", err)
	}
	h := identity.LockoutKeyHash(key)
	_, err := s.pool.Exec(ctx, `UPDATE identity_lockouts SET failures = 0, window_start = 0 WHERE key_hash = ?`, h[:])
	return wrap("clear failures", err)
}
