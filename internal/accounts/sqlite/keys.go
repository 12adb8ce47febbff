package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/sqldb"
)

// CreateKey implements [accounts.KeyStore].
func (s *Store) CreateKey(ctx context.Context, k accounts.APIKey) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO api_keys (id, tenant, name, scopes, prefix, hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Tenant, k.Name, strings.Join(k.Scopes, " "), k.Prefix, k.Hash[:], sqldb.FormatTime(k.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("accounts/sqlite: api key %s: %w", k.ID, accounts.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("accounts/sqlite: create api key: %w", err)
	}
	return nil
}

const keyColumns = `id, tenant, name, scopes, prefix, hash, created_at, revoked_at`

type scanner interface{ Scan(dest ...any) error }

func scanKey(sc scanner) (accounts.APIKey, error) {
	var k accounts.APIKey
	var scopes, created string
	var hash []byte
	var revoked sql.NullString
	if err := sc.Scan(&k.ID, &k.Tenant, &k.Name, &scopes, &k.Prefix, &hash, &created, &revoked); err != nil {
		return k, err
	}
	if len(hash) != len(k.Hash) {
		return k, fmt.Errorf("accounts/sqlite: api key %s: bad hash length", k.ID)
	}
	copy(k.Hash[:], hash)
	k.Scopes = strings.Fields(scopes)
	var err error
	if k.CreatedAt, err = sqldb.ParseTime(created); err != nil {
		return k, err
	}
	if revoked.Valid {
		t, err := sqldb.ParseTime(revoked.String)
		if err != nil {
			return k, err
		}
		k.RevokedAt = &t
	}
	return k, nil
}

// KeyByHash implements [accounts.KeyStore].
func (s *Store) KeyByHash(ctx context.Context, h [32]byte) (accounts.APIKey, error) {
	k, err := scanKey(s.pool.Reader().QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE hash = ?`, h[:]))
	if errors.Is(err, sql.ErrNoRows) {
		return k, fmt.Errorf("accounts/sqlite: api key: %w", accounts.ErrNoRecord)
	}
	if err != nil {
		return k, fmt.Errorf("accounts/sqlite: api key: %w", err)
	}
	return k, nil
}

// Keys implements [accounts.KeyStore].
func (s *Store) Keys(ctx context.Context, tenant string) ([]accounts.APIKey, error) {
	rows, err := s.pool.Reader().QueryContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE tenant = ? ORDER BY created_at, id`, tenant)
	if err != nil {
		return nil, fmt.Errorf("accounts/sqlite: api keys: %w", err)
	}
	defer rows.Close()
	var out []accounts.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("accounts/sqlite: api keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RevokeKey implements [accounts.KeyStore].
func (s *Store) RevokeKey(ctx context.Context, tenant, id string, t time.Time) error {
	res, err := s.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE tenant = ? AND id = ?`, sqldb.FormatTime(t), tenant, id)
	if err != nil {
		return fmt.Errorf("accounts/sqlite: revoke api key: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("accounts/sqlite: revoke api key: %w", err)
	} else if n == 0 {
		return fmt.Errorf("accounts/sqlite: api key %s: %w", id, accounts.ErrNoRecord)
	}
	return nil
}
