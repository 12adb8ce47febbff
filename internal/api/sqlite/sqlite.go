// Package sqlite stores Signet's tenants, API keys and idempotency records
// in the service database (SQLite), implementing [api.TenantStore],
// [api.KeyStore] and [api.IdempotencyStore].
//
// Its tables are prefixed api_ and its migrations own versions 100–199 of
// the database's schema_migrations ([sqldb.Migrate]).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/sqldb"
)

// Migrations are the api tables' schema history.
var Migrations = []sqldb.Migration{{
	Version: 100,
	Name:    "api tenants, keys and idempotency records",
	SQL: `
CREATE TABLE api_tenants (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	created_at TEXT NOT NULL
) STRICT;
CREATE TABLE api_keys (
	id         TEXT PRIMARY KEY,
	tenant     TEXT NOT NULL,
	name       TEXT NOT NULL,
	scopes     TEXT NOT NULL,
	prefix     TEXT NOT NULL,
	hash       BLOB NOT NULL UNIQUE,
	created_at TEXT NOT NULL,
	revoked_at TEXT
) STRICT;
CREATE INDEX api_keys_tenant ON api_keys (tenant, created_at);
CREATE TABLE api_idempotency (
	principal    TEXT NOT NULL,
	key          TEXT NOT NULL,
	request_hash BLOB NOT NULL,
	done         INTEGER NOT NULL,
	status       INTEGER NOT NULL,
	header       TEXT NOT NULL,
	body         BLOB NOT NULL,
	created_at   TEXT NOT NULL,
	expires_at   TEXT NOT NULL,
	PRIMARY KEY (principal, key)
) STRICT;
CREATE INDEX api_idempotency_expiry ON api_idempotency (expires_at);
`,
}, {
	Version: 101,
	Name:    "idempotency records of responses carrying a secret keep only a marker",
	// Records stored before the marker existed may hold a new API key's
	// secret or a recipient session token: keep only their marker.
	// secure_delete zeroes the bytes the update frees.
	SQL: `
ALTER TABLE api_idempotency ADD COLUMN secret INTEGER NOT NULL DEFAULT 0;
PRAGMA secure_delete = ON;
UPDATE api_idempotency SET secret = 1, header = '{}', body = x''
 WHERE done = 1 AND (instr(CAST(body AS TEXT), '"secret":"sk_') > 0 OR instr(CAST(body AS TEXT), '"session":"') > 0);
PRAGMA secure_delete = OFF;
`,
}}

// Store implements the api stores over one database.
type Store struct {
	pool *sqldb.Pool
}

var (
	_ api.TenantStore      = (*Store)(nil)
	_ api.KeyStore         = (*Store)(nil)
	_ api.IdempotencyStore = (*Store)(nil)
)

// New applies [Migrations] to the service database behind p and returns
// a store that writes through p, grouped with the database's other
// stores, and looks up tenants and API keys through p's read-only
// connections.
func New(ctx context.Context, p *sqldb.Pool) (*Store, error) {
	if err := sqldb.Migrate(ctx, p.Writer(), Migrations); err != nil {
		return nil, fmt.Errorf("api/sqlite: %w", err)
	}
	return &Store{pool: p}, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Writer().PingContext(ctx) }

const timeFmt = time.RFC3339Nano

func fmtTime(t time.Time) string { return t.UTC().Format(timeFmt) }

func parseTime(s string) (time.Time, error) { return time.Parse(timeFmt, s) }

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed") || err != nil && strings.Contains(err.Error(), "PRIMARY KEY")
}

// CreateTenant implements [api.TenantStore].
func (s *Store) CreateTenant(ctx context.Context, t api.Tenant) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO api_tenants (id, name, created_at) VALUES (?, ?, ?)`, t.ID, t.Name, fmtTime(t.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("api/sqlite: tenant %s: %w", t.ID, api.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("api/sqlite: create tenant: %w", err)
	}
	return nil
}

// Tenant implements [api.TenantStore].
func (s *Store) Tenant(ctx context.Context, id string) (api.Tenant, error) {
	var t api.Tenant
	var created string
	err := s.pool.Reader().QueryRowContext(ctx, `SELECT id, name, created_at FROM api_tenants WHERE id = ?`, id).Scan(&t.ID, &t.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return t, fmt.Errorf("api/sqlite: tenant %s: %w", id, api.ErrNoRecord)
	}
	if err != nil {
		return t, fmt.Errorf("api/sqlite: tenant: %w", err)
	}
	t.CreatedAt, err = parseTime(created)
	return t, err
}

// Tenants implements [api.TenantStore].
func (s *Store) Tenants(ctx context.Context) ([]api.Tenant, error) {
	rows, err := s.pool.Reader().QueryContext(ctx, `SELECT id, name, created_at FROM api_tenants ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("api/sqlite: tenants: %w", err)
	}
	defer rows.Close()
	var out []api.Tenant
	for rows.Next() {
		var t api.Tenant
		var created string
		if err := rows.Scan(&t.ID, &t.Name, &created); err != nil {
			return nil, fmt.Errorf("api/sqlite: tenants: %w", err)
		}
		if t.CreatedAt, err = parseTime(created); err != nil {
			return nil, fmt.Errorf("api/sqlite: tenants: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
