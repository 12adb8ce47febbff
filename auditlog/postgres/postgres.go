// Package postgres stores Signet's audit log in PostgreSQL (pgx/v5).
//
// # Roles
//
// The tables belong to an owner role that runs [Migrate]; the service
// connects with an application role that Migrate limits to SELECT and
// INSERT, so the database itself refuses any UPDATE, DELETE or TRUNCATE the
// service (or an attacker holding its credentials) attempts. A DBA can still
// rewrite rows: that is what the log's Merkle tree, signed checkpoints and
// anchors detect.
//
// # Durability and ordering
//
// Every connection runs with synchronous_commit=on, so [Store.Append]
// returns only after the commit record is flushed. Appends take a
// transaction-level advisory lock before reading the size (see
// [Store.Append]).
//
// # Several nodes
//
// Each node runs its own auditlog.Log over its own Store on the same
// database. An append that another node preceded fails with
// auditlog.ErrConflict and stores nothing; the node's log then retries it
// through [Store.AppendLocked], which reads the end of the log and inserts
// the batch in one transaction under the same advisory lock, so the retry
// cannot be preceded again.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
)

var _ auditlog.LockingStorage = (*Store)(nil)

// Store is an [auditlog.Storage] in a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
}

// Open connects to the database at url (a postgres:// URL or key=value
// string, as the application role) and checks that its schema is migrated
// to this release ([ErrNotMigrated], [ErrSchemaTooNew]). The caller must
// Close the store.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := checkSchema(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool}, nil
}

func checkSchema(ctx context.Context, pool *pgxpool.Pool) error {
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	if !exists {
		return fmt.Errorf("%w: no schema_migrations table", ErrNotMigrated)
	}
	applied, err := appliedVersions(ctx, pool)
	if err != nil {
		return err
	}
	if err := compareVersions(applied, Migrations); err != nil {
		return err
	}
	for _, m := range Migrations {
		if _, ok := applied[m.Version]; !ok {
			return fmt.Errorf("%w: migration %d (%s) is missing", ErrNotMigrated, m.Version, m.Name)
		}
	}
	return nil
}

// Close closes the connection pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Size returns the number of records: one past the highest index.
func (s *Store) Size(ctx context.Context) (int64, error) {
	return size(ctx, s.pool)
}

type rowQueryer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// querier is a pool or a transaction.
type querier interface {
	rowQueryer
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func size(ctx context.Context, q rowQueryer) (int64, error) {
	var n int64
	if err := q.QueryRow(ctx, "SELECT COALESCE(MAX(idx) + 1, 0) FROM records").Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: size: %w", err)
	}
	return n, nil
}

const recordColumns = "idx, id, tenant, type, envelope, time_ns, leaf, sealed"

func scanRecord(row pgx.Row) (auditlog.Record, error) {
	var r auditlog.Record
	var t *int64
	if err := row.Scan(&r.Index, &r.ID, &r.Tenant, &r.Type, &r.Envelope, &t, &r.Leaf, &r.Sealed); err != nil {
		return auditlog.Record{}, err
	}
	r.Time = fromNanos(t)
	return r, nil
}

// Records returns the records with start <= Index < end, in index order,
// read in one statement from one snapshot.
func (s *Store) Records(ctx context.Context, start, end int64) ([]auditlog.Record, error) {
	return records(ctx, s.pool, start, end)
}

func records(ctx context.Context, q querier, start, end int64) ([]auditlog.Record, error) {
	if start < 0 || end < start {
		return nil, fmt.Errorf("postgres: records: invalid range [%d, %d)", start, end)
	}
	rows, err := q.Query(ctx,
		"SELECT "+recordColumns+" FROM records WHERE idx >= $1 AND idx < $2 ORDER BY idx", start, end)
	if err != nil {
		return nil, fmt.Errorf("postgres: records: %w", err)
	}
	defer rows.Close()
	out := make([]auditlog.Record, 0, min(end-start, 4096))
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: records: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: records: %w", err)
	}
	return out, nil
}

