// Package sqlite keeps the recipient side's links, sessions and
// one-time-code state (with the lockouts, which survive restarts) ([signing.Store]) in the service's SQLite database
// (modernc.org/sqlite, pure Go), by default DIR/signet.db. Tokens are
// stored only as their SHA-256, codes only as keyed hashes, a pending
// passkey ceremony only sealed by the service; a passkey session's
// intent (with the assertion's evidence, not secret) is kept in its
// stored form ([signing.Intent.MarshalBinary]). The schema is
// versioned with auditlog/sqlite's migrations (versions 300–399, tables
// prefixed signing_).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/signing"
	"github.com/signet-pki/signet/internal/sqldb"
)

var migrations = []sqldb.Migration{{
	Version: 300,
	Name:    "signing links, sessions and code state",
	SQL: `CREATE TABLE signing_links (
	hash         BLOB PRIMARY KEY,
	tenant       TEXT NOT NULL,
	envelope_id  TEXT NOT NULL,
	recipient_id TEXT NOT NULL,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	used_at      INTEGER
) STRICT;
CREATE INDEX signing_links_recipient ON signing_links (envelope_id, recipient_id);
CREATE TABLE signing_sessions (
	hash         BLOB PRIMARY KEY,
	tenant       TEXT NOT NULL,
	envelope_id  TEXT NOT NULL,
	recipient_id TEXT NOT NULL,
	email        TEXT NOT NULL,
	auth_time    INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL
) STRICT;
CREATE TABLE signing_auth (
	envelope_id     TEXT NOT NULL,
	recipient_id    TEXT NOT NULL,
	code_mac        BLOB,
	code_expires_at INTEGER,
	failures        INTEGER NOT NULL,
	locked_until    INTEGER,
	window_start    INTEGER,
	window_sends    INTEGER NOT NULL,
	PRIMARY KEY (envelope_id, recipient_id)
) STRICT;`,
}, {
	Version: 301,
	Name:    "signing link revocation and escalating lockouts",
	SQL: `ALTER TABLE signing_links ADD COLUMN revoked_at INTEGER;
ALTER TABLE signing_auth ADD COLUMN lockouts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE signing_auth ADD COLUMN revoked_at INTEGER;`,
}, {
	Version: 302,
	Name:    "signing session authentication methods",
	// Sessions made before it were all made by e-mailed codes.
	SQL: `ALTER TABLE signing_sessions ADD COLUMN auth_methods TEXT NOT NULL DEFAULT 'otp email';
ALTER TABLE signing_sessions ADD COLUMN auth_assurance TEXT NOT NULL DEFAULT 'aal1';`,
}, {
	Version: 310,
	Name:    "signing passkey confirmations",
	// The pending ceremony is sealed by the service; the intent holds
	// the assertion's evidence, which is not secret.
	SQL: `ALTER TABLE signing_auth ADD COLUMN passkey_ceremony BLOB;
ALTER TABLE signing_auth ADD COLUMN passkey_used BLOB;
ALTER TABLE signing_sessions ADD COLUMN passkey_intent BLOB;`,
}}

// Store implements [signing.Store] on a SQLite database.
type Store struct {
	pool *sqldb.Pool
}

var _ signing.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path as a store of
// its own: one writer connection (WAL, synchronous=FULL), read-only
// connections beside it, and the migrations applied. The caller must
// Close it.
func Open(ctx context.Context, path string) (*Store, error) {
	p, err := sqldb.OpenPool(ctx, path, migrations, readConns)
	if err != nil {
		return nil, fmt.Errorf("signing/sqlite: %w", err)
	}
	return &Store{pool: p}, nil
}

// readConns is the size of the read-only pool Open opens.
const readConns = 4

// New applies the migrations to the service database behind p and returns
// a store over it that writes through p, so that its transactions commit
// in groups with the other stores of that database, and looks
// up links, sessions and code state through p's read-only connections.
// Close does not close p.
func New(ctx context.Context, p *sqldb.Pool) (*Store, error) {
	if err := sqldb.Migrate(ctx, p.Writer(), migrations); err != nil {
		return nil, fmt.Errorf("signing/sqlite: %w", err)
	}
	return &Store{pool: p}, nil
}

// Close closes the database if Open opened it.
func (s *Store) Close() error { return s.pool.Close() }

// DB returns the writer handle (for tests that count rows).
func (s *Store) DB() *sql.DB { return s.pool.Writer() }

