// Package postgres keeps the recipient side's links, sessions and
// one-time-code state (with the lockouts) ([signing.Store]) in PostgreSQL
// (pgx v5, through internal/pgdb), so that every node sees the same links,
// sessions and lockouts. It holds what internal/signing/sqlite holds, in
// the same tables and columns (signing_links, signing_sessions,
// signing_auth): tokens only as their SHA-256, codes only as keyed hashes.
//
// # Schema
//
// [Migrations] own versions 300–399 of the database's schema_migrations
// ([pgdb.Migrate]); version 300 creates the final shape of the SQLite
// history (its versions 300 and 301), version 301 adds the sessions'
// authentication methods as SQLite's 302 does, and version 310 the
// passkey columns as SQLite's 310 does (signing_auth.passkey_ceremony,
// the sealed pending ceremony; signing_auth.passkey_used, the SHA-256
// of used assertions, 32 bytes each; signing_sessions.passkey_intent,
// the session's intent in its stored form). Types map as follows: TEXT is text,
// BLOB is bytea (a token hash is checked to be 32 bytes), INTEGER is
// bigint, including every time, which both drivers keep as integer
// nanoseconds since the Unix epoch, so a time round-trips to the
// nanosecond and is read back in UTC. Sessions are also indexed by
// recipient, for the deletion of a re-issue.
//
// # Concurrency
//
// [Store.RevokeRecipient] and [Store.Reissue] write the recipient's
// signing_auth row first. Its row lock (taken by INSERT … ON CONFLICT DO
// UPDATE, also when the row is new) orders them per recipient across
// nodes, and each of their later statements, in READ COMMITTED, sees what
// the one before committed: a revocation also revokes the link that a
// re-issue just created, as on SQLite, whose single writer runs them one
// after another. Statements that update several links of a recipient
// lock them in hash order, so that they never deadlock.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/internal/signing"
)

// Migrations are the schema history of the signing_ tables on PostgreSQL
// (versions 300–399). A released migration is never edited.
var Migrations = []pgdb.Migration{{
	Version: 300,
	Name:    "signing links, sessions and code state with revocation and escalating lockouts",
	SQL: `
CREATE TABLE signing_links (
	hash         BYTEA  PRIMARY KEY CHECK (octet_length(hash) = 32),
	tenant       TEXT   NOT NULL,
	envelope_id  TEXT   NOT NULL,
	recipient_id TEXT   NOT NULL,
	created_at   BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	used_at      BIGINT,
	revoked_at   BIGINT
);
CREATE INDEX signing_links_recipient ON signing_links (envelope_id, recipient_id);
CREATE TABLE signing_sessions (
	hash         BYTEA  PRIMARY KEY CHECK (octet_length(hash) = 32),
	tenant       TEXT   NOT NULL,
	envelope_id  TEXT   NOT NULL,
	recipient_id TEXT   NOT NULL,
	email        TEXT   NOT NULL,
	auth_time    BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL
);
CREATE INDEX signing_sessions_recipient ON signing_sessions (envelope_id, recipient_id);
CREATE TABLE signing_auth (
	envelope_id     TEXT   NOT NULL,
	recipient_id    TEXT   NOT NULL,
	code_mac        BYTEA,
	code_expires_at BIGINT,
	failures        BIGINT NOT NULL,
	locked_until    BIGINT,
	window_start    BIGINT,
	window_sends    BIGINT NOT NULL,
	lockouts        BIGINT NOT NULL DEFAULT 0,
	revoked_at      BIGINT,
	PRIMARY KEY (envelope_id, recipient_id)
);
`,
}, {
	Version: 301,
	Name:    "signing session authentication methods",
	SQL: `
ALTER TABLE signing_sessions ADD COLUMN auth_methods TEXT NOT NULL DEFAULT 'otp email';
ALTER TABLE signing_sessions ADD COLUMN auth_assurance TEXT NOT NULL DEFAULT 'aal1';
`,
}, {
	Version: 310,
	Name:    "signing passkey confirmations",
	SQL: `
ALTER TABLE signing_auth ADD COLUMN passkey_ceremony BYTEA;
ALTER TABLE signing_auth ADD COLUMN passkey_used BYTEA;
ALTER TABLE signing_sessions ADD COLUMN passkey_intent BYTEA;
`,
}}

// Store implements [signing.Store] over one database.
type Store struct {
	pool *pgxpool.Pool
}

var _ signing.Store = (*Store)(nil)

// New applies [Migrations] to the database behind pool (see
// [pgdb.Migrate]: several nodes may start at once) and returns a store
// that uses pool. The caller keeps pool and closes it.
func New(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if err := pgdb.Migrate(ctx, pool, Migrations); err != nil {
		return nil, fmt.Errorf("signing/postgres: %w", err)
	}
	return &Store{pool: pool}, nil
}

// nanos is t as a nullable column: nil for the zero time.
func nanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

// fromNanos reads a nullable time column.
func fromNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

// execer is what the statements below run on: the pool (a transaction of
// their own) or one transaction of several statements.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// write runs fn in a READ COMMITTED transaction.
func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, fn)
}

