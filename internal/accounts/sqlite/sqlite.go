// Package sqlite stores Signet's tenants and API keys in the service
// database (SQLite), implementing [accounts.TenantStore],
// [accounts.KeyStore] and [accounts.TokenStore].
//
// Its tables, api_tenants and api_keys, were created by version 100 of
// the history of package internal/api/sqlite, when tenants and API keys
// were part of the HTTP layer; [New] applies that history
// ([apisqlite.Migrations], versions 100–199) so that either store may be
// opened first, and the names stay those of existing databases; then its
// own [Migrations] (versions 500–599): version 500 turns API keys into
// service accounts' keys (roles, actions, owner, allowed addresses,
// expiry, last use, rotation), converting the scopes of existing keys,
// and adds the access tokens (api_tokens); version 510 adds the time a
// tenant was deleted (api_tenants.deleted_at). Every column holding a time is
// text ([sqldb.FormatTime]); lists (roles, actions, allowed_ips) are
// space-separated text. Keys and tokens are stored as the SHA-256 of
// their secret only.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/accounts"
	apisqlite "github.com/signet-pki/signet/internal/api/sqlite"
	"github.com/signet-pki/signet/internal/sqldb"
)

// Store implements the accounts stores over one database.
type Store struct {
	pool *sqldb.Pool
}

var (
	_ accounts.TenantStore = (*Store)(nil)
	_ accounts.KeyStore    = (*Store)(nil)
	_ accounts.TokenStore  = (*Store)(nil)
)

// New applies the migrations that create the tables to the service
// database behind p and returns a store that writes through p, grouped
// with the database's other stores, and looks up tenants and API keys
// through p's read-only connections.
func New(ctx context.Context, p *sqldb.Pool) (*Store, error) {
	if err := sqldb.Migrate(ctx, p.Writer(), apisqlite.Migrations); err != nil {
		return nil, fmt.Errorf("accounts/sqlite: %w", err)
	}
	if err := sqldb.Migrate(ctx, p.Writer(), Migrations); err != nil {
		return nil, fmt.Errorf("accounts/sqlite: %w", err)
	}
	return &Store{pool: p}, nil
}

func isUnique(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "UNIQUE constraint failed") || strings.Contains(err.Error(), "PRIMARY KEY"))
}

// CreateTenant implements [accounts.TenantStore].
func (s *Store) CreateTenant(ctx context.Context, t accounts.Tenant) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO api_tenants (id, name, created_at) VALUES (?, ?, ?)`, t.ID, t.Name, sqldb.FormatTime(t.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("accounts/sqlite: tenant %s: %w", t.ID, accounts.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("accounts/sqlite: create tenant: %w", err)
	}
	return nil
}

const tenantColumns = `id, name, created_at, deleted_at`

func scanTenant(sc scanner) (accounts.Tenant, error) {
	var t accounts.Tenant
	var created string
	var deleted sql.NullString
	if err := sc.Scan(&t.ID, &t.Name, &created, &deleted); err != nil {
		return t, err
	}
	var err error
	if t.CreatedAt, err = sqldb.ParseTime(created); err != nil {
		return t, err
	}
	t.DeletedAt, err = parseOptTime(deleted)
	return t, err
}

// Tenant implements [accounts.TenantStore].
func (s *Store) Tenant(ctx context.Context, id string) (accounts.Tenant, error) {
	t, err := scanTenant(s.pool.Reader().QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM api_tenants WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("accounts/sqlite: tenant %s: %w", id, accounts.ErrNoRecord)
	}
	if err != nil {
		return t, fmt.Errorf("accounts/sqlite: tenant: %w", err)
	}
	return t, nil
}

// Tenants implements [accounts.TenantStore].
func (s *Store) Tenants(ctx context.Context) ([]accounts.Tenant, error) {
	rows, err := s.pool.Reader().QueryContext(ctx, `SELECT `+tenantColumns+` FROM api_tenants ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("accounts/sqlite: tenants: %w", err)
	}
	defer rows.Close()
	var out []accounts.Tenant
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			return nil, fmt.Errorf("accounts/sqlite: tenants: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteTenant implements [accounts.TenantStore].
func (s *Store) DeleteTenant(ctx context.Context, id string, t time.Time) error {
	at := sqldb.FormatTime(t)
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_tenants SET deleted_at = COALESCE(deleted_at, ?) WHERE id = ?`, at, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("tenant %s: %w", id, accounts.ErrNoRecord)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = ? WHERE tenant = ? AND revoked_at IS NULL`, at, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE tenant = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("accounts/sqlite: delete tenant: %w", err)
	}
	return nil
}
