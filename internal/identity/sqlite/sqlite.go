// Package sqlite stores users and their credentials ([identity.Store]) in
// the service database (signet.db). Its tables, named identity_*, are
// created by versions 600–699 of the database's history ([Migrations]);
// 620–629 are the passkeys', 640–649 the lockout counters', 650–659 the
// sessions' first factor (identity_sessions.method, empty for a session
// stored before it, which is a password's) and OIDC record (provider,
// amr as comma-joined tokens, acr, auth_time), 660–669 the links of users
// to accounts at external identity providers (identity_external_links,
// unique by tenant, issuer and subject and by tenant, user and issuer).
//
// Times are RFC 3339 text (sqldb.FormatTime), NULL when unset, except the
// lockout counters' window_start and locked_until, integer Unix
// nanoseconds (0 when unset) that SQL compares; durations are integer
// nanoseconds; lockout keys are kept as their SHA-256; flags are 0/1
// integers; hashes are 32-byte blobs. A passkey (version 620) keeps its
// credential id, COSE public key and AAGUID as blobs, its sign count as an
// integer and its transports as one comma-separated text
// (identity.JoinTransports). Writes go through the pool's grouped write transactions, so each
// method's statements commit together or not at all, and a compare-and-set
// (a TOTP step, a recovery code, a rotation, an approval, a passkey's
// sign count) is one UPDATE or
// DELETE whose WHERE clause holds the expected state.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/sqldb"
)

// Migrations is the history of the identity tables, versions 600–699
// (630–639: tenant policies and invitations, internal/identity/admin).
var Migrations = []sqldb.Migration{{
	Version: 600,
	Name:    "identity users, credentials, sessions, grants and elevations",
	SQL: `CREATE TABLE identity_users (
	id            TEXT    PRIMARY KEY,
	tenant        TEXT    NOT NULL,
	email         TEXT    NOT NULL,
	name          TEXT    NOT NULL,
	status        TEXT    NOT NULL,
	created_at    TEXT    NOT NULL,
	disabled_at   TEXT,
	password_hash TEXT    NOT NULL,
	mfa_required  INTEGER NOT NULL,
	UNIQUE (tenant, email)
);
CREATE TABLE identity_totp (
	user_id       TEXT    PRIMARY KEY,
	tenant        TEXT    NOT NULL,
	sealed_secret BLOB    NOT NULL,
	last_step     INTEGER NOT NULL,
	confirmed_at  TEXT
);
CREATE TABLE identity_recovery_codes (
	user_id TEXT NOT NULL,
	tenant  TEXT NOT NULL,
	hash    BLOB NOT NULL,
	used_at TEXT,
	PRIMARY KEY (user_id, hash)
);
CREATE TABLE identity_sessions (
	hash               BLOB    PRIMARY KEY,
	user_id            TEXT    NOT NULL,
	tenant             TEXT    NOT NULL,
	created_at         TEXT    NOT NULL,
	last_seen          TEXT    NOT NULL,
	expires_at         TEXT    NOT NULL,
	idle_timeout       INTEGER NOT NULL,
	strong_auth_method TEXT    NOT NULL,
	strong_auth_at     TEXT,
	csrf_hash          BLOB    NOT NULL
);
CREATE INDEX identity_sessions_user ON identity_sessions (user_id);
CREATE TABLE identity_grants (
	id           TEXT PRIMARY KEY,
	tenant       TEXT NOT NULL,
	user_id      TEXT NOT NULL,
	role         TEXT NOT NULL,
	granted_by   TEXT NOT NULL,
	granted_at   TEXT NOT NULL,
	not_before   TEXT,
	not_after    TEXT,
	elevation_id TEXT NOT NULL,
	revoked_by   TEXT NOT NULL,
	revoked_at   TEXT
);
CREATE INDEX identity_grants_user ON identity_grants (user_id);
CREATE TABLE identity_elevations (
	id           TEXT    PRIMARY KEY,
	tenant       TEXT    NOT NULL,
	role         TEXT    NOT NULL,
	requested_by TEXT    NOT NULL,
	reason       TEXT    NOT NULL,
	duration     INTEGER NOT NULL,
	requested_at TEXT    NOT NULL,
	status       TEXT    NOT NULL,
	decided_by   TEXT    NOT NULL,
	decided_at   TEXT,
	grant_id     TEXT    NOT NULL
);
CREATE INDEX identity_elevations_requester ON identity_elevations (requested_by);
CREATE INDEX identity_elevations_pending ON identity_elevations (tenant, status, requested_at)`,
}, {
	Version: 620,
	Name:    "identity passkeys",
	SQL: `CREATE TABLE identity_passkeys (
	credential_id   BLOB    PRIMARY KEY,
	tenant          TEXT    NOT NULL,
	user_id         TEXT    NOT NULL,
	public_key      BLOB    NOT NULL,
	sign_count      INTEGER NOT NULL,
	aaguid          BLOB    NOT NULL,
	transports      TEXT    NOT NULL,
	backup_eligible INTEGER NOT NULL,
	backup_state    INTEGER NOT NULL,
	name            TEXT    NOT NULL,
	created_at      TEXT    NOT NULL,
	last_used_at    TEXT
);
CREATE INDEX identity_passkeys_user ON identity_passkeys (tenant, user_id)`,
}, {
	Version: 630,
	Name:    "identity tenant policies and invitations",
	SQL: `CREATE TABLE identity_policies (
	tenant     TEXT    PRIMARY KEY,
	policy     TEXT    NOT NULL,
	version    INTEGER NOT NULL,
	updated_by TEXT    NOT NULL,
	updated_at TEXT    NOT NULL
);
CREATE TABLE identity_invitations (
	hash       BLOB PRIMARY KEY,
	tenant     TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	created_by TEXT NOT NULL,
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL,
	used_at    TEXT
);
CREATE INDEX identity_invitations_user ON identity_invitations (user_id);
CREATE INDEX identity_users_tenant ON identity_users (tenant, id)`,
}, {
	Version: 640,
	Name:    "identity lockout counters",
	SQL: `CREATE TABLE identity_lockouts (
	key_hash     BLOB    PRIMARY KEY,
	window_start INTEGER NOT NULL,
	failures     INTEGER NOT NULL,
	locked_until INTEGER NOT NULL
);
CREATE INDEX identity_lockouts_window ON identity_lockouts (window_start)`,
}, {
	Version: 650,
	Name:    "identity session first factor",
	SQL: `ALTER TABLE identity_sessions ADD COLUMN method TEXT NOT NULL DEFAULT '';
ALTER TABLE identity_sessions ADD COLUMN provider TEXT NOT NULL DEFAULT '';
ALTER TABLE identity_sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE identity_sessions ADD COLUMN acr TEXT NOT NULL DEFAULT '';
ALTER TABLE identity_sessions ADD COLUMN auth_time TEXT`,
}, {
	Version: 660,
	Name:    "identity external links",
	SQL: `CREATE TABLE identity_external_links (
	tenant     TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	issuer     TEXT NOT NULL,
	subject    TEXT NOT NULL,
	created_at TEXT NOT NULL,
	PRIMARY KEY (tenant, issuer, subject),
	UNIQUE (tenant, user_id, issuer)
)`,
}}

