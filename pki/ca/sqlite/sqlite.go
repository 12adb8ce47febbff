// Package sqlite keeps the CA's certificate records ([ca.Store]) in an
// embedded SQLite database (modernc.org/sqlite, pure Go).
//
// The schema is versioned with the migration mechanism of auditlog/sqlite; the
// CA's tables own versions 300–399. One writer connection with IMMEDIATE
// transactions serializes writes, so CRL numbers never repeat, even with
// several processes on one file (WAL mode, synchronous=FULL). Under
// [ca.SealedStore] (as the server uses it) subject and der of signer
// certificates hold sealed values, in the same columns.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/pki/ca"
)

var migrations = []sqldb.Migration{{
	Version: 300,
	Name:    "ca certificates and crl numbers",
	SQL: `CREATE TABLE ca_certificates (
		serial          TEXT    PRIMARY KEY,
		issuer          TEXT    NOT NULL,
		kind            TEXT    NOT NULL,
		key_id          TEXT    NOT NULL,
		key_version     TEXT    NOT NULL,
		subject         TEXT    NOT NULL,
		not_before      INTEGER NOT NULL,
		not_after       INTEGER NOT NULL,
		status          TEXT    NOT NULL,
		reason          INTEGER NOT NULL DEFAULT 0,
		revoked_at      INTEGER,
		invalidity_date INTEGER,
		revoked_seq     INTEGER,
		issued_seq      INTEGER NOT NULL,
		der             BLOB    NOT NULL
	) STRICT;
	CREATE INDEX ca_certificates_key ON ca_certificates (key_id, key_version);
	CREATE INDEX ca_certificates_revoked ON ca_certificates (issuer, revoked_seq) WHERE revoked_seq IS NOT NULL;
	CREATE TABLE ca_crl_numbers (
		issuer TEXT    PRIMARY KEY,
		last   INTEGER NOT NULL
	) STRICT;`,
}, {
	// Each insert numbers the certificate max(issued_seq)+1, and each
	// revocation max(revoked_seq)+1: without these indexes each is a scan
	// of every certificate ever issued.
	Version: 301,
	Name:    "indexes of issue and revocation order",
	SQL: `CREATE UNIQUE INDEX ca_certificates_issued ON ca_certificates (issued_seq);
	CREATE UNIQUE INDEX ca_certificates_revoked_seq ON ca_certificates (revoked_seq);`,
}}

// Store is a [ca.Store] in one SQLite file.
type Store struct {
	pool *sqldb.Pool // the writer and read-only connections (lookups, lists)
}

var _ ca.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path and applies the
// CA's migrations. The caller must Close it.
func Open(ctx context.Context, path string) (*Store, error) {
	pool, err := sqldb.OpenPool(ctx, path, migrations, readConns)
	if err != nil {
		return nil, fmt.Errorf("ca/sqlite: %w", err)
	}
	return &Store{pool: pool}, nil
}

// readConns is the size of the read-only pool, which OCSP lookups use.
const readConns = 4

// Close closes the database.
func (s *Store) Close() error { return s.pool.Close() }

func key(serial *big.Int) string { return serial.Text(16) }

func unix(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.Unix(), Valid: true}
}

func fromUnix(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(n.Int64, 0).UTC()
}

// Insert implements [ca.Store].
func (s *Store) Insert(ctx context.Context, r ca.Record) error {
	if r.Serial == nil {
		return errors.New("ca/sqlite: insert: nil serial")
	}
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM ca_certificates WHERE serial = ?`, key(r.Serial)).Scan(&n); err != nil {
			return err
		}
		if n != 0 {
			return fmt.Errorf("%w: %s", ca.ErrDuplicateSerial, key(r.Serial))
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO ca_certificates
			(serial, issuer, kind, key_id, key_version, subject, not_before, not_after,
			 status, reason, revoked_at, invalidity_date, revoked_seq, issued_seq, der)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
			 CASE WHEN ?9 = 'revoked' THEN (SELECT coalesce(max(revoked_seq), 0) + 1 FROM ca_certificates) END,
			 (SELECT coalesce(max(issued_seq), 0) + 1 FROM ca_certificates), ?)`,
			key(r.Serial), r.Issuer, string(r.Kind), r.Key.ID, r.Key.Version, r.Subject,
			r.NotBefore.Unix(), r.NotAfter.Unix(), string(r.Status), int(r.Reason),
			unix(r.RevokedAt), unix(r.InvalidityDate), r.DER)
		return err
	})
	if errors.Is(err, ca.ErrDuplicateSerial) {
		return err
	}
	if err != nil {
		return fmt.Errorf("ca/sqlite: insert: %w", err)
	}
	return nil
}

const columns = `serial, issuer, kind, key_id, key_version, subject, not_before, not_after,
	status, reason, revoked_at, invalidity_date, der`

