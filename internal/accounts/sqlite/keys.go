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

func optTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return sqldb.FormatTime(*t)
}

func parseOptTime(s sql.NullString) (*time.Time, error) {
	if !s.Valid {
		return nil, nil
	}
	t, err := sqldb.ParseTime(s.String)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// insertKey inserts a key unless its tenant is deleted, in one statement.
const insertKey = `INSERT INTO api_keys (id, tenant, name, roles, actions, owner, allowed_ips, prefix, hash, created_at, expires_at)
	SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?
	WHERE NOT EXISTS (SELECT 1 FROM api_tenants WHERE id = ? AND deleted_at IS NOT NULL)`

func keyArgs(k accounts.APIKey) []any {
	return []any{k.ID, k.Tenant, k.Name, strings.Join(k.Roles, " "), strings.Join(k.Actions, " "), k.Owner,
		strings.Join(k.AllowedIPs, " "), k.Prefix, k.Hash[:], sqldb.FormatTime(k.CreatedAt), optTime(k.ExpiresAt), k.Tenant}
}

// execer is a *sql.Tx or the pool.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// poolExec adapts the pool, which groups writes, to execer.
type poolExec struct{ s *Store }

func (p poolExec) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return p.s.pool.Exec(ctx, query, args...)
}

// createKey inserts k through e, mapping a taken id or hash to
// [accounts.ErrExists] and a deleted tenant to [accounts.ErrTenantDeleted].
func createKey(ctx context.Context, e execer, k accounts.APIKey) error {
	res, err := e.ExecContext(ctx, insertKey, keyArgs(k)...)
	if isUnique(err) {
		return fmt.Errorf("api key %s: %w", k.ID, accounts.ErrExists)
	}
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return fmt.Errorf("api key %s: tenant %s: %w", k.ID, k.Tenant, accounts.ErrTenantDeleted)
	}
	return nil
}

// CreateKey implements [accounts.KeyStore].
func (s *Store) CreateKey(ctx context.Context, k accounts.APIKey) error {
	if err := createKey(ctx, poolExec{s}, k); err != nil {
		return fmt.Errorf("accounts/sqlite: create api key: %w", err)
	}
	return nil
}

const keyColumns = `id, tenant, name, roles, actions, owner, allowed_ips, prefix, hash, created_at, expires_at, last_used_at, revoked_at, replaced_by, overlap_ends_at`

type scanner interface{ Scan(dest ...any) error }

func scanKey(sc scanner) (accounts.APIKey, error) {
	var k accounts.APIKey
	var roles, actions, ips, created string
	var hash []byte
	var expires, used, revoked, overlap sql.NullString
	if err := sc.Scan(&k.ID, &k.Tenant, &k.Name, &roles, &actions, &k.Owner, &ips, &k.Prefix, &hash, &created,
		&expires, &used, &revoked, &k.ReplacedBy, &overlap); err != nil {
		return k, err
	}
	if len(hash) != len(k.Hash) {
		return k, fmt.Errorf("accounts/sqlite: api key %s: bad hash length", k.ID)
	}
	copy(k.Hash[:], hash)
	k.Roles, k.Actions, k.AllowedIPs = strings.Fields(roles), strings.Fields(actions), strings.Fields(ips)
	var err error
	if k.CreatedAt, err = sqldb.ParseTime(created); err != nil {
		return k, err
	}
	for _, f := range []struct {
		dst **time.Time
		src sql.NullString
	}{{&k.ExpiresAt, expires}, {&k.LastUsedAt, used}, {&k.RevokedAt, revoked}, {&k.OverlapEndsAt, overlap}} {
		if *f.dst, err = parseOptTime(f.src); err != nil {
			return k, err
		}
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

// Key implements [accounts.KeyStore].
func (s *Store) Key(ctx context.Context, tenant, id string) (accounts.APIKey, error) {
	k, err := scanKey(s.pool.Reader().QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE tenant = ? AND id = ?`, tenant, id))
	if errors.Is(err, sql.ErrNoRows) {
		return k, fmt.Errorf("accounts/sqlite: api key %s: %w", id, accounts.ErrNoRecord)
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

// RotateKey implements [accounts.KeyStore].
func (s *Store) RotateKey(ctx context.Context, tenant, old string, next accounts.APIKey, overlapEnds time.Time) error {
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		var deleted int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM api_tenants WHERE id = ? AND deleted_at IS NOT NULL`, tenant).Scan(&deleted)
		if err != nil {
			return err
		}
		if deleted > 0 {
			return fmt.Errorf("tenant %s: %w", tenant, accounts.ErrTenantDeleted)
		}
		var revoked sql.NullString
		var replaced string
		err = tx.QueryRowContext(ctx, `SELECT revoked_at, replaced_by FROM api_keys WHERE tenant = ? AND id = ?`, tenant, old).Scan(&revoked, &replaced)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("api key %s: %w", old, accounts.ErrNoRecord)
		}
		if err != nil {
			return err
		}
		if revoked.Valid || replaced != "" {
			return fmt.Errorf("api key %s: %w", old, accounts.ErrReplaced)
		}
		if next.Tenant != tenant {
			return fmt.Errorf("api key %s: the replacement belongs to another tenant", old)
		}
		if err := createKey(ctx, tx, next); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE api_keys SET replaced_by = ?, overlap_ends_at = ? WHERE tenant = ? AND id = ?`,
			next.ID, sqldb.FormatTime(overlapEnds), tenant, old)
		return err
	})
	if err != nil {
		return fmt.Errorf("accounts/sqlite: rotate api key: %w", err)
	}
	return nil
}

// TouchKey implements [accounts.KeyStore].
func (s *Store) TouchKey(ctx context.Context, id string, prev *time.Time, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ? AND last_used_at IS ?`,
		sqldb.FormatTime(at), id, optTime(prev)); err != nil {
		return fmt.Errorf("accounts/sqlite: touch api key: %w", err)
	}
	return nil
}
