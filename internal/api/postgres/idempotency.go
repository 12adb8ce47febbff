package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/internal/api"
)

// reserveAttempts bounds how often Reserve starts over when the record it
// found is deleted (released, or collected) before it could lock it.
const reserveAttempts = 4

// gcBatch bounds how many expired records one reservation deletes.
const gcBatch = 100

// errRetry means the record seen by the INSERT was gone by the SELECT.
var errRetry = errors.New("record deleted meanwhile")

// Reserve implements [api.IdempotencyStore]. The INSERT … ON CONFLICT DO
// NOTHING on the (principal, key) primary key decides between racing
// requests for a new key, on any node; for an existing key the record is
// locked (SELECT … FOR UPDATE) before it is judged live or replaced, so
// of requests racing to replace an expired or stale record one wins and
// the others see its reservation.
func (s *Store) Reserve(ctx context.Context, rec api.IdempotencyRecord, now, staleBefore time.Time) (*api.IdempotencyRecord, error) {
	for range reserveAttempts {
		var live *api.IdempotencyRecord
		err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
			var err error
			live, err = reserve(ctx, tx, rec, now, staleBefore)
			return err
		})
		if errors.Is(err, errRetry) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("api/postgres: reserve: %w", err)
		}
		return live, nil
	}
	return nil, fmt.Errorf("api/postgres: reserve: the record of the key kept changing")
}

func reserve(ctx context.Context, tx pgx.Tx, rec api.IdempotencyRecord, now, staleBefore time.Time) (*api.IdempotencyRecord, error) {
	tag, err := tx.Exec(ctx,
		`INSERT INTO api_idempotency (principal, key, request_hash, done, secret, status, header, body, created_at, expires_at)
		 VALUES ($1, $2, $3, false, false, 0, '{}', '\x'::bytea, $4, $5)
		 ON CONFLICT (principal, key) DO NOTHING`,
		rec.Principal, rec.Key, rec.RequestHash[:], rec.CreatedAt, rec.ExpiresAt)
	if err != nil {
		return nil, err
	}
	if tag.RowsAffected() == 0 {
		prev, err := lockRecord(ctx, tx, rec.Principal, rec.Key)
		if err != nil {
			return nil, err
		}
		if prev.Live(now, staleBefore) {
			return prev, nil
		}
		if _, err := tx.Exec(ctx,
			`UPDATE api_idempotency SET request_hash = $3, done = false, secret = false, status = 0, header = '{}', body = '\x'::bytea,
			        created_at = $4, expires_at = $5
			  WHERE principal = $1 AND key = $2`,
			rec.Principal, rec.Key, rec.RequestHash[:], rec.CreatedAt, rec.ExpiresAt); err != nil {
			return nil, err
		}
	}
	// Expired records of anyone are garbage; drop a few with each write,
	// skipping those another transaction holds.
	if _, err := tx.Exec(ctx,
		`DELETE FROM api_idempotency WHERE (principal, key) IN (
		   SELECT principal, key FROM api_idempotency WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		now, gcBatch); err != nil {
		return nil, err
	}
	return nil, nil
}

// lockRecord reads and locks the record of principal and key.
func lockRecord(ctx context.Context, tx pgx.Tx, principal, key string) (*api.IdempotencyRecord, error) {
	prev := api.IdempotencyRecord{Principal: principal, Key: key}
	var hash []byte
	var header string
	err := tx.QueryRow(ctx,
		`SELECT request_hash, done, secret, status, header, body, created_at, expires_at
		   FROM api_idempotency WHERE principal = $1 AND key = $2 FOR UPDATE`,
		principal, key).Scan(&hash, &prev.Done, &prev.Secret, &prev.Status, &header, &prev.Body, &prev.CreatedAt, &prev.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errRetry
	}
	if err != nil {
		return nil, err
	}
	if len(hash) != len(prev.RequestHash) {
		return nil, fmt.Errorf("record of key %q has a request hash of %d bytes", key, len(hash))
	}
	copy(prev.RequestHash[:], hash)
	if err := json.Unmarshal([]byte(header), &prev.Header); err != nil {
		return nil, fmt.Errorf("record of key %q: header: %w", key, err)
	}
	return &prev, nil
}

// Complete implements [api.IdempotencyStore]. Of a Secret record it
// stores the status only. Of completions racing for one record the first
// to lock it wins; the others find it done and get [api.ErrNoRecord].
func (s *Store) Complete(ctx context.Context, rec api.IdempotencyRecord) error {
	h := rec.Header
	if h == nil || rec.Secret {
		h = http.Header{}
	}
	hj, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("api/postgres: complete: %w", err)
	}
	body := rec.Body
	if body == nil || rec.Secret {
		body = []byte{}
	}
	tag, err := s.pool.Exec(ctx,
		`UPDATE api_idempotency SET done = true, secret = $1, status = $2, header = $3, body = $4
		  WHERE principal = $5 AND key = $6 AND request_hash = $7 AND NOT done`,
		rec.Secret, rec.Status, string(hj), body, rec.Principal, rec.Key, rec.RequestHash[:])
	if err != nil {
		return fmt.Errorf("api/postgres: complete: %w", err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("api/postgres: complete: no in-flight record for the key: %w", api.ErrNoRecord)
	}
	return nil
}

// Release implements [api.IdempotencyStore].
func (s *Store) Release(ctx context.Context, principal, key string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM api_idempotency WHERE principal = $1 AND key = $2 AND NOT done`, principal, key); err != nil {
		return fmt.Errorf("api/postgres: release: %w", err)
	}
	return nil
}
