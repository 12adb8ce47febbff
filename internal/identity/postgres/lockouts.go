package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/internal/identity"
)

// purgeBatch bounds the ended rows one failure purges.
const purgeBatch = "100"

// RecordFailure implements [identity.Store]: a bounded purge of rows whose
// window and lock have both ended, then one upsert that opens a new window
// when the stored one has ended.
func (s *Store) RecordFailure(ctx context.Context, key string, at time.Time, window time.Duration) (int, error) {
	if err := identity.CheckLockout(key, &window); err != nil {
		return 0, fmt.Errorf("identity/postgres: %w", err)
	}
	h := identity.LockoutKeyHash(key)
	now, cutoff := at.UnixNano(), at.Add(-window).UnixNano()
	// The purge takes at most purgeBatch rows that no one else holds, so
	// that it never waits for (or deadlocks with) another node's purge.
	if _, err := s.pool.Exec(ctx, `DELETE FROM identity_lockouts WHERE key_hash IN (SELECT key_hash FROM identity_lockouts
		WHERE window_start <= $1 AND locked_until <= $2 LIMIT `+purgeBatch+` FOR UPDATE SKIP LOCKED)`, cutoff, now); err != nil {
		return 0, wrap("purge lockouts", err)
	}
	var n int64
	err := s.pool.QueryRow(ctx, `INSERT INTO identity_lockouts (key_hash, window_start, failures, locked_until)
		VALUES ($1, $2, 1, 0)
		ON CONFLICT (key_hash) DO UPDATE SET
			failures = CASE WHEN identity_lockouts.window_start <= $3 THEN 1 ELSE identity_lockouts.failures + 1 END,
			window_start = CASE WHEN identity_lockouts.window_start <= $3 THEN excluded.window_start ELSE identity_lockouts.window_start END
		RETURNING failures`, h[:], now, cutoff).Scan(&n)
	if err != nil {
		return 0, wrap("record failure", err)
	}
	return int(n), nil
}

// Lock implements [identity.Store].
func (s *Store) Lock(ctx context.Context, key string, until time.Time) error {
	if err := identity.CheckLockout(key, nil); err != nil {
		return fmt.Errorf("identity/postgres: %w", err)
	}
	h := identity.LockoutKeyHash(key)
	_, err := s.pool.Exec(ctx, `INSERT INTO identity_lockouts (key_hash, window_start, failures, locked_until) VALUES ($1, 0, 0, $2)
		ON CONFLICT (key_hash) DO UPDATE SET locked_until = GREATEST(identity_lockouts.locked_until, excluded.locked_until)`,
		h[:], until.UnixNano())
	return wrap("lock", err)
}

// LockedUntil implements [identity.Store].
func (s *Store) LockedUntil(ctx context.Context, key string) (time.Time, error) {
	if err := identity.CheckLockout(key, nil); err != nil {
		return time.Time{}, fmt.Errorf("identity/postgres: %w", err)
	}
	h := identity.LockoutKeyHash(key)
	var until int64
	err := s.pool.QueryRow(ctx, `SELECT locked_until FROM identity_lockouts WHERE key_hash = $1`, h[:]).Scan(&until)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && until == 0) {
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
		return fmt.Errorf("identity/postgres: %w", err)
	}
	h := identity.LockoutKeyHash(key)
	_, err := s.pool.Exec(ctx, `UPDATE identity_lockouts SET failures = 0, window_start = 0 WHERE key_hash = $1`, h[:])
	return wrap("clear failures", err)
}
