package workflow

import (
	"context"
	"sync"
)

// keyedLocks is a set of mutexes by key, created on demand and dropped
// when unused, whose Lock honours context cancellation.
type keyedLocks struct {
	mu sync.Mutex
	m  map[string]*keyedLock
}

type keyedLock struct {
	ch   chan struct{}
	refs int
}

func (k *keyedLocks) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyedLock{}
	}
	l := k.m[key]
	if l == nil {
		l = &keyedLock{ch: make(chan struct{}, 1)}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()
	select {
	case l.ch <- struct{}{}:
	case <-ctx.Done():
		k.release(key, l)
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-l.ch
			k.release(key, l)
		})
	}, nil
}

func (k *keyedLocks) release(key string, l *keyedLock) {
	k.mu.Lock()
	l.refs--
	if l.refs == 0 {
		delete(k.m, key)
	}
	k.mu.Unlock()
}

type heldDocsKey struct{}

// LockDocument takes the lock of document id, which serializes the
// incremental updates (signatures, seal) of that document across the
// envelope's recipients. It returns a context that records the lock as
// held (LockDocument with that context returns at once, so a [Completer]
// called under the lock may call it again) and the function that releases
// it. It waits until the lock is free or ctx is done.
//
// The lock is held in this process only; running several Signet
// processes over one database needs a shared lock (a later issue).
func (s *Service) LockDocument(ctx context.Context, id string) (context.Context, func(), error) {
	held, _ := ctx.Value(heldDocsKey{}).(map[string]bool)
	if held[id] {
		return ctx, func() {}, nil
	}
	unlock, err := s.docLocks.lock(ctx, id)
	if err != nil {
		return ctx, nil, err
	}
	next := make(map[string]bool, len(held)+1)
	for k := range held {
		next[k] = true
	}
	next[id] = true
	return context.WithValue(ctx, heldDocsKey{}, next), unlock, nil
}
