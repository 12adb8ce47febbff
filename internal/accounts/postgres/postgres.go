// Package postgres stores Signet's tenants and API keys in PostgreSQL
// (pgx v5, through internal/pgdb), implementing [accounts.TenantStore] and
// [accounts.KeyStore]. It holds what internal/accounts/sqlite holds,
// nothing more: an API key is stored as the SHA-256 of its secret, never
// the secret, and the tenant of every key lookup and revocation comes from
// the caller.
//
// Its tables, api_tenants and api_keys, are created by version 100 of the
// history of package internal/api/postgres, as on SQLite; [New] applies
// that history ([apipostgres.Migrations]) so that either store may be
// opened first. Later migrations of these tables take versions 500–599.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/accounts"
	apipostgres "github.com/signet-pki/signet/internal/api/postgres"
	"github.com/signet-pki/signet/internal/pgdb"
)

// Store implements the accounts stores over one database.
type Store struct {
	pool *pgxpool.Pool
}

var (
	_ accounts.TenantStore = (*Store)(nil)
	_ accounts.KeyStore    = (*Store)(nil)
)

// New applies the migrations that create the tables to the database
// behind pool (see [pgdb.Migrate]: several nodes may start at once) and
// returns a store that uses pool. The caller keeps pool and closes it.
func New(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if err := pgdb.Migrate(ctx, pool, apipostgres.Migrations); err != nil {
		return nil, fmt.Errorf("accounts/postgres: %w", err)
	}
	return &Store{pool: pool}, nil
}

// CreateTenant implements [accounts.TenantStore].
func (s *Store) CreateTenant(ctx context.Context, t accounts.Tenant) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO api_tenants (id, name, created_at) VALUES ($1, $2, $3)`, t.ID, t.Name, t.CreatedAt)
	if pgdb.IsUniqueViolation(err) {
		return fmt.Errorf("accounts/postgres: tenant %s: %w", t.ID, accounts.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("accounts/postgres: create tenant: %w", err)
	}
	return nil
}

// Tenant implements [accounts.TenantStore].
func (s *Store) Tenant(ctx context.Context, id string) (accounts.Tenant, error) {
	var t accounts.Tenant
	err := s.pool.QueryRow(ctx, `SELECT id, name, created_at FROM api_tenants WHERE id = $1`, id).Scan(&t.ID, &t.Name, &t.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, fmt.Errorf("accounts/postgres: tenant %s: %w", id, accounts.ErrNoRecord)
	}
	if err != nil {
		return t, fmt.Errorf("accounts/postgres: tenant: %w", err)
	}
	return t, nil
}

// Tenants implements [accounts.TenantStore].
func (s *Store) Tenants(ctx context.Context) ([]accounts.Tenant, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, created_at FROM api_tenants ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("accounts/postgres: tenants: %w", err)
	}
	var out []accounts.Tenant
	var t accounts.Tenant
	if _, err := pgx.ForEachRow(rows, []any{&t.ID, &t.Name, &t.CreatedAt}, func() error {
		out = append(out, t)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("accounts/postgres: tenants: %w", err)
	}
	return out, nil
}

// CreateKey implements [accounts.KeyStore].
func (s *Store) CreateKey(ctx context.Context, k accounts.APIKey) error {
	_, err := s.pool.Exec(ctx,
		`INSERT INTO api_keys (id, tenant, name, scopes, prefix, hash, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.ID, k.Tenant, k.Name, strings.Join(k.Scopes, " "), k.Prefix, k.Hash[:], k.CreatedAt)
	if pgdb.IsUniqueViolation(err) {
		return fmt.Errorf("accounts/postgres: api key %s: %w", k.ID, accounts.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("accounts/postgres: create api key: %w", err)
	}
	return nil
}

const keyColumns = `id, tenant, name, scopes, prefix, hash, created_at, revoked_at`

func scanKey(row pgx.Row) (accounts.APIKey, error) {
	var k accounts.APIKey
	var scopes string
	var hash []byte
	if err := row.Scan(&k.ID, &k.Tenant, &k.Name, &scopes, &k.Prefix, &hash, &k.CreatedAt, &k.RevokedAt); err != nil {
		return k, err
	}
	if len(hash) != len(k.Hash) {
		return k, fmt.Errorf("api key %s: bad hash length", k.ID)
	}
	copy(k.Hash[:], hash)
	k.Scopes = strings.Fields(scopes)
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