// Store implements [identity.Store] over one database.
type Store struct {
	pool *sqldb.Pool
}

var _ identity.Store = (*Store)(nil)

// New applies [Migrations] to the service database behind p and returns a
// store that writes through p, grouped with the database's other stores,
// and reads through p's read-only connections.
func New(ctx context.Context, p *sqldb.Pool) (*Store, error) {
	if err := sqldb.Migrate(ctx, p.Writer(), Migrations); err != nil {
		return nil, fmt.Errorf("identity/sqlite: %w", err)
	}
	return &Store{pool: p}, nil
}

func isUnique(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "UNIQUE constraint failed") || strings.Contains(err.Error(), "PRIMARY KEY"))
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("identity/sqlite: %s: %w", op, identity.ErrNotFound)
	}
	return fmt.Errorf("identity/sqlite: %s: %w", op, err)
}

// nullTime is a time column: NULL for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return sqldb.FormatTime(t)
}

// timeCol scans a time column, NULL or text.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*c.t = time.Time{}
		return nil
	case string:
		t, err := sqldb.ParseTime(v)
		*c.t = t
		return err
	case []byte:
		t, err := sqldb.ParseTime(string(v))
		*c.t = t
		return err
	}
	return fmt.Errorf("time column of type %T", v)
}

// hashCol scans a 32-byte hash column.
type hashCol struct{ h *[32]byte }

func (c hashCol) Scan(v any) error {
	b, ok := v.([]byte)
	if !ok || len(b) != len(c.h) {
		return errors.New("bad hash column")
	}
	copy(c.h[:], b)
	return nil
}

// userState returns the status of the tenant's user id inside tx.
func userState(ctx context.Context, tx *sql.Tx, tenant, id string) error {
	var status string
	err := tx.QueryRowContext(ctx, `SELECT status FROM identity_users WHERE tenant = ? AND id = ?`, tenant, id).Scan(&status)
	if errors.Is(err, sql.ErrNoRows) {
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
