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

// CreateToken implements [accounts.TokenStore].
func (s *Store) CreateToken(ctx context.Context, t accounts.AccessToken, max int) error {
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		// Expiry times are compared as instants, not as text.
		rows, err := tx.QueryContext(ctx, `SELECT hash, expires_at FROM api_tokens WHERE key_id = ? AND tenant = ?`, t.KeyID, t.Tenant)
		if err != nil {
			return err
		}
		var expired [][]byte
		live := 0
		for rows.Next() {
			var h []byte
			var exp string
			if err := rows.Scan(&h, &exp); err != nil {
				rows.Close()
				return err
			}
			e, err := sqldb.ParseTime(exp)
			if err != nil {
				rows.Close()
				return err
			}
			if t.CreatedAt.Before(e) {
				live++
			} else {
				expired = append(expired, h)
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, h := range expired {
			if _, err := tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE hash = ?`, h); err != nil {
				return err
			}
		}
		if live >= max {
			return accounts.ErrTooManyTokens
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO api_tokens (hash, key_id, tenant, actions, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
			t.Hash[:], t.KeyID, t.Tenant, strings.Join(t.Actions, " "), sqldb.FormatTime(t.CreatedAt), sqldb.FormatTime(t.ExpiresAt))
		if isUnique(err) {
			return accounts.ErrExists
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("accounts/sqlite: create access token: %w", err)
	}
	return nil
}

// TokenByHash implements [accounts.TokenStore].
func (s *Store) TokenByHash(ctx context.Context, h [32]byte) (accounts.AccessToken, error) {
	var t accounts.AccessToken
	var hash []byte
	var actions, created, expires string
	err := s.pool.Reader().QueryRowContext(ctx, `SELECT hash, key_id, tenant, actions, created_at, expires_at FROM api_tokens WHERE hash = ?`, h[:]).
		Scan(&hash, &t.KeyID, &t.Tenant, &actions, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("accounts/sqlite: access token: %w", accounts.ErrNoRecord)
	}
	if err != nil {
		return t, fmt.Errorf("accounts/sqlite: access token: %w", err)
	}
	if len(hash) != len(t.Hash) {
		return t, fmt.Errorf("accounts/sqlite: access token: bad hash length")
	}
	copy(t.Hash[:], hash)
	t.Actions = strings.Fields(actions)
	if t.CreatedAt, err = sqldb.ParseTime(created); err != nil {
		return t, fmt.Errorf("accounts/sqlite: access token: %w", err)
	}
	if t.ExpiresAt, err = sqldb.ParseTime(expires); err != nil {
		return t, fmt.Errorf("accounts/sqlite: access token: %w", err)
	}
	return t, nil
}

// DeleteTokens implements [accounts.TokenStore].
func (s *Store) DeleteTokens(ctx context.Context, tenant, keyID string) (int, error) {
	res, err := s.pool.Exec(ctx, `DELETE FROM api_tokens WHERE tenant = ? AND key_id = ?`, tenant, keyID)
	if err != nil {
		return 0, fmt.Errorf("accounts/sqlite: delete access tokens: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// DeleteExpiredTokens implements [accounts.TokenStore].
func (s *Store) DeleteExpiredTokens(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT hash, expires_at FROM api_tokens`)
		if err != nil {
			return err
		}
		var gone [][]byte
		for rows.Next() {
			var h []byte
			var exp string
			if err := rows.Scan(&h, &exp); err != nil {
				rows.Close()
				return err
			}
			if e, err := sqldb.ParseTime(exp); err == nil && !now.Before(e) {
				gone = append(gone, h)
			}
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, h := range gone {
			if _, err := tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE hash = ?`, h); err != nil {
				return err
			}
		}
		n = len(gone)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("accounts/sqlite: delete expired access tokens: %w", err)
	}
	return n, nil
}
