package postgres

import (
	"context"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/cluster"
)

// Locks are [cluster.Locks] across every node that shares the database:
// session advisory locks (pg_advisory_lock), each held by one connection
// of the pool from Lock to unlock.
type Locks struct {
	pool  *pgxpool.Pool
	local *cluster.LocalLocks // one waiter per key and node in the database
	slots chan struct{}       // bounds the connections holding or waiting
}

var _ cluster.Locks = (*Locks)(nil)

// NewLocks returns the locks of the database behind pool. At most half of
// the pool's connections (at least one) hold or wait for locks at a time.
// The caller keeps pool and closes it after the last unlock.
func NewLocks(pool *pgxpool.Pool) *Locks {
	n := int(pool.Config().MaxConns / 2)
	if n < 1 {
		n = 1
	}
	return &Locks{pool: pool, local: cluster.NewLocalLocks(), slots: make(chan struct{}, n)}
}

// Lock implements [cluster.Locks]. It waits first for the other callers
// of key on this node, then for a connection, then in the database. If
// ctx ends while the database wait runs, the wait is cancelled by closing
// its connection, which ends the session: whether or not the lock was
// granted in between, nothing stays held and the connection never goes
// back to the pool.
func (l *Locks) Lock(ctx context.Context, key string) (func(), error) {
	unlockLocal, err := l.local.Lock(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("cluster/postgres: lock: %w", ctx.Err())
	}
	select {
	case l.slots <- struct{}{}:
	case <-ctx.Done():
		unlockLocal()
		return nil, fmt.Errorf("cluster/postgres: lock: %w", ctx.Err())
	}
	fail := func(err error) (func(), error) {
		<-l.slots
		unlockLocal()
		return nil, fmt.Errorf("cluster/postgres: lock: %w", err)
	}
	conn, err := l.pool.Acquire(ctx)
	if err != nil {
		return fail(err)
	}
	k := lockKey(key)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", k); err != nil {
		// pgx closes the connection when ctx ends during the statement;
		// any other failure leaves the lock's state unknown. Either way
		// the session must end.
		discard(conn)
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fail(err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			l.unlock(conn, k)
			<-l.slots
			unlockLocal()
		})
	}, nil
}

// unlock releases the lock k held by conn and returns conn to the pool,
// or closes conn (ending its session, and so the lock) if the release
// cannot be confirmed.
func (l *Locks) unlock(conn *pgxpool.Conn, k int64) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	var released bool
	if err := conn.QueryRow(ctx, "SELECT pg_advisory_unlock($1)", k).Scan(&released); err != nil || !released {
		discard(conn)
		return
	}
	conn.Release()
}
