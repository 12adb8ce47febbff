package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/api"
)

// CreateKey implements [api.KeyStore].
func (s *Store) CreateKey(ctx context.Context, k api.APIKey) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO api_keys (id, tenant, name, scopes, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Tenant, k.Name, strings.Join(k.Scopes, " "), k.Prefix, k.Hash[:], fmtTime(k.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("api/sqlite: api key %s: %w", k.ID, api.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("api/sqlite: create api key: %w", err)
	}
	return nil
}

const keyColumns = `id, tenant, name, scopes, prefix, hash, created_at, revoked_at`

type scanner interface{ Scan(dest ...any) error }

func scanKey(sc scanner) (api.APIKey, error) {
	var k api.APIKey
	var scopes, created string
	var hash []byte
	var revoked sql.NullString
	if err := sc.Scan(&k.ID, &k.Tenant, &k.Name, &scopes, &k.Prefix, &hash, &created, &revoked); err != nil {
		return k, err
	}
	if len(hash) != len(k.Hash) {
		return k, fmt.Errorf("api/sqlite: api key %s: bad hash length", k.ID)
	}
	copy(k.Hash[:], hash)
	k.Scopes = strings.Fields(scopes)
	var err error
	if k.CreatedAt, err = parseTime(created); err != nil {
		return k, err
	}
	if revoked.Valid {
		t, err := parseTime(revoked.String)
		if err != nil {
			return k, err
		}
		k.RevokedAt = &t
	}
	return k, nil
}

// KeyByHash implements [api.KeyStore].
func (s *Store) KeyByHash(ctx context.Context, h [32]byte) (api.APIKey, error) {
	k, err := scanKey(s.pool.Reader().QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE hash = ?`, h[:]))
	if errors.Is(err, sql.ErrNoRows) {
		return k, fmt.Errorf("api/sqlite: api key: %w", api.ErrNoRecord)
	}
	if err != nil {
		return k, fmt.Errorf("api/sqlite: api key: %w", err)
	}
	return k, nil
}

// Keys implements [api.KeyStore].
func (s *Store) Keys(ctx context.Context, tenant string) ([]api.APIKey, error) {
	rows, err := s.pool.Reader().QueryContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE tenant = ? ORDER BY created_at, id`, tenant)
	if err != nil {
		return nil, fmt.Errorf("api/sqlite: api keys: %w", err)
	}
	defer rows.Close()
	var out []api.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("api/sqlite: api keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeKey implements [api.KeyStore].
func (s *Store) RevokeKey(ctx context.Context, tenant, id string, t time.Time) error {
	res, err := s.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE tenant = ? AND id = ?`, fmtTime(t), tenant, id)
	if err != nil {
		return fmt.Errorf("api/sqlite: revoke api key: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("api/sqlite: revoke api key: %w", err)
	} else if n == 0 {
		return fmt.Errorf("api/sqlite: api key %s: %w", id, api.ErrNoRecord)
	}
	return nil
}
