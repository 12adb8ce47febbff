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
// error nothing is stored. It returns nil only after COMMIT, which with
// synchronous_commit=on means the WAL is flushed.
//
// The transaction first takes pg_advisory_xact_lock(appendLock), then reads
// the size in a new statement (under READ COMMITTED each statement sees the
// commits made before it started, so the size read after the lock includes
// every earlier append), then COPYs the rows. The lock needs no table
// privilege, unlike LOCK TABLE ... EXCLUSIVE, which requires UPDATE, DELETE
// or TRUNCATE and so is unavailable to an INSERT/SELECT role. The primary
// keys on records.idx and hashes.idx remain a backstop: an append that
// bypassed the lock and raced would fail with a unique violation, reported
// as ErrConflict.
func (s *Store) Append(ctx context.Context, recs []auditlog.Record, hashes []auditlog.HashEntry) error {
	if len(recs) == 0 {
		if len(hashes) != 0 {
			return fmt.Errorf("postgres: append: hashes without records")
		}
		return nil
	}
	return s.locked(ctx, func(tx pgx.Tx) error { return insert(ctx, tx, recs, hashes) })
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
