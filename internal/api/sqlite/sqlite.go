// Package sqlite stores the idempotency records of Signet's HTTP API in
// the service database (SQLite), implementing [api.IdempotencyStore].
//
// Its migrations own versions 100–199 of the database's schema_migrations
// ([sqldb.Migrate]). Version 100 also created the tables of tenants and
// API keys (api_tenants, api_keys), which package internal/accounts/sqlite
// reads and writes: it applies [Migrations] too, so that either store may
// be opened first, and a database of any release keeps its history.
package sqlite

import (
	"context"
	"fmt"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/sqldb"
)

// Migrations are the schema history of the api_ tables: the idempotency
// records, and the tenants and API keys of internal/accounts/sqlite. A
// released migration is never edited; the accounts tables' later
// migrations take versions 500–599 in that package.
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

// Store implements [api.IdempotencyStore] over one database.
type Store struct {
	pool *sqldb.Pool
}

var _ api.IdempotencyStore = (*Store)(nil)

// New applies [Migrations] to the service database behind p and returns
// a store that writes through p, grouped with the database's other
// stores.
func New(ctx context.Context, p *sqldb.Pool) (*Store, error) {
	if err := sqldb.Migrate(ctx, p.Writer(), Migrations); err != nil {
		return nil, fmt.Errorf("api/sqlite: %w", err)
	}
	return &Store{pool: p}, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Writer().PingContext(ctx) }
