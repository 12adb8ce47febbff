package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/pgdb"
)

const insertKey = `INSERT INTO api_keys (id, tenant, name, roles, actions, owner, allowed_ips, prefix, hash, created_at, expires_at)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`

func keyArgs(k accounts.APIKey) []any {
	return []any{k.ID, k.Tenant, k.Name, strings.Join(k.Roles, " "), strings.Join(k.Actions, " "), k.Owner,
		strings.Join(k.AllowedIPs, " "), k.Prefix, k.Hash[:], k.CreatedAt, k.ExpiresAt}
}

// tenantLive locks the row of tenant (if it has one) against deletion
// for the rest of tx and fails with [accounts.ErrTenantDeleted] if the
// tenant is deleted.
func tenantLive(ctx context.Context, tx pgx.Tx, tenant string) error {
	var deleted *time.Time
	err := tx.QueryRow(ctx, `SELECT deleted_at FROM api_tenants WHERE id = $1 FOR SHARE`, tenant).Scan(&deleted)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	if deleted != nil {
		return fmt.Errorf("tenant %s: %w", tenant, accounts.ErrTenantDeleted)
	}
	return nil
}

// CreateKey implements [accounts.KeyStore].
func (s *Store) CreateKey(ctx context.Context, k accounts.APIKey) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tenantLive(ctx, tx, k.Tenant); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, insertKey, keyArgs(k)...)
		if pgdb.IsUniqueViolation(err) {
			return fmt.Errorf("api key %s: %w", k.ID, accounts.ErrExists)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("accounts/postgres: create api key: %w", err)
	}
	return nil
}

const keyColumns = `id, tenant, name, roles, actions, owner, allowed_ips, prefix, hash, created_at, expires_at, last_used_at, revoked_at, replaced_by, overlap_ends_at`

func scanKey(row pgx.Row) (accounts.APIKey, error) {
	var k accounts.APIKey
	var roles, actions, ips string
	var hash []byte
	if err := row.Scan(&k.ID, &k.Tenant, &k.Name, &roles, &actions, &k.Owner, &ips, &k.Prefix, &hash, &k.CreatedAt,
		&k.ExpiresAt, &k.LastUsedAt, &k.RevokedAt, &k.ReplacedBy, &k.OverlapEndsAt); err != nil {
		return k, err
	}
	if len(hash) != len(k.Hash) {
		return k, fmt.Errorf("api key %s: bad hash length", k.ID)
	}
	copy(k.Hash[:], hash)
	k.Roles, k.Actions, k.AllowedIPs = strings.Fields(roles), strings.Fields(actions), strings.Fields(ips)
	return k, nil
}

// KeyByHash implements [accounts.KeyStore].
func (s *Store) KeyByHash(ctx context.Context, h [32]byte) (accounts.APIKey, error) {
	k, err := scanKey(s.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE hash = $1`, h[:]))
	if errors.Is(err, pgx.ErrNoRows) {
		return k, fmt.Errorf("accounts/postgres: api key: %w", accounts.ErrNoRecord)
	}
	if err != nil {
		return k, fmt.Errorf("accounts/postgres: api key: %w", err)
	}
	return k, nil
}

// Key implements [accounts.KeyStore].
func (s *Store) Key(ctx context.Context, tenant, id string) (accounts.APIKey, error) {
	k, err := scanKey(s.pool.QueryRow(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE tenant = $1 AND id = $2`, tenant, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return k, fmt.Errorf("accounts/postgres: api key %s: %w", id, accounts.ErrNoRecord)
	}
	if err != nil {
		return k, fmt.Errorf("accounts/postgres: api key: %w", err)
	}
	return k, nil
}

// Keys implements [accounts.KeyStore].
func (s *Store) Keys(ctx context.Context, tenant string) ([]accounts.APIKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE tenant = $1 ORDER BY created_at, id`, tenant)
	if err != nil {
		return nil, fmt.Errorf("accounts/postgres: api keys: %w", err)
	}
	defer rows.Close()
	var out []accounts.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("accounts/postgres: api keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("accounts/postgres: api keys: %w", err)
	}
	return out, nil
}

// RevokeKey implements [accounts.KeyStore].
func (s *Store) RevokeKey(ctx context.Context, tenant, id string, t time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE tenant = $2 AND id = $3`, t, tenant, id)
	if err != nil {
		return fmt.Errorf("accounts/postgres: revoke api key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("accounts/postgres: api key %s: %w", id, accounts.ErrNoRecord)
	}
	return nil
}

