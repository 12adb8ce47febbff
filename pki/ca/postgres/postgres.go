// Package postgres keeps the CA's certificate records and CRL numbers
// ([ca.Store]) in PostgreSQL (pgx v5, through internal/pgdb), so that
// every node of a cluster issues, revokes and numbers CRLs against the
// same records.
//
// The tables and columns are pki/ca/sqlite's, so that a SQLite database
// can be copied table by table; the types map as follows:
//
//	ca_certificates  serial (hex), issuer, kind, key_id, key_version,
//	                 subject, status: text; der: bytea
//	                 not_before, not_after, revoked_at, invalidity_date:
//	                 bigint (Unix seconds, as on SQLite)
//	                 reason, revoked_seq, issued_seq: bigint
//	ca_crl_numbers   issuer: text; last: bigint
//
// They take the versions 700–799 of the database's one schema history
// ([Migrations]). Under [ca.SealedStore] (as the server uses it) subject
// and der of signer certificates hold sealed values, in the same columns.
//
// # Concurrency
//
// A record's issue and revocation order (issued_seq, revoked_seq) is the
// next number after the largest, as on SQLite, where one writer
// serializes them. Here every Insert and Revoke first takes the
// transaction-scoped advisory lock [OrderLock], so the numbers follow the
// commit order on every node and never collide. [Store.NextCRLNumber] is
// one INSERT … ON CONFLICT DO UPDATE … RETURNING, which locks the issuer's
// row: two nodes never get the same number.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/pki/ca"
)

// Migrations is the schema history of the CA's tables (versions 700–799):
// the final shape of pki/ca/sqlite's.
var Migrations = []pgdb.Migration{{
	Version: 700,
	Name:    "ca certificates and crl numbers",
	SQL: `CREATE TABLE ca_certificates (
	serial          text   PRIMARY KEY,
	issuer          text   NOT NULL,
	kind            text   NOT NULL,
	key_id          text   NOT NULL,
	key_version     text   NOT NULL,
	subject         text   NOT NULL,
	not_before      bigint NOT NULL,
	not_after       bigint NOT NULL,
	status          text   NOT NULL,
	reason          bigint NOT NULL DEFAULT 0,
	revoked_at      bigint,
	invalidity_date bigint,
	revoked_seq     bigint,
	issued_seq      bigint NOT NULL,
	der             bytea  NOT NULL
);
CREATE INDEX ca_certificates_key ON ca_certificates (key_id, key_version);
CREATE INDEX ca_certificates_revoked ON ca_certificates (issuer, revoked_seq) WHERE revoked_seq IS NOT NULL;
CREATE UNIQUE INDEX ca_certificates_issued ON ca_certificates (issued_seq);
CREATE UNIQUE INDEX ca_certificates_revoked_seq ON ca_certificates (revoked_seq);
CREATE TABLE ca_crl_numbers (
	issuer text   PRIMARY KEY,
	last   bigint NOT NULL
);`,
}}

// OrderLock is the key of the transaction-scoped advisory lock that every
// Insert and Revoke takes before numbering a record.
const OrderLock int64 = 0x5349474e43413031 // "SIGNCA01"

// Store is a [ca.Store] in a PostgreSQL database. Its methods are safe
// for concurrent use, from any number of processes.
type Store struct {
	pool *pgxpool.Pool
}

var _ ca.Store = (*Store)(nil)

// New applies [Migrations] to the database behind pool (see
// [pgdb.Migrate]: several nodes may start at once) and returns a store
// that uses pool. The caller keeps pool and closes it.
func New(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if err := pgdb.Migrate(ctx, pool, Migrations); err != nil {
		return nil, fmt.Errorf("pki/ca/postgres: %w", err)
	}
	return &Store{pool: pool}, nil
}

func key(serial *big.Int) string { return serial.Text(16) }

// unix returns t in Unix seconds, or nil (NULL) for the zero time.
func unix(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.Unix()
	return &n
}

func fromUnix(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(*n, 0).UTC()
}

// ordered runs fn in a READ COMMITTED transaction holding [OrderLock].
func (s *Store) ordered(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, OrderLock); err != nil {
			return err
		}
		return fn(tx)
	})
}

