package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/internal/batch"
)

// appendLock is the transaction-level advisory lock key that serializes
// appends to the log in this database.
const appendLock int64 = 0x5349474e45544131 // "SIGNETA1"

// Append stores recs and the tree hashes they add in one transaction. It
// returns [auditlog.ErrConflict] if recs[0].Index is not the current size,
// and an error if hashes are not exactly the stored hashes recs add; on any
// error nothing is stored. It returns nil only after the commit, which with
// synchronous_commit=on means the WAL is flushed.
//
// A well-formed batch costs one round trip: two statements pipelined in
// one implicit transaction (extended protocol, one Sync). The first takes
// pg_advisory_xact_lock(appendLock); the second inserts the records only
// if the size equals recs[0].Index, and the hashes only if the records
// were inserted. Under READ COMMITTED the second statement's snapshot is
// taken after the lock is granted, so the size it reads includes every
// earlier append; an insert of no records is the conflict. The lock needs
// no table privilege, unlike LOCK TABLE ... EXCLUSIVE, which requires
// UPDATE, DELETE or TRUNCATE and so is unavailable to an INSERT/SELECT
// role. The primary keys on records.idx and hashes.idx remain a backstop:
// an append that bypassed the lock and raced would fail with a unique
// violation, reported as ErrConflict.
func (s *Store) Append(ctx context.Context, recs []auditlog.Record, hashes []auditlog.HashEntry) error {
	if len(recs) == 0 {
		if len(hashes) != 0 {
			return fmt.Errorf("postgres: append: hashes without records")
		}
		return nil
	}
	if err := batch.Check(recs, hashes); err != nil {
		// Malformed: nothing is stored; a conflict is reported first.
		return s.conflictOr(ctx, s.pool, recs[0].Index, fmt.Errorf("postgres: append: %w", err))
	}
	args, err := appendArgs(recs, hashes)
	if err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue("SELECT pg_advisory_xact_lock($1)", appendLock)
	b.Queue(conditionalInsert, args...)
	res := s.pool.SendBatch(ctx, b)
	if _, err := res.Exec(); err != nil {
		res.Close()
		return fmt.Errorf("postgres: append: lock: %w", err)
	}
	var nrec, nhash int64
	if err := res.QueryRow().Scan(&nrec, &nhash); err != nil {
		res.Close()
		return appendError("records", err)
	}
	// Close reads the Sync's reply: the implicit transaction has
	// committed (and the WAL is flushed) only when it returns nil.
	if err := res.Close(); err != nil {
		return fmt.Errorf("postgres: append: commit: %w", err)
	}
	if nrec == 0 {
		return fmt.Errorf("postgres: append at %d: the log has another size: %w", recs[0].Index, auditlog.ErrConflict)
	}
	if nrec != int64(len(recs)) || nhash != int64(len(hashes)) {
		return fmt.Errorf("postgres: append: stored %d records and %d hashes of %d and %d", nrec, nhash, len(recs), len(hashes))
	}
	return nil
}

// conditionalInsert inserts a batch's records ($1–$8, one array per
// column) if the log's size is $9, and its hashes ($10, $11) if the
// records were inserted; it returns how many of each it inserted.
const conditionalInsert = `
WITH r AS (
	INSERT INTO records (idx, id, tenant, type, envelope, time_ns, leaf, sealed)
	SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bytea[], $8::bytea[])
	WHERE (SELECT COALESCE(MAX(idx) + 1, 0) FROM records) = $9
	RETURNING 1
), h AS (
	INSERT INTO hashes (idx, hash)
	SELECT * FROM unnest($10::bigint[], $11::bytea[])
	WHERE EXISTS (SELECT FROM r)
	RETURNING 1
)
SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM h)`

