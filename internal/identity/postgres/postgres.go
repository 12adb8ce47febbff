// Package postgres stores users and their credentials ([identity.Store])
// in PostgreSQL (pgx v5, through internal/pgdb). Its tables and columns
// are those of internal/identity/sqlite, created by versions 1100–1199 of
// the database's history ([Migrations]), so that a generic copy moves a
// SQLite database's rows over column by column. The types map as:
// SQLite's text times (sqldb.FormatTime) become timestamptz, NULL when
// unset; integer nanoseconds (idle_timeout, duration, and the lockout
// counters' Unix-nanosecond window_start and locked_until), TOTP steps and
// failure counts stay bigint; the 0/1 flags mfa_required, backup_eligible
// and backup_state become boolean; hash, sealed and passkey columns (BLOB:
// credential_id, public_key, aaguid) become bytea; a passkey's sign_count
// stays bigint and its transports one comma-separated text; a tenant
// policy's canonical JSON stays text (not jsonb, which would not keep its
// bytes). Versions 1120 (passkeys), 1130 (policies and invitations), 1140
// (lockout counters) and 1150 (the sessions' first factor and OIDC
// record: method, provider, amr as comma-joined tokens, acr, auth_time)
// and 1160 (identity_external_links, the users' links to accounts at
// external identity providers) mirror SQLite's 620, 630, 640, 650 and 660.
//
// Each method is one statement or one transaction. The compare-and-set
// methods are single UPDATE or DELETE statements whose WHERE clause holds
// the expected state; under READ COMMITTED a concurrent writer of the same
// row waits and then re-checks that clause, so of two racing requests
// exactly one succeeds, on one node or several (a passkey's sign count
// likewise). Adding a passkey locks the user's row FOR UPDATE, so that two
// nodes cannot both pass the per-user bound. Creating a session, a
// grant or an elevation request locks the user's row (FOR SHARE) and
// disabling a user updates that row before it deletes the sessions, so a
// session cannot slip in beside a concurrent DisableUser; linking an
// external account does likewise, and its two unique constraints let
// exactly one of racing links of one subject (or of one user to one
// issuer) through. A lockout
// failure is one INSERT … ON CONFLICT DO UPDATE, which PostgreSQL applies
// atomically, so racing failures on several nodes are each counted once.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/pgdb"
)