// RotateKey implements [accounts.KeyStore]. The old key's row is locked
// for the transaction, so that of two nodes rotating it at once one wins
// and the other gets [accounts.ErrReplaced].
func (s *Store) RotateKey(ctx context.Context, tenant, old string, next accounts.APIKey, overlapEnds time.Time) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tenantLive(ctx, tx, tenant); err != nil {
			return err
		}
		var revoked *time.Time
		var replaced string
		err := tx.QueryRow(ctx, `SELECT revoked_at, replaced_by FROM api_keys WHERE tenant = $1 AND id = $2 FOR UPDATE`, tenant, old).Scan(&revoked, &replaced)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("api key %s: %w", old, accounts.ErrNoRecord)
		}
		if err != nil {
			return err
		}
		if revoked != nil || replaced != "" {
			return fmt.Errorf("api key %s: %w", old, accounts.ErrReplaced)
		}
		if next.Tenant != tenant {
			return fmt.Errorf("api key %s: the replacement belongs to another tenant", old)
		}
		if _, err := tx.Exec(ctx, insertKey, keyArgs(next)...); pgdb.IsUniqueViolation(err) {
			return fmt.Errorf("api key %s: %w", next.ID, accounts.ErrExists)
		} else if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE api_keys SET replaced_by = $1, overlap_ends_at = $2 WHERE tenant = $3 AND id = $4`, next.ID, overlapEnds, tenant, old)
		return err
	})
	if err != nil {
		return fmt.Errorf("accounts/postgres: rotate api key: %w", err)
	}
	return nil
}

// TouchKey implements [accounts.KeyStore].
func (s *Store) TouchKey(ctx context.Context, id string, prev *time.Time, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND last_used_at IS NOT DISTINCT FROM $3`, at, id, prev); err != nil {
		return fmt.Errorf("accounts/postgres: touch api key: %w", err)
	}
	return nil
}

// CreateToken implements [accounts.TokenStore]. The key's row is locked
// for the transaction, so that nodes issuing tokens of one key at once
// count each other's.
func (s *Store) CreateToken(ctx context.Context, t accounts.AccessToken, max int) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM api_keys WHERE tenant = $1 AND id = $2 FOR UPDATE`, t.Tenant, t.KeyID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM api_tokens WHERE tenant = $1 AND key_id = $2 AND expires_at <= $3`, t.Tenant, t.KeyID, t.CreatedAt); err != nil {
			return err
		}
		var live int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM api_tokens WHERE tenant = $1 AND key_id = $2`, t.Tenant, t.KeyID).Scan(&live); err != nil {
			return err
		}
		if live >= max {
			return accounts.ErrTooManyTokens
		}
		_, err := tx.Exec(ctx, `INSERT INTO api_tokens (hash, key_id, tenant, actions, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			t.Hash[:], t.KeyID, t.Tenant, strings.Join(t.Actions, " "), t.CreatedAt, t.ExpiresAt)
		if pgdb.IsUniqueViolation(err) {
			return accounts.ErrExists
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("accounts/postgres: create access token: %w", err)
	}
	return nil
}

// TokenByHash implements [accounts.TokenStore].
func (s *Store) TokenByHash(ctx context.Context, h [32]byte) (accounts.AccessToken, error) {
	var t accounts.AccessToken
	var hash []byte
	var actions string
	err := s.pool.QueryRow(ctx, `SELECT hash, key_id, tenant, actions, created_at, expires_at FROM api_tokens WHERE hash = $1`, h[:]).
		Scan(&hash, &t.KeyID, &t.Tenant, &actions, &t.CreatedAt, &t.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, fmt.Errorf("accounts/postgres: access token: %w", accounts.ErrNoRecord)
	}
	if err != nil {
		return t, fmt.Errorf("accounts/postgres: access token: %w", err)
	}
	if len(hash) != len(t.Hash) {
		return t, fmt.Errorf("accounts/postgres: access token: bad hash length")
	}
	copy(t.Hash[:], hash)
	t.Actions = strings.Fields(actions)
	return t, nil
}

// DeleteTokens implements [accounts.TokenStore].
func (s *Store) DeleteTokens(ctx context.Context, tenant, keyID string) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM api_tokens WHERE tenant = $1 AND key_id = $2`, tenant, keyID)
	if err != nil {
		return 0, fmt.Errorf("accounts/postgres: delete access tokens: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// DeleteExpiredTokens implements [accounts.TokenStore].
func (s *Store) DeleteExpiredTokens(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM api_tokens WHERE expires_at <= $1`, now)
	if err != nil {
		return 0, fmt.Errorf("accounts/postgres: delete expired access tokens: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