// appendArgs returns conditionalInsert's arguments for recs and hashes.
func appendArgs(recs []auditlog.Record, hashes []auditlog.HashEntry) ([]any, error) {
	n := len(recs)
	idx, ids, tenants, types, envs := make([]int64, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	times, leaves, sealed := make([]*int64, n), make([][]byte, n), make([][]byte, n)
	for i := range recs {
		r := &recs[i]
		t, err := toNanos(r.Time)
		if err != nil {
			return nil, err
		}
		idx[i], ids[i], tenants[i], types[i], envs[i], times[i], leaves[i], sealed[i] = r.Index, r.ID, r.Tenant, r.Type, r.Envelope, t, r.Leaf, r.Sealed
	}
	hidx, hs := make([]int64, len(hashes)), make([][]byte, len(hashes))
	for i := range hashes {
		hidx[i], hs[i] = hashes[i].Index, hashes[i].Hash[:]
	}
	return []any{idx, ids, tenants, types, envs, times, leaves, sealed, recs[0].Index, hidx, hs}, nil
}

// AppendLocked implements [auditlog.LockingStorage]: build reads the log
// inside the append transaction, after pg_advisory_xact_lock(appendLock),
// so no other writer on any node appends between its reads and the
// insert of what it returns.
//
// The lock is held for as few round trips as the reads need: BEGIN and
// the lock travel together, the size is read with the last record (which
// a writer catching up reads next), and the insert travels with the
// COMMIT.
func (s *Store) AppendLocked(ctx context.Context, build func(r auditlog.StorageReader) ([]auditlog.Record, []auditlog.HashEntry, error)) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: append: %w", err)
	}
	// A connection released inside a transaction (an error below) is
	// closed by the pool, which rolls the transaction back.
	defer conn.Release()
	b := &pgx.Batch{}
	b.Queue("BEGIN ISOLATION LEVEL READ COMMITTED")
	b.Queue("SELECT pg_advisory_xact_lock($1)", appendLock)
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("postgres: append: lock: %w", err)
	}
	recs, hashes, err := build(&lockedReader{q: conn})
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		if len(hashes) != 0 {
			return fmt.Errorf("postgres: append: hashes without records")
		}
		_, err := conn.Exec(ctx, "COMMIT")
		return err
	}
	if err := batch.Check(recs, hashes); err != nil {
		return s.conflictOr(ctx, conn, recs[0].Index, fmt.Errorf("postgres: append: %w", err))
	}
	args, err := appendArgs(recs, hashes)
	if err != nil {
		return err
	}
	b = &pgx.Batch{}
	var nrec, nhash int64
	b.Queue(conditionalInsert, args...).QueryRow(func(row pgx.Row) error { return row.Scan(&nrec, &nhash) })
	b.Queue("COMMIT")
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return appendError("records", err)
	}
	if nrec == 0 {
		// Not expected under the lock: the size moved anyway.
		return fmt.Errorf("postgres: append at %d: the log has another size: %w", recs[0].Index, auditlog.ErrConflict)
	}
	if nrec != int64(len(recs)) || nhash != int64(len(hashes)) {
		return fmt.Errorf("postgres: append: stored %d records and %d hashes of %d and %d", nrec, nhash, len(recs), len(hashes))
	}
	return nil
}

// conflictOr returns ErrConflict if the size read on conn is not at, and
// else shapeErr.
func (s *Store) conflictOr(ctx context.Context, conn rowQueryer, at int64, shapeErr error) error {
	n, err := size(ctx, conn)
	if err != nil {
		return err
	}
	if n != at {
		return fmt.Errorf("postgres: append at %d, size is %d: %w", at, n, auditlog.ErrConflict)
	}
	return shapeErr
}

// lockedReader is the [auditlog.StorageReader] of AppendLocked. Size
// reads the last record with the size and keeps it, so that reading that
// record next costs no round trip.
type lockedReader struct {
	q    querier
	last *auditlog.Record
}

func (r *lockedReader) Size(ctx context.Context) (int64, error) {
	rec, err := scanRecord(r.q.QueryRow(ctx, "SELECT "+recordColumns+" FROM records ORDER BY idx DESC LIMIT 1"))
	if errors.Is(err, pgx.ErrNoRows) {
		r.last = nil
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: size: %w", err)
	}
	r.last = &rec
	return rec.Index + 1, nil
}

func (r *lockedReader) Records(ctx context.Context, start, end int64) ([]auditlog.Record, error) {
	if l := r.last; l != nil && start == l.Index && end == l.Index+1 {
		return []auditlog.Record{*l}, nil
	}
	return records(ctx, r.q, start, end)
}

func (r *lockedReader) ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error) {
	return readHashes(ctx, r.q, indexes)
}

// appendError maps a unique violation on an index to
// [auditlog.ErrConflict] and adds the package prefix.
func appendError(table string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" { // unique_violation
		switch pgErr.ConstraintName {
		case "records_pkey", "hashes_pkey":
			return fmt.Errorf("postgres: append %s: %s: %w", table, pgErr.Detail, auditlog.ErrConflict)
		case "records_id_key":
			return fmt.Errorf("postgres: append: duplicate event ID: %s", pgErr.Detail)
		}
	}
	return fmt.Errorf("postgres: append %s: %w", table, err)
}