// RecordByID returns the record with the given event ID, or
// [auditlog.ErrNotFound].
func (s *Store) RecordByID(ctx context.Context, id string) (auditlog.Record, error) {
	r, err := scanRecord(s.pool.QueryRow(ctx, "SELECT "+recordColumns+" FROM records WHERE id = $1", id))
	if errors.Is(err, pgx.ErrNoRows) {
		return auditlog.Record{}, fmt.Errorf("postgres: record %q: %w", id, auditlog.ErrNotFound)
	}
	if err != nil {
		return auditlog.Record{}, fmt.Errorf("postgres: record %q: %w", id, err)
	}
	return r, nil
}

// ReadHashes returns the stored hashes at the given indexes, in order, with
// the semantics of [tlog.HashReader]; a missing hash is
// [auditlog.ErrNotFound].
func (s *Store) ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	return readHashes(ctx, s.pool, indexes)
}

func readHashes(ctx context.Context, q querier, indexes []int64) ([]tlog.Hash, error) {
	if len(indexes) == 0 {
		return []tlog.Hash{}, nil
	}
	rows, err := q.Query(ctx, "SELECT idx, hash FROM hashes WHERE idx = ANY($1)", indexes)
	if err != nil {
		return nil, fmt.Errorf("postgres: read hashes: %w", err)
	}
	found := make(map[int64]tlog.Hash, len(indexes))
	var idx int64
	var b []byte
	_, err = pgx.ForEachRow(rows, []any{&idx, &b}, func() error {
		if len(b) != tlog.HashSize {
			return fmt.Errorf("stored hash %d has %d bytes", idx, len(b))
		}
		found[idx] = tlog.Hash(b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: read hashes: %w", err)
	}
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		h, ok := found[x]
		if !ok {
			return nil, fmt.Errorf("postgres: stored hash %d: %w", x, auditlog.ErrNotFound)
		}
		out[i] = h
	}
	return out, nil
}

// toNanos encodes t as Unix nanoseconds, nil (NULL) for the zero time.
// Times outside 1678–2262 do not fit and are refused.
func toNanos(t time.Time) (*int64, error) {
	if t.IsZero() {
		return nil, nil
	}
	n := t.UnixNano()
	if !time.Unix(0, n).Equal(t) {
		return nil, fmt.Errorf("postgres: time %v out of range", t)
	}
	return &n, nil
}

func fromNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

// envelopeQuery reads an envelope's records through the partial index
// records_envelope; the condition that envelope is not empty lets the
// planner use that partial index in a generic plan, whatever the bound
// value.
const envelopeQuery = "SELECT " + recordColumns + " FROM records" +
	" WHERE tenant = $1 AND envelope = $2 AND envelope <> '' ORDER BY idx"

// EnvelopeRecords implements [auditlog.Storage]: one range scan of the
// index on (tenant, envelope, idx), in one statement.
func (s *Store) EnvelopeRecords(ctx context.Context, tenant, envelopeID string) ([]auditlog.Record, error) {
	out := []auditlog.Record{}
	if envelopeID == "" {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, envelopeQuery, tenant, envelopeID)
	if err != nil {
		return nil, fmt.Errorf("postgres: envelope records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: envelope records: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: envelope records: %w", err)
	}
	return out, nil
}

// tenantQuery reads a page of a tenant's records through the index
// records_tenant.
const tenantQuery = "SELECT " + recordColumns + " FROM records" +
	" WHERE tenant = $1 AND idx > $2 ORDER BY idx LIMIT $3"

// TenantRecords implements [auditlog.Storage]: one range scan of the index
// on (tenant, idx), in one statement.
func (s *Store) TenantRecords(ctx context.Context, tenant string, after int64, limit int) ([]auditlog.Record, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("postgres: tenant records: limit %d is not positive", limit)
	}
	rows, err := s.pool.Query(ctx, tenantQuery, tenant, after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: tenant records: %w", err)
	}
	defer rows.Close()
	out := []auditlog.Record{}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: tenant records: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: tenant records: %w", err)
	}
	return out, nil
}
