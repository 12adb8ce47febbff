package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/sqldb"
)

// Reserve implements [api.IdempotencyStore]. It runs in one transaction
// (the service database takes its write lock at BEGIN), so two requests
// racing for a key cannot both reserve it.
func (s *Store) Reserve(ctx context.Context, rec api.IdempotencyRecord, now, staleBefore time.Time) (*api.IdempotencyRecord, error) {
	var live *api.IdempotencyRecord
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		live, err = reserve(ctx, tx, rec, now, staleBefore)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("api/sqlite: reserve: %w", err)
	}
	return live, nil
}

// reserve returns the live record of rec's key, or reserves the key.
func reserve(ctx context.Context, tx *sql.Tx, rec api.IdempotencyRecord, now, staleBefore time.Time) (*api.IdempotencyRecord, error) {
	var prev api.IdempotencyRecord
	var hash, body []byte
	var done, secret int
	var header, created, expires string
	err := tx.QueryRowContext(ctx,
		`SELECT request_hash, done, secret, status, header, body, created_at, expires_at FROM api_idempotency WHERE principal = ? AND key = ?`,
		rec.Principal, rec.Key).Scan(&hash, &done, &secret, &prev.Status, &header, &body, &created, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, err
	default:
		prev.Principal, prev.Key, prev.Done, prev.Secret, prev.Body = rec.Principal, rec.Key, done != 0, secret != 0, body
		copy(prev.RequestHash[:], hash)
		if prev.CreatedAt, err = sqldb.ParseTime(created); err != nil {
			return nil, err
		}
		if prev.ExpiresAt, err = sqldb.ParseTime(expires); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(header), &prev.Header); err != nil {
			return nil, err
		}
		if prev.Live(now, staleBefore) {
			return &prev, nil
		}
	}
	if _, err := tx.ExecContext(ctx,
		`INSERT OR REPLACE INTO api_idempotency (principal, key, request_hash, done, secret, status, header, body, created_at, expires_at)
		 VALUES (?, ?, ?, 0, 0, 0, '{}', x'', ?, ?)`,
		rec.Principal, rec.Key, rec.RequestHash[:], sqldb.FormatTime(rec.CreatedAt), sqldb.FormatTime(rec.ExpiresAt)); err != nil {
		return nil, err
	}
	// Expired records of anyone are garbage; drop a few with each write.
	if _, err := tx.ExecContext(ctx,
		`DELETE FROM api_idempotency WHERE rowid IN (SELECT rowid FROM api_idempotency WHERE expires_at < ? LIMIT 100)`, sqldb.FormatTime(now)); err != nil {
		return nil, err
	}
	return nil, nil
}

// Complete implements [api.IdempotencyStore]. Of a Secret record it
// stores the status only.
func (s *Store) Complete(ctx context.Context, rec api.IdempotencyRecord) error {
	h := rec.Header
	if h == nil || rec.Secret {
		h = http.Header{}
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("api/sqlite: complete: %w", err)
	}
	body := rec.Body
	if body == nil || rec.Secret {
		body = []byte{}
	}
	secret := 0
	if rec.Secret {
		secret = 1
	}
	res, err := s.pool.Exec(ctx,
		`UPDATE api_idempotency SET done = 1, secret = ?, status = ?, header = ?, body = ? WHERE principal = ? AND key = ? AND request_hash = ? AND done = 0`,
		secret, rec.Status, string(hj), body, rec.Principal, rec.Key, rec.RequestHash[:])
	if err != nil {
		return fmt.Errorf("api/sqlite: complete: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("api/sqlite: complete: no in-flight record for the key: %w", api.ErrNoRecord)
	}
	return nil
}

// Release implements [api.IdempotencyStore].
func (s *Store) Release(ctx context.Context, principal, key string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM api_idempotency WHERE principal = ? AND key = ? AND done = 0`, principal, key); err != nil {
		return fmt.Errorf("api/sqlite: release: %w", err)
	}
	return nil
}
