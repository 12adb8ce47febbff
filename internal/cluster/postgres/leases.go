package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/cluster"
)

// Leases are [cluster.Leases] across every node that shares the database:
// a lease is the session advisory lock of its name
// (pg_try_advisory_lock), held by a connection taken out of the pool for
// the lease's lifetime, and checked every [cluster.LeaseConfig.Check].
// When a node dies its session ends and another node takes the lease at
// its next attempt.
type Leases struct {
	pool *pgxpool.Pool
	cfg  cluster.LeaseConfig
}

var _ cluster.Leases = (*Leases)(nil)

// NewLeases returns the leases of the database behind pool, with the
// timings of opts ([cluster.RetryEvery], [cluster.CheckEvery]). The
// caller keeps pool; a lease's connection is closed by Run itself.
func NewLeases(pool *pgxpool.Pool, opts ...cluster.LeaseOption) *Leases {
	return &Leases{pool: pool, cfg: cluster.NewLeaseConfig(opts...)}
}

// Run implements [cluster.Leases]. Failures to reach the database are not
// reported: they mean the lease is not held, and Run tries again.
func (l *Leases) Run(ctx context.Context, name string, fn func(ctx context.Context)) {
	k := leaseKey(name)
	for ctx.Err() == nil {
		if conn := l.acquire(ctx, k); conn != nil {
			l.hold(ctx, conn, fn)
		}
		if !cluster.Wait(ctx, l.cfg.Retry) {
			return
		}
	}
}

// acquire returns the connection that now holds the lease k, taken out of
// the pool, or nil if another session holds it or the database failed.
func (l *Leases) acquire(ctx context.Context, k int64) *pgx.Conn {
	c, err := l.pool.Acquire(ctx)
	if err != nil {
		return nil
	}
	var held bool
	if err := c.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", k).Scan(&held); err != nil {
		discard(c) // the lock may have been taken: end the session
		return nil
	}
	if !held {
		c.Release()
		return nil
	}
	return c.Hijack()
}

// hold runs fn while conn, which holds the lease, stays alive. It returns
// once fn has returned, and closes conn, which ends the lease.
func (l *Leases) hold(ctx context.Context, conn *pgx.Conn, fn func(context.Context)) {
	defer closeConn(conn)
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(fctx)
	}()
	ticker := time.NewTicker(l.cfg.Check)
	defer ticker.Stop()
	for {
		select {
		case <-done:
			return
		case <-fctx.Done():
			<-done
			return
		case <-ticker.C:
			if !l.alive(conn) {
				cancel()
				<-done
				return
			}
		}
	}
}

// alive reports whether conn's session still answers within the check
// interval. A live session still holds its advisory locks: only its own
// unlock or its end releases them.
func (l *Leases) alive(conn *pgx.Conn) bool {
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.Check)
	defer cancel()
	_, err := conn.Exec(ctx, "SELECT 1")
	return err == nil
}