func nanos(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// execer is what the statements below run on: the pool (a transaction
// of their own) or one transaction of several statements.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// CreateLink implements [signing.Store].
func (s *Store) CreateLink(ctx context.Context, l signing.Link) error {
	return s.pool.Tx(ctx, func(tx *sql.Tx) error { return insertLink(ctx, tx, l) })
}

func insertLink(ctx context.Context, x execer, l signing.Link) error {
	_, err := x.ExecContext(ctx, `INSERT INTO signing_links (hash, tenant, envelope_id, recipient_id, created_at, expires_at, used_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		l.Hash[:], l.Tenant, l.EnvelopeID, l.RecipientID, l.CreatedAt.UnixNano(), l.ExpiresAt.UnixNano(), nanos(l.UsedAt), nanos(l.RevokedAt))
	if err != nil {
		return fmt.Errorf("signing/sqlite: insert link: %w", err)
	}
	return nil
}

func revokeLinks(ctx context.Context, x execer, envelopeID, recipientID string, t time.Time) error {
	_, err := x.ExecContext(ctx, `UPDATE signing_links SET revoked_at = ? WHERE envelope_id = ? AND recipient_id = ? AND revoked_at IS NULL`,
		t.UnixNano(), envelopeID, recipientID)
	if err != nil {
		return fmt.Errorf("signing/sqlite: revoke links: %w", err)
	}
	return nil
}

// RevokeRecipient implements [signing.Store].
func (s *Store) RevokeRecipient(ctx context.Context, st signing.AuthState) error {
	if st.RevokedAt.IsZero() {
		return errors.New("signing/sqlite: revoking without a revocation time")
	}
	return s.pool.Tx(ctx, func(tx *sql.Tx) error {
		if err := putAuthState(ctx, tx, st); err != nil {
			return err
		}
		return revokeLinks(ctx, tx, st.EnvelopeID, st.RecipientID, st.RevokedAt)
	})
}

// Reissue implements [signing.Store].
func (s *Store) Reissue(ctx context.Context, l signing.Link, st signing.AuthState) error {
	if st.EnvelopeID != l.EnvelopeID || st.RecipientID != l.RecipientID {
		return errors.New("signing/sqlite: re-issue: code state of another recipient")
	}
	return s.pool.Tx(ctx, func(tx *sql.Tx) error {
		if err := revokeLinks(ctx, tx, l.EnvelopeID, l.RecipientID, l.CreatedAt); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM signing_sessions WHERE envelope_id = ? AND recipient_id = ?`, l.EnvelopeID, l.RecipientID); err != nil {
			return fmt.Errorf("signing/sqlite: end sessions: %w", err)
		}
		if err := putAuthState(ctx, tx, st); err != nil {
			return err
		}
		return insertLink(ctx, tx, l)
	})
}

// LinkByHash implements [signing.Store].
func (s *Store) LinkByHash(ctx context.Context, hash [32]byte) (signing.Link, error) {
	l := signing.Link{Hash: hash}
	var created, expires int64
	var used, revoked sql.NullInt64
	err := s.pool.Reader().QueryRowContext(ctx, `SELECT tenant, envelope_id, recipient_id, created_at, expires_at, used_at, revoked_at FROM signing_links WHERE hash = ?`, hash[:]).
		Scan(&l.Tenant, &l.EnvelopeID, &l.RecipientID, &created, &expires, &used, &revoked)
	if errors.Is(err, sql.ErrNoRows) {
		return signing.Link{}, signing.ErrNoRecord
	}
	if err != nil {
		return signing.Link{}, fmt.Errorf("signing/sqlite: link: %w", err)
	}
	l.CreatedAt, l.ExpiresAt, l.UsedAt, l.RevokedAt = time.Unix(0, created).UTC(), time.Unix(0, expires).UTC(), fromNanos(used), fromNanos(revoked)
	return l, nil
}

