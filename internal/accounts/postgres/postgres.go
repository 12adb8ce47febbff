// Package postgres stores Signet's tenants and API keys in PostgreSQL
// (pgx v5, through internal/pgdb), implementing [accounts.TenantStore],
// [accounts.KeyStore] and [accounts.TokenStore]. It holds what
// internal/accounts/sqlite holds, nothing more: an API key or access token
// is stored as the SHA-256 of its secret, never the secret, and the tenant of every key lookup and revocation comes from
// the caller.
//
// Its tables, api_tenants and api_keys, are created by version 100 of the
// history of package internal/api/postgres, as on SQLite; [New] applies
// that history ([apipostgres.Migrations]) so that either store may be
// opened first, then its own [Migrations] (versions 500–599), whose
// version 500 has the final shape of SQLite's history up to its version
// 500: API keys of service accounts (converting existing keys' scopes to
// roles and actions) and the access tokens (api_tokens); version 510, as
// on SQLite, adds the time a tenant was deleted (api_tenants.deleted_at).
//
// Types, by SQLite's: TEXT → text (roles, actions and allowed_ips are
// space-separated text on both); BLOB → bytea (the SHA-256 of a secret,
// checked to be 32 bytes); times kept as text on SQLite
// (created_at, expires_at, last_used_at, revoked_at, overlap_ends_at,
// deleted_at) → timestamptz.
//
// Deleting a tenant and creating or rotating one of its keys serialize on
// the tenant's row (the deletion updates it, the key writes read it FOR
// SHARE), so that no key is created for a tenant after its deletion
// revoked the others.
package postgres

import (
	"context"
	"errors"
	"fmt"
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
	_ accounts.TokenStore  = (*Store)(nil)
)

// New applies the migrations that create the tables to the database
// behind pool (see [pgdb.Migrate]: several nodes may start at once) and
// returns a store that uses pool. The caller keeps pool and closes it.
func New(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if err := pgdb.Migrate(ctx, pool, apipostgres.Migrations); err != nil {
		return nil, fmt.Errorf("accounts/postgres: %w", err)
	}
	if err := pgdb.Migrate(ctx, pool, Migrations); err != nil {
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
	err := s.pool.QueryRow(ctx, `SELECT id, name, created_at, deleted_at FROM api_tenants WHERE id = $1`, id).Scan(&t.ID, &t.Name, &t.CreatedAt, &t.DeletedAt)
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
	rows, err := s.pool.Query(ctx, `SELECT id, name, created_at, deleted_at FROM api_tenants ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("accounts/postgres: tenants: %w", err)
	}
	var out []accounts.Tenant
	var t accounts.Tenant
	if _, err := pgx.ForEachRow(rows, []any{&t.ID, &t.Name, &t.CreatedAt, &t.DeletedAt}, func() error {
		out = append(out, t)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("accounts/postgres: tenants: %w", err)
	}
	return out, nil
}

// DeleteTenant implements [accounts.TenantStore]. It updates the tenant's
// row first, so that it waits for key writes of the tenant in progress
// and key writes that start later see the tenant deleted.
func (s *Store) DeleteTenant(ctx context.Context, id string, t time.Time) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE api_tenants SET deleted_at = COALESCE(deleted_at, $1) WHERE id = $2`, t, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("tenant %s: %w", id, accounts.ErrNoRecord)
		}
		if _, err := tx.Exec(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE tenant = $2 AND revoked_at IS NULL`, t, id); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM api_tokens WHERE tenant = $1`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("accounts/postgres: delete tenant: %w", err)
	}
	return nil
}
