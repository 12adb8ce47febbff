package cluster

import (
	"context"
	"fmt"
	"sync"
)

// LocalLocks are [Locks] held in this process only: right for a single
// node, where nothing else writes the stores. The zero value is not
// usable; call [NewLocalLocks].
type LocalLocks struct {
	mu sync.Mutex
	m  map[string]*localLock // created on demand, dropped when unused
}

type localLock struct {
	ch   chan struct{} // holds one token while locked
	refs int           // holders and waiters
}

var _ Locks = (*LocalLocks)(nil)

// NewLocalLocks returns an empty set of in-process locks.
func NewLocalLocks() *LocalLocks {
	return &LocalLocks{m: map[string]*localLock{}}
}

// Lock implements [Locks].
func (k *LocalLocks) Lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	l := k.m[key]
	if l == nil {
		l = &localLock{ch: make(chan struct{}, 1)}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()
	// An already cancelled ctx never takes the lock, even if it is free.
	if err := ctx.Err(); err != nil {
		k.release(key, l)
		return nil, fmt.Errorf("cluster: lock: %w", err)
	}
	select {
	case l.ch <- struct{}{}:
	case <-ctx.Done():
		k.release(key, l)
		return nil, fmt.Errorf("cluster: lock: %w", ctx.Err())
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-l.ch
			k.release(key, l)
		})
	}, nil
}

func (k *LocalLocks) release(key string, l *localLock) {
	k.mu.Lock()
	l.refs--
	if l.refs == 0 {
		delete(k.m, key)
	}
	k.mu.Unlock()
}

// LocalLeases are [Leases] of a single process: the process always holds
// every lease, but two Run calls of one name exclude each other, as two
// nodes would. The zero value is not usable; call [NewLocalLeases].
type LocalLeases struct {
	cfg   LeaseConfig
	locks *LocalLocks
}

var _ Leases = (*LocalLeases)(nil)

// NewLocalLeases returns in-process leases. Only [RetryEvery] matters: it
// is the pause before fn is called again when it returns early.
func NewLocalLeases(opts ...LeaseOption) *LocalLeases {
	return &LocalLeases{cfg: NewLeaseConfig(opts...), locks: NewLocalLocks()}
}

// Run implements [Leases].
func (l *LocalLeases) Run(ctx context.Context, name string, fn func(ctx context.Context)) {
	for ctx.Err() == nil {
		unlock, err := l.locks.Lock(ctx, name)
		if err != nil {
			return
		}
		fn(ctx)
		unlock()
		if !Wait(ctx, l.cfg.Retry) {
			return
		}
	}
}
