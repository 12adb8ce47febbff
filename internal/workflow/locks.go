package workflow

import (
	"context"

	"github.com/signet-pki/signet/internal/cluster"
)

var _ Locker = (*cluster.LocalLocks)(nil)

// A Locker takes named locks. Lock waits until the lock named key is free
// or ctx is done, and returns the function that releases it. The
// workflow's keys are "envelope/<id>" and "document/<id>"; other users of
// the same Locker keep to their own prefixes.
//
// Every Signet node serving one database MUST share one Locker (locks
// held in the database); [cluster.LocalLocks] hold within one process
// only.
type Locker interface {
	Lock(ctx context.Context, key string) (unlock func(), err error)
}

// Lock keys of the workflow.
func envelopeLockKey(id string) string { return "envelope/" + id }
func documentLockKey(id string) string { return "document/" + id }

type heldDocsKey struct{}

// LockDocument takes the lock of document id, which serializes the
// incremental updates (signatures, seal) of that document across the
// envelope's recipients, through [Config.Locks] (and so across the nodes
// that share it). It returns a context that records the lock as held
// (LockDocument with that context returns at once, so a [Completer]
// called under the lock may call it again) and the function that
// releases it. It waits until the lock is free or ctx is done.
//
// Document locks are taken before the envelope's lock, never while it is
// held, and several of them in increasing id order ([Service.Complete]
// does so).
func (s *Service) LockDocument(ctx context.Context, id string) (context.Context, func(), error) {
	held, _ := ctx.Value(heldDocsKey{}).(map[string]bool)
	if held[id] {
		return ctx, func() {}, nil
	}
	unlock, err := s.locks.Lock(ctx, documentLockKey(id))
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

// lockEnvelope takes the lock of envelope id, under which every change of
// the envelope is loaded, decided, recorded and stored (see mutate).
func (s *Service) lockEnvelope(ctx context.Context, id string) (func(), error) {
	return s.locks.Lock(ctx, envelopeLockKey(id))
}