// MarkLinksUsed implements [signing.Store].
func (s *Store) MarkLinksUsed(ctx context.Context, envelopeID, recipientID string, t time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE signing_links SET used_at = ? WHERE envelope_id = ? AND recipient_id = ? AND used_at IS NULL`,
		t.UnixNano(), envelopeID, recipientID)
	if err != nil {
		return fmt.Errorf("signing/sqlite: mark links used: %w", err)
	}
	return nil
}

// CreateSession implements [signing.Store].
func (s *Store) CreateSession(ctx context.Context, ss signing.Session) error {
	intent, err := encodeIntent(ss.Intent)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO signing_sessions (hash, tenant, envelope_id, recipient_id, email, auth_time, expires_at, auth_methods, auth_assurance, passkey_intent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ss.Hash[:], ss.Tenant, ss.EnvelopeID, ss.RecipientID, ss.Email, ss.AuthTime.UnixNano(), ss.ExpiresAt.UnixNano(),
		strings.Join(ss.Methods, " "), ss.Assurance, intent)
	if err != nil {
		return fmt.Errorf("signing/sqlite: insert session: %w", err)
	}
	return nil
}

// SessionByHash implements [signing.Store].
func (s *Store) SessionByHash(ctx context.Context, hash [32]byte) (signing.Session, error) {
	ss := signing.Session{Hash: hash}
	var auth, expires int64
	var methods string
	var intent []byte
	err := s.pool.Reader().QueryRowContext(ctx, `SELECT tenant, envelope_id, recipient_id, email, auth_time, expires_at, auth_methods, auth_assurance, passkey_intent FROM signing_sessions WHERE hash = ?`, hash[:]).
		Scan(&ss.Tenant, &ss.EnvelopeID, &ss.RecipientID, &ss.Email, &auth, &expires, &methods, &ss.Assurance, &intent)
	if errors.Is(err, sql.ErrNoRows) {
		return signing.Session{}, signing.ErrNoRecord
	}
	if err != nil {
		return signing.Session{}, fmt.Errorf("signing/sqlite: session: %w", err)
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
	var codeExp, locked, window, revoked sql.NullInt64
	err := s.pool.Reader().QueryRowContext(ctx, `SELECT code_mac, code_expires_at, failures, locked_until, window_start, window_sends, lockouts, revoked_at, passkey_ceremony, passkey_used FROM signing_auth WHERE envelope_id = ? AND recipient_id = ?`,
		envelopeID, recipientID).Scan(&st.CodeMAC, &codeExp, &st.Failures, &locked, &window, &st.WindowSends, &st.Lockouts, &revoked, &st.Ceremony, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return signing.AuthState{}, fmt.Errorf("signing/sqlite: code state: %w", err)
	}
	st.CodeExpiresAt, st.LockedUntil, st.WindowStart, st.RevokedAt = fromNanos(codeExp), fromNanos(locked), fromNanos(window), fromNanos(revoked)
	if len(st.Ceremony) == 0 {
		st.Ceremony = nil
	}
	if st.UsedAssertions, err = signing.DecodeUsedAssertions(used); err != nil {
		return signing.AuthState{}, fmt.Errorf("signing/sqlite: code state: %w", err)
	}
	return st, nil
}

// PutAuthState implements [signing.Store].
func (s *Store) PutAuthState(ctx context.Context, st signing.AuthState) error {
	return s.pool.Tx(ctx, func(tx *sql.Tx) error { return putAuthState(ctx, tx, st) })
}

func putAuthState(ctx context.Context, x execer, st signing.AuthState) error {
	var mac any
	if len(st.CodeMAC) > 0 {
		mac = st.CodeMAC
	}
	var ceremony, used any
	if len(st.Ceremony) > 0 {
		ceremony = st.Ceremony
	}
	if len(st.UsedAssertions) > signing.MaxUsedAssertions {
		return fmt.Errorf("signing/sqlite: %d used assertions (at most %d)", len(st.UsedAssertions), signing.MaxUsedAssertions)
	}
	if len(st.UsedAssertions) > 0 {
		used = signing.EncodeUsedAssertions(st.UsedAssertions)
	}
	_, err := x.ExecContext(ctx, `INSERT INTO signing_auth (envelope_id, recipient_id, code_mac, code_expires_at, failures, locked_until, window_start, window_sends, lockouts, revoked_at, passkey_ceremony, passkey_used)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (envelope_id, recipient_id) DO UPDATE SET code_mac = excluded.code_mac, code_expires_at = excluded.code_expires_at,
			failures = excluded.failures, locked_until = excluded.locked_until, window_start = excluded.window_start, window_sends = excluded.window_sends,
			lockouts = excluded.lockouts, revoked_at = excluded.revoked_at, passkey_ceremony = excluded.passkey_ceremony, passkey_used = excluded.passkey_used`,
		st.EnvelopeID, st.RecipientID, mac, nanos(st.CodeExpiresAt), st.Failures, nanos(st.LockedUntil), nanos(st.WindowStart), st.WindowSends,
		st.Lockouts, nanos(st.RevokedAt), ceremony, used)
	if err != nil {
		return fmt.Errorf("signing/sqlite: store code state: %w", err)
	}
	return nil
}

// encodeIntent returns the stored form of a session's intent (nil for
// none).
func encodeIntent(in *signing.Intent) (any, error) {
	if in == nil {
		return nil, nil
	}
	b, err := in.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("signing/sqlite: session intent: %w", err)
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
		return nil, fmt.Errorf("signing/sqlite: session intent: %w", err)
	}
	return in, nil
}