// CreateLink implements [signing.Store].
func (s *Store) CreateLink(ctx context.Context, l signing.Link) error {
	return insertLink(ctx, s.pool, l)
}

func insertLink(ctx context.Context, x execer, l signing.Link) error {
	_, err := x.Exec(ctx, `INSERT INTO signing_links (hash, tenant, envelope_id, recipient_id, created_at, expires_at, used_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		l.Hash[:], l.Tenant, l.EnvelopeID, l.RecipientID, l.CreatedAt.UnixNano(), l.ExpiresAt.UnixNano(), nanos(l.UsedAt), nanos(l.RevokedAt))
	if err != nil {
		return fmt.Errorf("signing/postgres: insert link: %w", err)
	}
	return nil
}

// lockLinks selects the links of recipient $3 of envelope $2; the
// statements that update several of them lock them in hash order (ORDER
// BY hash FOR UPDATE), so that two such statements wait for each other
// instead of deadlocking.
const lockLinks = `SELECT hash FROM signing_links WHERE envelope_id = $2 AND recipient_id = $3`

func revokeLinks(ctx context.Context, x execer, envelopeID, recipientID string, t time.Time) error {
	_, err := x.Exec(ctx, `UPDATE signing_links SET revoked_at = $1 WHERE hash IN (`+lockLinks+` AND revoked_at IS NULL ORDER BY hash FOR UPDATE)`,
		t.UnixNano(), envelopeID, recipientID)
	if err != nil {
		return fmt.Errorf("signing/postgres: revoke links: %w", err)
	}
	return nil
}

// RevokeRecipient implements [signing.Store].
func (s *Store) RevokeRecipient(ctx context.Context, st signing.AuthState) error {
	if st.RevokedAt.IsZero() {
		return errors.New("signing/postgres: revoking without a revocation time")
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		if err := putAuthState(ctx, tx, st); err != nil {
			return err
		}
		return revokeLinks(ctx, tx, st.EnvelopeID, st.RecipientID, st.RevokedAt)
	})
}

// Reissue implements [signing.Store]. The code state is written first (see
// the package doc).
func (s *Store) Reissue(ctx context.Context, l signing.Link, st signing.AuthState) error {
	if st.EnvelopeID != l.EnvelopeID || st.RecipientID != l.RecipientID {
		return errors.New("signing/postgres: re-issue: code state of another recipient")
	}
	return s.write(ctx, func(tx pgx.Tx) error {
		if err := putAuthState(ctx, tx, st); err != nil {
			return err
		}
		if err := revokeLinks(ctx, tx, l.EnvelopeID, l.RecipientID, l.CreatedAt); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM signing_sessions WHERE envelope_id = $1 AND recipient_id = $2`, l.EnvelopeID, l.RecipientID); err != nil {
			return fmt.Errorf("signing/postgres: end sessions: %w", err)
		}
		return insertLink(ctx, tx, l)
	})
}

// LinkByHash implements [signing.Store].
func (s *Store) LinkByHash(ctx context.Context, hash [32]byte) (signing.Link, error) {
	l := signing.Link{Hash: hash}
	var created, expires int64
	var used, revoked *int64
	err := s.pool.QueryRow(ctx, `SELECT tenant, envelope_id, recipient_id, created_at, expires_at, used_at, revoked_at
		FROM signing_links WHERE hash = $1`, hash[:]).
		Scan(&l.Tenant, &l.EnvelopeID, &l.RecipientID, &created, &expires, &used, &revoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return signing.Link{}, signing.ErrNoRecord
	}
	if err != nil {
		return signing.Link{}, fmt.Errorf("signing/postgres: link: %w", err)
	}
	l.CreatedAt, l.ExpiresAt = time.Unix(0, created).UTC(), time.Unix(0, expires).UTC()
	l.UsedAt, l.RevokedAt = fromNanos(used), fromNanos(revoked)
	return l, nil
}

