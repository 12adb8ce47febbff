package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/cluster"
)

// DefaultMaxHeld is how many locks a node holds or waits for at once by
// default: the connections of the pool that [Locks] keeps for them.
const DefaultMaxHeld = 32

// lockIdle is how long an unused lock connection is kept open.
const lockIdle = time.Minute

// Locks are [cluster.Locks] across every node that shares the database:
// session advisory locks (pg_advisory_lock), each held by one connection
// from Lock to unlock.
//
// The connections come from a pool of their own, opened with the
// caller's pool's settings, so that held locks never take the
// connections that the work done under them needs (with one shared pool,
// as many holders as the pool has connections would wait forever for a
// connection to do their work).
type Locks struct {
	conns *pgxpool.Pool       // nil if it could not be opened (err)
	err   error               // why conns could not be opened
	local *cluster.LocalLocks // one waiter per key and node in the database
}

var _ cluster.Locks = (*Locks)(nil)

// A LockOption changes [NewLocks]'s defaults.
type LockOption func(*lockConfig)

type lockConfig struct{ maxHeld int }

// MaxHeld sets how many locks of distinct keys this node may hold or wait
// for in the database at once (default [DefaultMaxHeld]): the size of
// the connection pool kept for locks. Beyond it, Lock waits for a holder
// to unlock. n < 1 keeps the default.
func MaxHeld(n int) LockOption {
	return func(c *lockConfig) {
		if n >= 1 {
			c.maxHeld = n
		}
	}
}

// NewLocks returns the locks of the database behind pool. It opens no
// connection yet: the connections that hold locks are opened on demand,
// with pool's settings, up to [MaxHeld], and closed after a minute
// unused. Close them with [Locks.Close] after the last unlock; the caller
// keeps pool.
func NewLocks(pool *pgxpool.Pool, opts ...LockOption) *Locks {
	c := lockConfig{maxHeld: DefaultMaxHeld}
	for _, o := range opts {
		o(&c)
	}
	cfg := pool.Config()
	cfg.MaxConns = int32(c.maxHeld)
	cfg.MinConns, cfg.MinIdleConns = 0, 0
	cfg.MaxConnIdleTime = lockIdle
	l := &Locks{local: cluster.NewLocalLocks()}
	// NewWithConfig connects lazily: it fails only on a configuration
	// that pool itself was opened with, so this error is not expected.
	l.conns, l.err = pgxpool.NewWithConfig(context.Background(), cfg)
	return l
}

// Close closes the connections kept for locks. It waits for the locks
// still held to be unlocked.
func (l *Locks) Close() {
	if l.conns != nil {
		l.conns.Close()
	}
}

// Lock implements [cluster.Locks]. It waits first for the other callers
// of key on this node, then for a connection, then in the database. If
// ctx ends while the database wait runs, the wait is cancelled by closing
// its connection, which ends the session: whether or not the lock was
// granted in between, nothing stays held and the connection is not
// reused.
func (l *Locks) Lock(ctx context.Context, key string) (func(), error) {
	if l.err != nil {
		return nil, fmt.Errorf("cluster/postgres: lock: %w", l.err)
	}
	unlockLocal, err := l.local.Lock(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("cluster/postgres: lock: %w", ctx.Err())
	}
	conn, err := l.conns.Acquire(ctx)
	if err != nil {
		unlockLocal()
		return nil, fmt.Errorf("cluster/postgres: lock: %w", err)
	}
	k := lockKey(key)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", k); err != nil {
		// pgx closes the connection when ctx ends during the statement;
		// any other failure leaves the lock's state unknown. Either way
		// the session must end.
		discard(conn)
		unlockLocal()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("cluster/postgres: lock: %w", err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			unlock(conn, k)
			unlockLocal()
		})
	}, nil
}

// unlock releases the lock k held by conn and returns conn to its pool,
// or closes conn (ending its session, and so the lock) if the release
// cannot be confirmed.
func unlock(conn *pgxpool.Conn, k int64) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	var released bool
	if err := conn.QueryRow(ctx, "SELECT pg_advisory_unlock($1)", k).Scan(&released); err != nil || !released {
		discard(conn)
		return
	}
	conn.Release()
}
