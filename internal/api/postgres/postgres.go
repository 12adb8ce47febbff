// Package postgres stores the idempotency records of Signet's HTTP API in
// PostgreSQL (pgx v5, through internal/pgdb), implementing
// [api.IdempotencyStore]. It holds what internal/api/sqlite holds, nothing
// more: of a response that carried a secret only its status.
//
// Its migrations own versions 100–199 of the database's schema_migrations
// ([pgdb.Migrate]). Version 100 also creates the tables of tenants and API
// keys (api_tenants, api_keys), which package internal/accounts/postgres
// reads and writes, as on SQLite: it applies [Migrations] too, so that
// either store may be opened first.
package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/pgdb"
)

// Migrations are the schema history of the api_ tables on PostgreSQL: the
// idempotency records, and the tenants and API keys of
// internal/accounts/postgres. A released migration is never edited; the
// accounts tables' later migrations take versions 500–599 in that package.
var Migrations = []pgdb.Migration{{
	Version: 100,
	Name:    "api tenants, keys and idempotency records with secret markers",
	SQL: `
CREATE TABLE api_tenants (
	id         TEXT        PRIMARY KEY,
	name       TEXT        NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE api_keys (
	id         TEXT        PRIMARY KEY,
	tenant     TEXT        NOT NULL,
	name       TEXT        NOT NULL,
	scopes     TEXT        NOT NULL,
	prefix     TEXT        NOT NULL,
	hash       BYTEA       NOT NULL UNIQUE CHECK (octet_length(hash) = 32),
	created_at TIMESTAMPTZ NOT NULL,
	revoked_at TIMESTAMPTZ
);
CREATE INDEX api_keys_tenant ON api_keys (tenant, created_at);
CREATE TABLE api_idempotency (
	principal    TEXT        NOT NULL,
	key          TEXT        NOT NULL,
	request_hash BYTEA       NOT NULL,
	done         BOOLEAN     NOT NULL,
	secret       BOOLEAN     NOT NULL,
	status       INTEGER     NOT NULL,
	header       TEXT        NOT NULL,
	body         BYTEA       NOT NULL,
	created_at   TIMESTAMPTZ NOT NULL,
	expires_at   TIMESTAMPTZ NOT NULL,
	PRIMARY KEY (principal, key),
	CHECK (NOT secret OR (header = '{}' AND octet_length(body) = 0))
);
CREATE INDEX api_idempotency_expiry ON api_idempotency (expires_at);
`,
}}

// Store implements [api.IdempotencyStore] over one database.
type Store struct {
	pool *pgxpool.Pool
}

var _ api.IdempotencyStore = (*Store)(nil)

// New applies [Migrations] to the database behind pool (see
// [pgdb.Migrate]: several nodes may start at once) and returns a store
// that uses pool. The caller keeps pool and closes it.
func New(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if err := pgdb.Migrate(ctx, pool, Migrations); err != nil {
		return nil, fmt.Errorf("api/postgres: %w", err)
	}
	return &Store{pool: pool}, nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }
