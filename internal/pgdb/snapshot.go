package pgdb

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// BatchSender sends a batch of statements: a pool, a connection or a
// transaction.
type BatchSender interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// Snapshot runs the statements queued in b (with their callbacks, as
// pgx.BatchResults.Close runs them) in one read-only REPEATABLE READ
// transaction, so they all read one snapshot, in one round trip: BEGIN,
// the statements and COMMIT are pipelined up to a single Sync. It returns
// the first error of a statement or callback.
//
// A failed statement leaves the session in an aborted transaction after
// the Sync; pgxpool then closes the connection instead of reusing it.
func Snapshot(ctx context.Context, db BatchSender, b *pgx.Batch) error {
	all := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(b.QueuedQueries)+2)}
	all.Queue("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
	all.QueuedQueries = append(all.QueuedQueries, b.QueuedQueries...)
	all.Queue("COMMIT")
	return db.SendBatch(ctx, all).Close()
}
