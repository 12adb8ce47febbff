// Package cluster holds the primitives that keep single what must be
// single when several Signet nodes serve one deployment: named [Locks]
// (mutual exclusion per key, such as the incremental updates of one
// document) and [Leases] (one node at a time runs a singleton: the
// checkpoint publisher, the scheduler, certificate renewals, blob garbage
// collection).
//
// Two implementations pass one conformance suite (internal/cluster/clustertest):
// [LocalLocks] and [LocalLeases] for a single process (the SQLite
// deployment), and internal/cluster/postgres for nodes that share a
// PostgreSQL database, with session advisory locks. The composition picks
// one; the packages that need exclusion depend on these interfaces only.
package cluster

import (
	"context"
	"time"
)

// Locks are named mutexes.
type Locks interface {
	// Lock waits until it holds the lock named key, or ctx is done (then
	// it returns ctx's error and holds nothing). Holders of one key
	// exclude each other on every node of the deployment. unlock releases
	// the lock; calling it again does nothing.
	Lock(ctx context.Context, key string) (unlock func(), err error)
}

// Leases elect, per name, the node that runs a singleton.
type Leases interface {
	// Run blocks until ctx is done. While this node holds the lease name,
	// it runs fn with a context that is cancelled when ctx ends or the
	// lease is lost (the node's connection to the others died); fn must
	// return promptly then. Run tries to acquire the lease again
	// periodically. If fn returns while the lease is held, the lease is
	// given up and acquisition is retried after the retry interval, so fn
	// is called again. Run never runs two calls of fn at once.
	Run(ctx context.Context, name string, fn func(ctx context.Context))
}

// Default lease timings.
const (
	// DefaultRetry is how often a node that does not hold a lease tries
	// to acquire it.
	DefaultRetry = 3 * time.Second
	// DefaultCheck is how often a holder checks that it still holds the
	// lease.
	DefaultCheck = 2 * time.Second
)

// LeaseConfig holds the timings of a [Leases] implementation.
type LeaseConfig struct {
	// Retry is the interval between acquisition attempts.
	Retry time.Duration
	// Check is the interval between the holder's liveness checks; it
	// also bounds each check.
	Check time.Duration
}

// A LeaseOption changes a [LeaseConfig].
type LeaseOption func(*LeaseConfig)

// RetryEvery sets the interval between acquisition attempts (default
// [DefaultRetry]); d <= 0 keeps the default.
func RetryEvery(d time.Duration) LeaseOption {
	return func(c *LeaseConfig) {
		if d > 0 {
			c.Retry = d
		}
	}
}

// CheckEvery sets the interval between the holder's liveness checks
// (default [DefaultCheck]); d <= 0 keeps the default.
func CheckEvery(d time.Duration) LeaseOption {
	return func(c *LeaseConfig) {
		if d > 0 {
			c.Check = d
		}
	}
}

// NewLeaseConfig returns the defaults changed by opts.
func NewLeaseConfig(opts ...LeaseOption) LeaseConfig {
	c := LeaseConfig{Retry: DefaultRetry, Check: DefaultCheck}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// Wait waits for d or until ctx is done, and reports whether ctx is still
// live.
func Wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
