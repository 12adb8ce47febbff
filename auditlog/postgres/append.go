package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
		// Malformed: report a conflict first, as the locked path does.
		return s.locked(ctx, func(tx pgx.Tx) error { return insert(ctx, tx, recs, hashes) })
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

// conditionalInsert inserts a batch's records ($1–$7, one array per
// column) if the log's size is $8, and its hashes ($9, $10) if the
// records were inserted; it returns how many of each it inserted.
const conditionalInsert = `
WITH r AS (
	INSERT INTO records (idx, id, tenant, type, time_ns, leaf, sealed)
	SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bytea[], $7::bytea[])
	WHERE (SELECT COALESCE(MAX(idx) + 1, 0) FROM records) = $8
	RETURNING 1
), h AS (
	INSERT INTO hashes (idx, hash)
	SELECT * FROM unnest($9::bigint[], $10::bytea[])
	WHERE EXISTS (SELECT FROM r)
	RETURNING 1
)
SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM h)`

// appendArgs returns conditionalInsert's arguments for recs and hashes.
func appendArgs(recs []auditlog.Record, hashes []auditlog.HashEntry) ([]any, error) {
	n := len(recs)
	idx, ids, tenants, types := make([]int64, n), make([]string, n), make([]string, n), make([]string, n)
	times, leaves, sealed := make([]*int64, n), make([][]byte, n), make([][]byte, n)
	for i := range recs {
		r := &recs[i]
		t, err := toNanos(r.Time)
		if err != nil {
			return nil, err
		}
		idx[i], ids[i], tenants[i], types[i], times[i], leaves[i], sealed[i] = r.Index, r.ID, r.Tenant, r.Type, t, r.Leaf, r.Sealed
	}
	hidx, hs := make([]int64, len(hashes)), make([][]byte, len(hashes))
	for i := range hashes {
		hidx[i], hs[i] = hashes[i].Index, hashes[i].Hash[:]
	}
	return []any{idx, ids, tenants, types, times, leaves, sealed, recs[0].Index, hidx, hs}, nil
}

// AppendLocked implements [auditlog.LockingStorage]: build reads the log
// inside the append transaction, after pg_advisory_xact_lock(appendLock),
// so no other writer on any node appends between its reads and the
// insert of what it returns.
func (s *Store) AppendLocked(ctx context.Context, build func(r auditlog.StorageReader) ([]auditlog.Record, []auditlog.HashEntry, error)) error {
	return s.locked(ctx, func(tx pgx.Tx) error {
		recs, hashes, err := build(reader{tx})
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			if len(hashes) != 0 {
				return fmt.Errorf("postgres: append: hashes without records")
			}
			return nil
		}
		return insert(ctx, tx, recs, hashes)
	})
}

// locked runs fn in a transaction that holds the append lock, and commits.
func (s *Store) locked(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("postgres: append: %w", err)
	}
	defer tx.Rollback(context.Background()) // no-op after Commit
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", appendLock); err != nil {
		return fmt.Errorf("postgres: append: lock: %w", err)
	}
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: append: commit: %w", err)
	}
	return nil
}

// insert checks that recs start at the size and COPYs them and hashes, in
// tx, which holds the append lock.
func insert(ctx context.Context, tx pgx.Tx, recs []auditlog.Record, hashes []auditlog.HashEntry) error {
	shapeErr := batch.Check(recs, hashes)
	recRows := make([][]any, len(recs))
	for i := range recs {
		r := &recs[i]
		t, err := toNanos(r.Time)
		if err != nil {
			return err
		}
		recRows[i] = []any{r.Index, r.ID, r.Tenant, r.Type, t, r.Leaf, r.Sealed}
	}
	hashRows := make([][]any, len(hashes))
	for i := range hashes {
		hashRows[i] = []any{hashes[i].Index, hashes[i].Hash[:]}
	}
	n, err := size(ctx, tx)
	if err != nil {
		return err
	}
	if n != recs[0].Index {
		return fmt.Errorf("postgres: append at %d, size is %d: %w", recs[0].Index, n, auditlog.ErrConflict)
	}
	if shapeErr != nil {
		return fmt.Errorf("postgres: append: %w", shapeErr)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"records"},
		[]string{"idx", "id", "tenant", "type", "time_ns", "leaf", "sealed"},
		pgx.CopyFromRows(recRows)); err != nil {
		return appendError("records", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"hashes"}, []string{"idx", "hash"}, pgx.CopyFromRows(hashRows)); err != nil {
		return appendError("hashes", err)
	}
	return nil
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