// Insert implements [ca.Store].
func (s *Store) Insert(ctx context.Context, r ca.Record) error {
	if r.Serial == nil {
		return errors.New("pki/ca/postgres: insert: nil serial")
	}
	// The lock and the INSERT are pipelined in one implicit transaction
	// (one Sync): one round trip, and the lock is held only while the
	// server runs the INSERT and flushes the commit, never across a round
	// trip to this process. Under READ COMMITTED the INSERT's snapshot is
	// taken after the lock is granted, so it sees every earlier number.
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock($1)`, OrderLock)
	b.Queue(`INSERT INTO ca_certificates
		(serial, issuer, kind, key_id, key_version, subject, not_before, not_after,
		 status, reason, revoked_at, invalidity_date, revoked_seq, issued_seq, der)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
		 CASE WHEN $9 = 'revoked' THEN (SELECT coalesce(max(revoked_seq), 0) + 1 FROM ca_certificates) END,
		 (SELECT coalesce(max(issued_seq), 0) + 1 FROM ca_certificates), $13)`,
		key(r.Serial), r.Issuer, string(r.Kind), r.Key.ID, r.Key.Version, r.Subject,
		r.NotBefore.Unix(), r.NotAfter.Unix(), string(r.Status), int64(r.Reason),
		unix(r.RevokedAt), unix(r.InvalidityDate), r.DER)
	err := s.pool.SendBatch(ctx, b).Close()
	var pe *pgconn.PgError
	if pgdb.IsUniqueViolation(err) && errors.As(err, &pe) && pe.ConstraintName == "ca_certificates_pkey" {
		return fmt.Errorf("%w: %s", ca.ErrDuplicateSerial, key(r.Serial))
	}
	if err != nil {
		return fmt.Errorf("pki/ca/postgres: insert: %w", err)
	}
	return nil
}

const columns = `serial, issuer, kind, key_id, key_version, subject, not_before, not_after,
	status, reason, revoked_at, invalidity_date, der`

func scan(row pgx.Row) (ca.Record, error) {
	var (
		r                     ca.Record
		serial, kind, status  string
		nb, na, reason        int64
		revokedAt, invalidity *int64
	)
	if err := row.Scan(&serial, &r.Issuer, &kind, &r.Key.ID, &r.Key.Version, &r.Subject,
		&nb, &na, &status, &reason, &revokedAt, &invalidity, &r.DER); err != nil {
		return ca.Record{}, err
	}
	var ok bool
	if r.Serial, ok = new(big.Int).SetString(serial, 16); !ok {
		return ca.Record{}, fmt.Errorf("corrupt serial %q", serial)
	}
	r.Kind, r.Status, r.Reason = ca.Kind(kind), ca.Status(status), ca.Reason(reason)
	r.NotBefore, r.NotAfter = time.Unix(nb, 0).UTC(), time.Unix(na, 0).UTC()
	r.RevokedAt, r.InvalidityDate = fromUnix(revokedAt), fromUnix(invalidity)
	return r, nil
}

// Get implements [ca.Store].
func (s *Store) Get(ctx context.Context, serial *big.Int) (ca.Record, error) {
	r, err := scan(s.pool.QueryRow(ctx, `SELECT `+columns+` FROM ca_certificates WHERE serial = $1`, key(serial)))
	if errors.Is(err, pgx.ErrNoRows) {
		return ca.Record{}, ca.ErrNotFound
	}
	if err != nil {
		return ca.Record{}, fmt.Errorf("pki/ca/postgres: get: %w", err)
	}
	return r, nil
}

// Revoke implements [ca.Store]. The record's row is locked (FOR UPDATE)
// before its status is read, so of two nodes revoking one certificate,
// one gets [ca.ErrAlreadyRevoked].
func (s *Store) Revoke(ctx context.Context, serial *big.Int, reason ca.Reason, at, inv time.Time) (ca.Record, error) {
	var r ca.Record
	err := s.ordered(ctx, func(tx pgx.Tx) error {
		var err error
		r, err = scan(tx.QueryRow(ctx, `SELECT `+columns+` FROM ca_certificates WHERE serial = $1 FOR UPDATE`, key(serial)))
		if errors.Is(err, pgx.ErrNoRows) {
			return ca.ErrNotFound
		}
		if err != nil {
			return err
		}
		if r.Status == ca.StatusRevoked {
			return ca.ErrAlreadyRevoked
		}
		_, err = tx.Exec(ctx, `UPDATE ca_certificates SET status = $1, reason = $2, revoked_at = $3, invalidity_date = $4,
			revoked_seq = (SELECT coalesce(max(revoked_seq), 0) + 1 FROM ca_certificates) WHERE serial = $5`,
			string(ca.StatusRevoked), int64(reason), at.Unix(), unix(inv), key(serial))
		return err
	})
	switch {
	case errors.Is(err, ca.ErrNotFound):
		return ca.Record{}, err
	case errors.Is(err, ca.ErrAlreadyRevoked):
		return r, err
	case err != nil:
		return ca.Record{}, fmt.Errorf("pki/ca/postgres: revoke: %w", err)
	}
	r.Status, r.Reason, r.RevokedAt = ca.StatusRevoked, reason, time.Unix(at.Unix(), 0).UTC()
	r.InvalidityDate = fromUnix(unix(inv))
	return r, nil
}

func (s *Store) list(ctx context.Context, where string, args ...any) ([]ca.Record, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+columns+` FROM ca_certificates WHERE `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("pki/ca/postgres: list: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ca.Record, error) { return scan(row) })
	if err != nil {
		return nil, fmt.Errorf("pki/ca/postgres: list: %w", err)
	}
	return out, nil
}

// ByKey implements [ca.Store].
func (s *Store) ByKey(ctx context.Context, id, version string) ([]ca.Record, error) {
	if version == "" {
		return s.list(ctx, `key_id = $1 ORDER BY issued_seq`, id)
	}
	return s.list(ctx, `key_id = $1 AND key_version = $2 ORDER BY issued_seq`, id, version)
}

// Revoked implements [ca.Store].
func (s *Store) Revoked(ctx context.Context, issuer string) ([]ca.Record, error) {
	return s.list(ctx, `issuer = $1 AND revoked_seq IS NOT NULL ORDER BY revoked_seq`, issuer)
}

// NextCRLNumber implements [ca.Store]: one statement that inserts the
// issuer's first number or increments the last one under its row lock.
func (s *Store) NextCRLNumber(ctx context.Context, issuer string) (*big.Int, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `INSERT INTO ca_crl_numbers (issuer, last) VALUES ($1, 1)
		ON CONFLICT (issuer) DO UPDATE SET last = ca_crl_numbers.last + 1 RETURNING last`, issuer).Scan(&n)
	if err != nil {
		return nil, fmt.Errorf("pki/ca/postgres: crl number: %w", err)
	}
	return big.NewInt(n), nil
}
