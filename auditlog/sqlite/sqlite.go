// Package sqlite stores Signet's audit log in an embedded SQLite database
// (modernc.org/sqlite, pure Go), opened through [sqldb]: an
// [auditlog.Storage] that passes the conformance and tamper suite of
// auditlog/storetest.
//
// # Durability
//
// The database runs in WAL mode with synchronous=FULL: a transaction is
// durable when its COMMIT returns, which is when [Store.Append] returns nil.
// Writes go through a single connection (SQLite allows one writer at a time;
// serializing in the pool avoids SQLITE_BUSY retries), reads through a pool
// that WAL lets run beside the writer.
//
// # Schema
//
// [sqldb.Migrate] applies versioned migrations recorded in a schema_migrations
// table; the audit log's tables are version 1, the envelope column and its
// index version 2, the tenant index version 3 (see logMigrations). The log only ever inserts and reads
// rows, as [auditlog.Storage] requires.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/sqldb"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

var _ auditlog.Storage = (*Store)(nil)

// Store is an [auditlog.Storage] in one SQLite database file.
type Store struct {
	w *sql.DB // the one writer connection
	r *sql.DB // reader pool
}

// Open opens (creating if needed, mode 0600, as its -wal and -shm files)
// the SQLite database at path with [sqldb.OpenDB] and [sqldb.OpenReadDB],
// applies the audit log migrations and returns the store. The caller must
// Close it.
func Open(path string) (*Store, error) {
	ctx := context.Background()
	w, err := sqldb.OpenDB(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := sqldb.Migrate(ctx, w, logMigrations); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sqldb.OpenReadDB(ctx, path, max(4, runtime.GOMAXPROCS(0)))
	if err != nil {
		w.Close()
		return nil, err
	}
	return &Store{w: w, r: r}, nil
}

// Close closes the database. Appends in flight fail.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// Size returns the number of records: one past the highest index.
func (s *Store) Size(ctx context.Context) (int64, error) {
	return size(ctx, s.r)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func size(ctx context.Context, q querier) (int64, error) {
	var n int64
	if err := q.QueryRowContext(ctx, "SELECT COALESCE(MAX(idx) + 1, 0) FROM records").Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: size: %w", err)
	}
	return n, nil
}

const recordColumns = "idx, id, tenant, type, envelope, time_ns, leaf, sealed"

type scanner interface{ Scan(dest ...any) error }

func scanRecord(sc scanner) (auditlog.Record, error) {
	var r auditlog.Record
	var t sql.NullInt64
	if err := sc.Scan(&r.Index, &r.ID, &r.Tenant, &r.Type, &r.Envelope, &t, &r.Leaf, &r.Sealed); err != nil {
		return auditlog.Record{}, err
	}
	r.Time = fromNanos(t)
	return r, nil
}

// Records returns the records with start <= Index < end, in index order, read
// in one statement from one snapshot.
func (s *Store) Records(ctx context.Context, start, end int64) ([]auditlog.Record, error) {
	if start < 0 || end < start {
		return nil, fmt.Errorf("sqlite: records: invalid range [%d, %d)", start, end)
	}
	rows, err := s.r.QueryContext(ctx,
		"SELECT "+recordColumns+" FROM records WHERE idx >= ? AND idx < ? ORDER BY idx", start, end)
	if err != nil {
		return nil, fmt.Errorf("sqlite: records: %w", err)
	}
	defer rows.Close()
	out := make([]auditlog.Record, 0, min(end-start, 4096))
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: records: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: records: %w", err)
	}
	return out, nil
}

// RecordByID returns the record with the given event ID, or
// [auditlog.ErrNotFound].
func (s *Store) RecordByID(ctx context.Context, id string) (auditlog.Record, error) {
	row := s.r.QueryRowContext(ctx, "SELECT "+recordColumns+" FROM records WHERE id = ?", id)
	r, err := scanRecord(row)
	if errors.Is(err, sql.ErrNoRows) {
		return auditlog.Record{}, fmt.Errorf("sqlite: record %q: %w", id, auditlog.ErrNotFound)
	}
	if err != nil {
		return auditlog.Record{}, fmt.Errorf("sqlite: record %q: %w", id, err)
	}
	return r, nil
}