// MarkLinksUsed implements [signing.Store].
func (s *Store) MarkLinksUsed(ctx context.Context, envelopeID, recipientID string, t time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE signing_links SET used_at = $1 WHERE hash IN (`+lockLinks+` AND used_at IS NULL ORDER BY hash FOR UPDATE)`,
		t.UnixNano(), envelopeID, recipientID)
	if err != nil {
		return fmt.Errorf("signing/postgres: mark links used: %w", err)
	}
	return nil
}

// CreateSession implements [signing.Store].
func (s *Store) CreateSession(ctx context.Context, ss signing.Session) error {
	intent, err := encodeIntent(ss.Intent)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO signing_sessions (hash, tenant, envelope_id, recipient_id, email, auth_time, expires_at, auth_methods, auth_assurance, passkey_intent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		ss.Hash[:], ss.Tenant, ss.EnvelopeID, ss.RecipientID, ss.Email, ss.AuthTime.UnixNano(), ss.ExpiresAt.UnixNano(),
		strings.Join(ss.Methods, " "), ss.Assurance, intent)
	if err != nil {
		return fmt.Errorf("signing/postgres: insert session: %w", err)
	}
	return nil
}

// SessionByHash implements [signing.Store].
func (s *Store) SessionByHash(ctx context.Context, hash [32]byte) (signing.Session, error) {
	ss := signing.Session{Hash: hash}
	var auth, expires int64
	var methods string
	var intent []byte
	err := s.pool.QueryRow(ctx, `SELECT tenant, envelope_id, recipient_id, email, auth_time, expires_at, auth_methods, auth_assurance, passkey_intent
		FROM signing_sessions WHERE hash = $1`, hash[:]).
		Scan(&ss.Tenant, &ss.EnvelopeID, &ss.RecipientID, &ss.Email, &auth, &expires, &methods, &ss.Assurance, &intent)
	if errors.Is(err, pgx.ErrNoRows) {
		return signing.Session{}, signing.ErrNoRecord
	}
	if err != nil {
		return signing.Session{}, fmt.Errorf("signing/postgres: session: %w", err)
	}
	ss.AuthTime, ss.ExpiresAt = time.Unix(0, auth).UTC(), time.Unix(0, expires).UTC()
	if methods != "" {
		ss.Methods = strings.Fields(methods)
	}
	if ss.Intent, err = decodeIntent(intent); err != nil {
		return signing.Session{}, err
	}
	return ss, nil
}

// AuthState implements [signing.Store].
func (s *Store) AuthState(ctx context.Context, envelopeID, recipientID string) (signing.AuthState, error) {
	st := signing.AuthState{EnvelopeID: envelopeID, RecipientID: recipientID}
	var used []byte
	var codeExp, locked, window, revoked *int64
	err := s.pool.QueryRow(ctx, `SELECT code_mac, code_expires_at, failures, locked_until, window_start, window_sends, lockouts, revoked_at, passkey_ceremony, passkey_used
		FROM signing_auth WHERE envelope_id = $1 AND recipient_id = $2`, envelopeID, recipientID).
		Scan(&st.CodeMAC, &codeExp, &st.Failures, &locked, &window, &st.WindowSends, &st.Lockouts, &revoked, &st.Ceremony, &used)
	if errors.Is(err, pgx.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return signing.AuthState{}, fmt.Errorf("signing/postgres: code state: %w", err)
	}
	st.CodeExpiresAt, st.LockedUntil, st.WindowStart, st.RevokedAt = fromNanos(codeExp), fromNanos(locked), fromNanos(window), fromNanos(revoked)
	if len(st.Ceremony) == 0 {
		st.Ceremony = nil
	}
	if st.UsedAssertions, err = signing.DecodeUsedAssertions(used); err != nil {
		return signing.AuthState{}, fmt.Errorf("signing/postgres: code state: %w", err)
	}
	return st, nil
}

// PutAuthState implements [signing.Store].
func (s *Store) PutAuthState(ctx context.Context, st signing.AuthState) error {
	return putAuthState(ctx, s.pool, st)
}

func putAuthState(ctx context.Context, x execer, st signing.AuthState) error {
	var mac []byte
	if len(st.CodeMAC) > 0 {
		mac = st.CodeMAC
	}
	var ceremony, used []byte
	if len(st.Ceremony) > 0 {
		ceremony = st.Ceremony
	}
	if len(st.UsedAssertions) > signing.MaxUsedAssertions {
		return fmt.Errorf("signing/postgres: %d used assertions (at most %d)", len(st.UsedAssertions), signing.MaxUsedAssertions)
	}
	if len(st.UsedAssertions) > 0 {
		used = signing.EncodeUsedAssertions(st.UsedAssertions)
	}
	_, err := x.Exec(ctx, `INSERT INTO signing_auth (envelope_id, recipient_id, code_mac, code_expires_at, failures, locked_until,
			window_start, window_sends, lockouts, revoked_at, passkey_ceremony, passkey_used)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (envelope_id, recipient_id) DO UPDATE SET code_mac = excluded.code_mac, code_expires_at = excluded.code_expires_at,
			failures = excluded.failures, locked_until = excluded.locked_until, window_start = excluded.window_start,
			window_sends = excluded.window_sends, lockouts = excluded.lockouts, revoked_at = excluded.revoked_at,
			passkey_ceremony = excluded.passkey_ceremony, passkey_used = excluded.passkey_used`,
		st.EnvelopeID, st.RecipientID, mac, nanos(st.CodeExpiresAt), st.Failures, nanos(st.LockedUntil), nanos(st.WindowStart),
		st.WindowSends, st.Lockouts, nanos(st.RevokedAt), ceremony, used)
	if err != nil {
		return fmt.Errorf("signing/postgres: store code state: %w", err)
	}
	return nil
}

// encodeIntent returns the stored form of a session's intent (nil for
// none).
func encodeIntent(in *signing.Intent) ([]byte, error) {
	if in == nil {
		return nil, nil
	}
	b, err := in.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("signing/postgres: session intent: %w", err)
	}
	return b, nil
}

// decodeIntent reads a session's stored intent.
func decodeIntent(b []byte) (*signing.Intent, error) {
	if len(b) == 0 {
		return nil, nil
	}
	in := new(signing.Intent)
	if err := in.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("signing/postgres: session intent: %w", err)
	}
	return in, nil
}
