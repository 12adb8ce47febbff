package pgdb_test

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/pgdb"
)

// TestSnapshot checks that the queued statements run with their callbacks
// in one read-only REPEATABLE READ transaction, that a callback's or a
// statement's error is returned, and that no pooled connection is left
// inside a transaction after either.
func TestSnapshot(t *testing.T) {
	pool, _ := open(t)
	ctx := t.Context()
	if _, err := pool.Exec(ctx, `CREATE TABLE t (n INTEGER); INSERT INTO t VALUES (1), (2)`); err != nil {
		t.Fatal(err)
	}
	var iso, readOnly string
	var sum int64
	b := &pgx.Batch{}
	b.Queue(`SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only')`).
		QueryRow(func(row pgx.Row) error { return row.Scan(&iso, &readOnly) })
	b.Queue(`SELECT sum(n) FROM t`).QueryRow(func(row pgx.Row) error { return row.Scan(&sum) })
	if err := pgdb.Snapshot(ctx, pool, b); err != nil {
		t.Fatal(err)
	}
	// REPEATABLE READ: every statement of the transaction reads the
	// snapshot its first one took.
	if iso != "repeatable read" || readOnly != "on" || sum != 3 {
		t.Errorf("isolation %q, read only %q, sum %d; want repeatable read, on, 3", iso, readOnly, sum)
	}

	errCallback := errors.New("callback")
	tests := []struct {
		name string
		b    func() *pgx.Batch
		want func(error) bool
	}{
		{"callback error", func() *pgx.Batch {
			b := &pgx.Batch{}
			b.Queue(`SELECT 1`).QueryRow(func(pgx.Row) error { return errCallback })
			return b
		}, func(err error) bool { return errors.Is(err, errCallback) }},
		{"statement error", func() *pgx.Batch {
			b := &pgx.Batch{}
			b.Queue(`SELECT 1/0`)
			return b
		}, func(err error) bool { return err != nil }},
		{"write refused", func() *pgx.Batch {
			b := &pgx.Batch{}
			b.Queue(`INSERT INTO t VALUES (3)`)
			return b
		}, func(err error) bool { return err != nil }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := pgdb.Snapshot(ctx, pool, tc.b()); !tc.want(err) {
				t.Fatalf("Snapshot: %v", err)
			}
			// Every connection of the pool is outside a transaction.
			var conns []*pgxpool.Conn
			for range pool.Config().MaxConns {
				c, err := pool.Acquire(ctx)
				if err != nil {
					t.Fatal(err)
				}
				conns = append(conns, c)
				if st := c.Conn().PgConn().TxStatus(); st != 'I' {
					t.Errorf("a pooled connection has the transaction status %q", st)
				}
			}
			for _, c := range conns {
				c.Release()
			}
			var n int64
			if err := pool.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 2 {
				t.Fatalf("count %d, %v; want 2", n, err)
			}
		})
	}
}
