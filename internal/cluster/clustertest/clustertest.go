// Package clustertest is the conformance suite of internal/cluster's
// [cluster.Locks] and [cluster.Leases]: every implementation runs it,
// with "nodes" that are, for the in-process implementation, one shared
// value, and for PostgreSQL, separate pools on one database.
package clustertest

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/cluster"
)

// patience bounds every wait of the suite for something that must happen
// (a lock granted, a lease taken over); reaching it fails the test.
const patience = 60 * time.Second

// RunLocks runs the suite of [cluster.Locks]. nodes returns n nodes of
// one fresh deployment, which the test may use until it ends.
func RunLocks(t *testing.T, nodes func(t *testing.T, n int) []cluster.Locks) {
	t.Run("MutualExclusion", func(t *testing.T) { testExclusion(t, nodes(t, 2)) })
	t.Run("KeysIndependent", func(t *testing.T) { testKeysIndependent(t, nodes(t, 2)) })
	t.Run("CancelWhileWaiting", func(t *testing.T) { testCancel(t, nodes(t, 2)) })
	t.Run("UnlockIdempotent", func(t *testing.T) { testUnlockIdempotent(t, nodes(t, 2)) })
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), patience)
	t.Cleanup(cancel)
	return ctx
}

// testExclusion: goroutines on every node increment one plain counter
// under the lock, with a yield between the read and the write; a lost
// update or two holders at once fail the test.
func testExclusion(t *testing.T, nodes []cluster.Locks) {
	ctx := ctxFor(t)
	const perNode, rounds = 4, 25
	var (
		counter int // no atomics: the lock alone protects it
		inside  atomic.Int32
		overlap atomic.Bool
		wg      sync.WaitGroup
		errs    = make(chan error, len(nodes)*perNode)
	)
	for _, n := range nodes {
		for range perNode {
			wg.Go(func() {
				for range rounds {
					unlock, err := n.Lock(ctx, "counter")
					if err != nil {
						errs <- err
						return
					}
					if inside.Add(1) != 1 {
						overlap.Store(true)
					}
					v := counter
					// A critical section long enough for a second
					// holder to be caught inside it.
					time.Sleep(200 * time.Microsecond)
					runtime.Gosched()
					counter = v + 1
					inside.Add(-1)
					unlock()
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if overlap.Load() {
		t.Error("two holders of one key at once")
	}
	if want := len(nodes) * perNode * rounds; counter != want {
		t.Fatalf("counter %d, want %d: updates were lost", counter, want)
	}
}

// testKeysIndependent: a held key does not block another key, on the same
// node or another.
func testKeysIndependent(t *testing.T, nodes []cluster.Locks) {
	ctx := ctxFor(t)
	unlockA, err := nodes[0].Lock(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	defer unlockA()
	for i, n := range nodes {
		unlock, err := n.Lock(ctx, "b")
		if err != nil {
			t.Fatalf("node %d: lock b while a is held: %v", i, err)
		}
		unlock()
	}
}

// testCancel: a waiter whose context ends returns the context's error and
// holds nothing; the holder keeps the lock, and once it unlocks every
// node can take the key again.
func testCancel(t *testing.T, nodes []cluster.Locks) {
	ctx := ctxFor(t)
	unlock, err := nodes[0].Lock(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock() // on failure; unlock is idempotent
	for i, n := range nodes {
		wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		u, err := n.Lock(wctx, "k")
		cancel()
		if err == nil {
			u()
			t.Fatalf("node %d took a held lock", i)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("node %d: %v, want the context's error", i, err)
		}
		// A cancel before the call returns at once, held or not.
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := n.Lock(cctx, "free"); !errors.Is(err, context.Canceled) {
			t.Fatalf("node %d: lock with a cancelled context: %v, want context.Canceled", i, err)
		}
	}
	unlock()
	for round := range 2 {
		for i, n := range nodes {
			u, err := n.Lock(ctx, "k")
			if err != nil {
				t.Fatalf("round %d, node %d: lock after the cancelled waits: %v", round, i, err)
			}
			u()
		}
	}
}

// testUnlockIdempotent: a second unlock does nothing, even when another
// holder has taken the key in between.
func testUnlockIdempotent(t *testing.T, nodes []cluster.Locks) {
	ctx := ctxFor(t)
	unlock, err := nodes[0].Lock(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	unlock()
	unlock()
	other, err := nodes[1].Lock(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	defer other()
	unlock() // must not release the other holder's lock
	for i, n := range nodes {
		wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		u, err := n.Lock(wctx, "k")
		cancel()
		if err == nil {
			u()
			t.Fatalf("node %d took the lock: a repeated unlock released another holder's", i)
		}
	}
}