func scan(row interface{ Scan(...any) error }) (ca.Record, error) {
	var (
		r                     ca.Record
		serial, kind, status  string
		nb, na                int64
		reason                int
		revokedAt, invalidity sql.NullInt64
	)
	if err := row.Scan(&serial, &r.Issuer, &kind, &r.Key.ID, &r.Key.Version, &r.Subject,
		&nb, &na, &status, &reason, &revokedAt, &invalidity, &r.DER); err != nil {
		return ca.Record{}, err
	}
	var ok bool
	if r.Serial, ok = new(big.Int).SetString(serial, 16); !ok {
		return ca.Record{}, fmt.Errorf("ca/sqlite: corrupt serial %q", serial)
	}
	r.Kind, r.Status, r.Reason = ca.Kind(kind), ca.Status(status), ca.Reason(reason)
	r.NotBefore, r.NotAfter = time.Unix(nb, 0).UTC(), time.Unix(na, 0).UTC()
	r.RevokedAt, r.InvalidityDate = fromUnix(revokedAt), fromUnix(invalidity)
	return r, nil
}

// Get implements [ca.Store].
func (s *Store) Get(ctx context.Context, serial *big.Int) (ca.Record, error) {
	r, err := scan(s.pool.Reader().QueryRowContext(ctx, `SELECT `+columns+` FROM ca_certificates WHERE serial = ?`, key(serial)))
	if errors.Is(err, sql.ErrNoRows) {
		return ca.Record{}, ca.ErrNotFound
	}
	if err != nil {
		return ca.Record{}, fmt.Errorf("ca/sqlite: get: %w", err)
	}
	return r, nil
}

// Revoke implements [ca.Store].
func (s *Store) Revoke(ctx context.Context, serial *big.Int, reason ca.Reason, at, inv time.Time) (ca.Record, error) {
	var r ca.Record
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = scan(tx.QueryRowContext(ctx, `SELECT `+columns+` FROM ca_certificates WHERE serial = ?`, key(serial)))
		if errors.Is(err, sql.ErrNoRows) {
			return ca.ErrNotFound
		}
		if err != nil {
			return err
		}
		if r.Status == ca.StatusRevoked {
			return ca.ErrAlreadyRevoked
		}
		_, err = tx.ExecContext(ctx, `UPDATE ca_certificates SET status = ?, reason = ?, revoked_at = ?, invalidity_date = ?,
			revoked_seq = (SELECT coalesce(max(revoked_seq), 0) + 1 FROM ca_certificates) WHERE serial = ?`,
			string(ca.StatusRevoked), int(reason), at.Unix(), unix(inv), key(serial))
		return err
	})
	switch {
	case errors.Is(err, ca.ErrNotFound):
		return ca.Record{}, err
	case errors.Is(err, ca.ErrAlreadyRevoked):
		return r, err
	case err != nil:
		return ca.Record{}, fmt.Errorf("ca/sqlite: revoke: %w", err)
	}
	r.Status, r.Reason, r.RevokedAt = ca.StatusRevoked, reason, time.Unix(at.Unix(), 0).UTC()
	r.InvalidityDate = fromUnix(unix(inv))
	return r, nil
}

func (s *Store) list(ctx context.Context, where string, args ...any) ([]ca.Record, error) {
	rows, err := s.pool.Reader().QueryContext(ctx, `SELECT `+columns+` FROM ca_certificates WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("ca/sqlite: list: %w", err)
	}
	defer rows.Close()
	var out []ca.Record
	for rows.Next() {
		r, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("ca/sqlite: list: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ca/sqlite: list: %w", err)
	}
	return out, nil
}

// ByKey implements [ca.Store].
func (s *Store) ByKey(ctx context.Context, id, version string) ([]ca.Record, error) {
	if version == "" {
		return s.list(ctx, `key_id = ? ORDER BY issued_seq`, id)
	}
	return s.list(ctx, `key_id = ? AND key_version = ? ORDER BY issued_seq`, id, version)
}

// Revoked implements [ca.Store].
func (s *Store) Revoked(ctx context.Context, issuer string) ([]ca.Record, error) {
	return s.list(ctx, `issuer = ? AND revoked_seq IS NOT NULL ORDER BY revoked_seq`, issuer)
}

// NextCRLNumber implements [ca.Store].
func (s *Store) NextCRLNumber(ctx context.Context, issuer string) (*big.Int, error) {
	var n int64
	err := s.pool.Tx(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO ca_crl_numbers (issuer, last) VALUES (?, 1)
			ON CONFLICT (issuer) DO UPDATE SET last = last + 1 RETURNING last`, issuer).Scan(&n)
	})
	if err != nil {
		return nil, fmt.Errorf("ca/sqlite: crl number: %w", err)
	}
	return big.NewInt(n), nil
}