// maxVars bounds the placeholders of one statement (SQLite's default limit
// is 32766).
const maxVars = 500

// ReadHashes returns the stored hashes at the given indexes, in order, with
// the semantics of [tlog.HashReader]; a missing hash is
// [auditlog.ErrNotFound].
func (s *Store) ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	found := make(map[int64]tlog.Hash, len(indexes))
	for lo := 0; lo < len(indexes); lo += maxVars {
		chunk := indexes[lo:min(lo+maxVars, len(indexes))]
		args := make([]any, len(chunk))
		for i, x := range chunk {
			args[i] = x
		}
		q := "SELECT idx, hash FROM hashes WHERE idx IN (?" + strings.Repeat(",?", len(chunk)-1) + ")"
		rows, err := s.r.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: read hashes: %w", err)
		}
		for rows.Next() {
			var idx int64
			var b []byte
			if err := rows.Scan(&idx, &b); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: read hashes: %w", err)
			}
			if len(b) != tlog.HashSize {
				rows.Close()
				return nil, fmt.Errorf("sqlite: stored hash %d has %d bytes", idx, len(b))
			}
			found[idx] = tlog.Hash(b)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("sqlite: read hashes: %w", err)
		}
	}
	for i, x := range indexes {
		h, ok := found[x]
		if !ok {
			return nil, fmt.Errorf("sqlite: stored hash %d: %w", x, auditlog.ErrNotFound)
		}
		out[i] = h
	}
	return out, nil
}

// toNanos encodes t as Unix nanoseconds, NULL for the zero time. Times
// outside 1678–2262 do not fit and are refused.
func toNanos(t time.Time) (sql.NullInt64, error) {
	if t.IsZero() {
		return sql.NullInt64{}, nil
	}
	n := t.UnixNano()
	if !time.Unix(0, n).Equal(t) {
		return sql.NullInt64{}, fmt.Errorf("sqlite: time %v out of range", t)
	}
	return sql.NullInt64{Int64: n, Valid: true}, nil
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// envelopeQuery reads an envelope's records through the partial index
// records_envelope; the condition that envelope is not empty lets the
// planner use that partial index whatever the bound value.
const envelopeQuery = "SELECT " + recordColumns + " FROM records INDEXED BY records_envelope" +
	" WHERE tenant = ? AND envelope = ? AND envelope <> '' ORDER BY idx"

// EnvelopeRecords implements [auditlog.Storage]: one range scan of the
// index on (tenant, envelope, idx), read from one snapshot.
func (s *Store) EnvelopeRecords(ctx context.Context, tenant, envelopeID string) ([]auditlog.Record, error) {
	out := []auditlog.Record{}
	if envelopeID == "" {
		return out, nil
	}
	rows, err := s.r.QueryContext(ctx, envelopeQuery, tenant, envelopeID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: envelope records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: envelope records: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: envelope records: %w", err)
	}
	return out, nil
}

// tenantQuery reads a page of a tenant's records through the index
// records_tenant.
const tenantQuery = "SELECT " + recordColumns + " FROM records INDEXED BY records_tenant" +
	" WHERE tenant = ? AND idx > ? ORDER BY idx LIMIT ?"

// TenantRecords implements [auditlog.Storage]: one range scan of the index
// on (tenant, idx).
func (s *Store) TenantRecords(ctx context.Context, tenant string, after int64, limit int) ([]auditlog.Record, error) {
	if limit <= 0 {
		return nil, fmt.Errorf("sqlite: tenant records: limit %d is not positive", limit)
	}
	rows, err := s.r.QueryContext(ctx, tenantQuery, tenant, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: tenant records: %w", err)
	}
	defer rows.Close()
	out := []auditlog.Record{}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: tenant records: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: tenant records: %w", err)
	}
	return out, nil
}