// Migrations is the history of the identity tables, versions 1100–1199
// (600–1099 hold other stores in PostgreSQL; 1130–1139: tenant policies
// and invitations, internal/identity/admin).
var Migrations = []pgdb.Migration{{
	Version: 1100,
	Name:    "identity users, credentials, sessions, grants and elevations",
	SQL: `CREATE TABLE identity_users (
	id            text        PRIMARY KEY,
	tenant        text        NOT NULL,
	email         text        NOT NULL,
	name          text        NOT NULL,
	status        text        NOT NULL,
	created_at    timestamptz NOT NULL,
	disabled_at   timestamptz,
	password_hash text        NOT NULL,
	mfa_required  boolean     NOT NULL,
	UNIQUE (tenant, email)
);
CREATE TABLE identity_totp (
	user_id       text        PRIMARY KEY,
	tenant        text        NOT NULL,
	sealed_secret bytea       NOT NULL,
	last_step     bigint      NOT NULL,
	confirmed_at  timestamptz
);
CREATE TABLE identity_recovery_codes (
	user_id text        NOT NULL,
	tenant  text        NOT NULL,
	hash    bytea       NOT NULL,
	used_at timestamptz,
	PRIMARY KEY (user_id, hash)
);
CREATE TABLE identity_sessions (
	hash               bytea       PRIMARY KEY,
	user_id            text        NOT NULL,
	tenant             text        NOT NULL,
	created_at         timestamptz NOT NULL,
	last_seen          timestamptz NOT NULL,
	expires_at         timestamptz NOT NULL,
	idle_timeout       bigint      NOT NULL,
	strong_auth_method text        NOT NULL,
	strong_auth_at     timestamptz,
	csrf_hash          bytea       NOT NULL
);
CREATE INDEX identity_sessions_user ON identity_sessions (user_id);
CREATE TABLE identity_grants (
	id           text        PRIMARY KEY,
	tenant       text        NOT NULL,
	user_id      text        NOT NULL,
	role         text        NOT NULL,
	granted_by   text        NOT NULL,
	granted_at   timestamptz NOT NULL,
	not_before   timestamptz,
	not_after    timestamptz,
	elevation_id text        NOT NULL,
	revoked_by   text        NOT NULL,
	revoked_at   timestamptz
);
CREATE INDEX identity_grants_user ON identity_grants (user_id);
CREATE TABLE identity_elevations (
	id           text        PRIMARY KEY,
	tenant       text        NOT NULL,
	role         text        NOT NULL,
	requested_by text        NOT NULL,
	reason       text        NOT NULL,
	duration     bigint      NOT NULL,
	requested_at timestamptz NOT NULL,
	status       text        NOT NULL,
	decided_by   text        NOT NULL,
	decided_at   timestamptz,
	grant_id     text        NOT NULL
);
CREATE INDEX identity_elevations_requester ON identity_elevations (requested_by);
CREATE INDEX identity_elevations_pending ON identity_elevations (tenant, status, requested_at)`,
}, {
	Version: 1120,
	Name:    "identity passkeys",
	SQL: `CREATE TABLE identity_passkeys (
	credential_id   bytea       PRIMARY KEY,
	tenant          text        NOT NULL,
	user_id         text        NOT NULL,
	public_key      bytea       NOT NULL,
	sign_count      bigint      NOT NULL,
	aaguid          bytea       NOT NULL,
	transports      text        NOT NULL,
	backup_eligible boolean     NOT NULL,
	backup_state    boolean     NOT NULL,
	name            text        NOT NULL,
	created_at      timestamptz NOT NULL,
	last_used_at    timestamptz
);
CREATE INDEX identity_passkeys_user ON identity_passkeys (tenant, user_id)`,
}, {
	Version: 1130,
	Name:    "identity tenant policies and invitations",
	SQL: `CREATE TABLE identity_policies (
	tenant     text        PRIMARY KEY,
	policy     text        NOT NULL,
	version    bigint      NOT NULL,
	updated_by text        NOT NULL,
	updated_at timestamptz NOT NULL
);
CREATE TABLE identity_invitations (
	hash       bytea       PRIMARY KEY,
	tenant     text        NOT NULL,
	user_id    text        NOT NULL,
	created_by text        NOT NULL,
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	used_at    timestamptz
);
CREATE INDEX identity_invitations_user ON identity_invitations (user_id);
CREATE INDEX identity_users_tenant ON identity_users (tenant, id)`,
}, {
	Version: 1140,
	Name:    "identity lockout counters",
	SQL: `CREATE TABLE identity_lockouts (
	key_hash     bytea  PRIMARY KEY,
	window_start bigint NOT NULL,
	failures     bigint NOT NULL,
	locked_until bigint NOT NULL
);
CREATE INDEX identity_lockouts_window ON identity_lockouts (window_start)`,
}, {
	Version: 1150,
	Name:    "identity session first factor",
	SQL: `ALTER TABLE identity_sessions ADD COLUMN method text NOT NULL DEFAULT '';
ALTER TABLE identity_sessions ADD COLUMN provider text NOT NULL DEFAULT '';
ALTER TABLE identity_sessions ADD COLUMN amr text NOT NULL DEFAULT '';
ALTER TABLE identity_sessions ADD COLUMN acr text NOT NULL DEFAULT '';
ALTER TABLE identity_sessions ADD COLUMN auth_time timestamptz`,
}, {
	Version: 1160,
	Name:    "identity external links",
	SQL: `CREATE TABLE identity_external_links (
	tenant     text        NOT NULL,
	user_id    text        NOT NULL,
	issuer     text        NOT NULL,
	subject    text        NOT NULL,
	created_at timestamptz NOT NULL,
	PRIMARY KEY (tenant, issuer, subject),
	UNIQUE (tenant, user_id, issuer)
)`,
}}

// Store implements [identity.Store] over one database.
type Store struct {
	pool *pgxpool.Pool
}

var _ identity.Store = (*Store)(nil)

// New applies [Migrations] to the database behind pool (see
// [pgdb.Migrate]: several nodes may start at once) and returns a store
// that uses pool. The caller keeps pool and closes it.
func New(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if err := pgdb.Migrate(ctx, pool, Migrations); err != nil {
		return nil, fmt.Errorf("identity/postgres: %w", err)
	}
	return &Store{pool: pool}, nil
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("identity/postgres: %s: %w", op, identity.ErrNotFound)
	}
	return fmt.Errorf("identity/postgres: %s: %w", op, err)
}

// nullTime is a time parameter: NULL for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// hashOf copies a 32-byte column.
func hashOf(b []byte, h *[32]byte) error {
	if len(b) != len(h) {
		return errors.New("bad hash column")
	}
	copy(h[:], b)
	return nil
}

func orZero(p *time.Time) time.Time {
	if p == nil {
		return time.Time{}
	}
	return *p
}

// lockUser checks, inside tx, that the tenant's user id exists and is
// active, and holds a share lock on its row until tx ends.
func lockUser(ctx context.Context, tx pgx.Tx, tenant, id string) error {
	var status string
	err := tx.QueryRow(ctx, `SELECT status FROM identity_users WHERE tenant = $1 AND id = $2 FOR SHARE`, tenant, id).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("user %s: %w", id, identity.ErrNotFound)
	}
	if err != nil {
		return err
	}
	if identity.Status(status) != identity.StatusActive {
		return fmt.Errorf("user %s: %w", id, identity.ErrDisabled)
	}
	return nil
}

// exec runs one statement and returns ErrNotFound if it touched no row.
func (s *Store) exec(ctx context.Context, op, query string, args ...any) error {
	tag, err := s.pool.Exec(ctx, query, args...)
	if err != nil {
		return wrap(op, err)
	}
	if tag.RowsAffected() == 0 {
		return wrap(op, pgx.ErrNoRows)
	}
	return nil
}

func (s *Store) tx(ctx context.Context, op string, fn func(pgx.Tx) error) error {
	return wrap(op, pgx.BeginFunc(ctx, s.pool, fn))
}
