package clustertest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/cluster"
)

// RunLeases runs the suite of [cluster.Leases]. nodes returns n nodes of
// one fresh deployment whose leases retry within milliseconds.
func RunLeases(t *testing.T, nodes func(t *testing.T, n int) []cluster.Leases) {
	t.Run("OneHolderAtATime", func(t *testing.T) { testOneHolder(t, nodes(t, 2)) })
	t.Run("HandoverOnStop", func(t *testing.T) { testHandover(t, nodes(t, 2), nil) })
	t.Run("NamesIndependent", func(t *testing.T) { testNames(t, nodes(t, 2)) })
}

// A KillableNode is a node whose death the test can cause.
type KillableNode struct {
	Leases cluster.Leases
	// Kill makes the node die as a crashed process would: its connections
	// end without running any more of its code.
	Kill func()
}

// RunLeaseLoss runs the tests of a lease lost by a node that dies: fn's
// context is cancelled and another node takes over. nodes returns n
// nodes of one fresh deployment whose leases retry and check within
// milliseconds.
func RunLeaseLoss(t *testing.T, nodes func(t *testing.T, n int) []KillableNode) {
	t.Run("TakeoverOnKill", func(t *testing.T) {
		ns := nodes(t, 2)
		ls := make([]cluster.Leases, len(ns))
		for i, n := range ns {
			ls[i] = n.Leases
		}
		testHandover(t, ls, func(holder int) { ns[holder].Kill() })
	})
}

// testOneHolder: two nodes contend for one lease whose fn returns after a
// while, so the lease changes hands; fn never runs on two nodes at once.
func testOneHolder(t *testing.T, nodes []cluster.Leases) {
	ctx, cancel := context.WithCancel(ctxFor(t))
	const want = 20
	var (
		inside, runs atomic.Int32
		overlap      atomic.Bool
		wg           sync.WaitGroup
		enough       = make(chan struct{})
		once         sync.Once
	)
	for _, n := range nodes {
		wg.Go(func() {
			n.Run(ctx, "one", func(fctx context.Context) {
				if inside.Add(1) != 1 {
					overlap.Store(true)
				}
				defer inside.Add(-1)
				// Long enough for the other node to try meanwhile.
				cluster.Wait(fctx, 5*time.Millisecond)
				if runs.Add(1) >= want {
					once.Do(func() { close(enough) })
				}
			})
		})
	}
	select {
	case <-enough:
	case <-ctx.Done():
		t.Errorf("fn ran %d times before the deadline, want %d", runs.Load(), want)
	}
	cancel()
	wg.Wait()
	if overlap.Load() {
		t.Fatal("fn ran on two nodes at once")
	}
}

// holders tracks which node runs fn.
type holders struct {
	started   chan int // node index, each time fn starts
	cancelled chan int // node index, each time fn's context ends
}

func newHolders() *holders {
	return &holders{started: make(chan int, 16), cancelled: make(chan int, 16)}
}

// fn returns node i's fn: it blocks until its context ends.
func (h *holders) fn(i int) func(context.Context) {
	return func(ctx context.Context) {
		h.started <- i
		<-ctx.Done()
		h.cancelled <- i
	}
}

func receive(t *testing.T, ctx context.Context, ch chan int, what string) int {
	t.Helper()
	select {
	case i := <-ch:
		return i
	case <-ctx.Done():
		t.Fatalf("%s: nothing before the deadline", what)
		return -1
	}
}

// testHandover: the holder goes away, by stopping its Run (stop == nil)
// or by dying (stop kills it); its fn's context is cancelled and the
// other node takes over. A stopped Run returns.
func testHandover(t *testing.T, nodes []cluster.Leases, kill func(holder int)) {
	ctx := ctxFor(t)
	h := newHolders()
	cancels := make([]context.CancelFunc, len(nodes))
	returned := make([]chan struct{}, len(nodes))
	for i, n := range nodes {
		nctx, cancel := context.WithCancel(ctx)
		cancels[i] = cancel
		returned[i] = make(chan struct{})
		go func() {
			defer close(returned[i])
			n.Run(nctx, "singleton", h.fn(i))
		}()
	}
	defer func() {
		for i, c := range cancels {
			c()
			<-returned[i]
		}
	}()
	first := receive(t, ctx, h.started, "first holder")
	if kill != nil {
		kill(first)
	} else {
		cancels[first]()
	}
	if got := receive(t, ctx, h.cancelled, "holder's fn cancelled"); got != first {
		t.Fatalf("fn of node %d cancelled, want the holder %d", got, first)
	}
	if kill == nil {
		select {
		case <-returned[first]:
		case <-ctx.Done():
			t.Fatal("Run did not return after its context ended")
		}
	}
	next := receive(t, ctx, h.started, "takeover")
	if next == first {
		t.Fatalf("node %d ran fn again; want the other node to take over", next)
	}
	select {
	case i := <-h.cancelled:
		t.Fatalf("fn of node %d cancelled without a cause", i)
	default:
	}
}

// testNames: leases of different names are held independently: each
// node can hold one while the other holds the other.
func testNames(t *testing.T, nodes []cluster.Leases) {
	ctx, cancel := context.WithCancel(ctxFor(t))
	defer cancel()
	h := newHolders()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() { nodes[0].Run(ctx, "a", h.fn(0)) })
	wg.Go(func() { nodes[1].Run(ctx, "b", h.fn(1)) })
	seen := map[int]bool{}
	for range 2 {
		seen[receive(t, ctx, h.started, "holder")] = true
	}
	if !seen[0] || !seen[1] {
		t.Fatalf("holders %v, want both nodes", seen)
	}
}
