package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/cluster"
	"github.com/signet-pki/signet/internal/cluster/clustertest"
	clusterpostgres "github.com/signet-pki/signet/internal/cluster/postgres"
	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// deployment is a fresh database with n nodes: pools of the application
// role, each under its own application_name so that a test can end one
// node's sessions.
type deployment struct {
	owner *pgxpool.Pool
	nodes []*pgxpool.Pool
	names []string
}

func newDeployment(t *testing.T, n int) *deployment {
	t.Helper()
	ownerURL, appURL := pgtest.NewDatabase(t)
	d := &deployment{owner: open(t, ownerURL)}
	tag := fmt.Sprintf("%p", d)
	for i := range n {
		name := fmt.Sprintf("signet-node-%d-%s", i, tag)
		sep := "?"
		if strings.Contains(appURL, "?") {
			sep = "&"
		}
		d.nodes = append(d.nodes, open(t, appURL+sep+"application_name="+name))
		d.names = append(d.names, name)
	}
	return d
}

func open(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	p, err := pgdb.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() { once.Do(p.Close) })
	return p
}

// kill ends every session of node i, as the crash of its process would,
// and closes its pool.
func (d *deployment) kill(t *testing.T, i int) {
	_, err := d.owner.Exec(context.Background(),
		`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, d.names[i])
	if err != nil {
		t.Errorf("kill node %d: %v", i, err)
	}
	d.nodes[i].Close()
}

// advisoryLocks counts the advisory locks granted in the database.
func (d *deployment) advisoryLocks(t *testing.T) int {
	t.Helper()
	var n int
	if err := d.owner.QueryRow(context.Background(),
		`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLocks(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []clusterpostgres.LockOption
	}{
		{"default", nil},
		{"two connections", []clusterpostgres.LockOption{clusterpostgres.MaxHeld(2)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clustertest.RunLocks(t, func(t *testing.T, n int) []cluster.Locks {
				d := newDeployment(t, n)
				out := make([]cluster.Locks, n)
				for i, p := range d.nodes {
					l := clusterpostgres.NewLocks(p, tc.opts...)
					t.Cleanup(l.Close)
					out[i] = l
				}
				return out
			})
		})
	}
}

func leaseOpts() []cluster.LeaseOption {
	return []cluster.LeaseOption{cluster.RetryEvery(5 * time.Millisecond), cluster.CheckEvery(20 * time.Millisecond)}
}

func TestLeases(t *testing.T) {
	clustertest.RunLeases(t, func(t *testing.T, n int) []cluster.Leases {
		d := newDeployment(t, n)
		out := make([]cluster.Leases, n)
		for i, p := range d.nodes {
			out[i] = clusterpostgres.NewLeases(p, leaseOpts()...)
		}
		return out
	})
}

func TestLeaseLoss(t *testing.T) {
	clustertest.RunLeaseLoss(t, func(t *testing.T, n int) []clustertest.KillableNode {
		d := newDeployment(t, n)
		out := make([]clustertest.KillableNode, n)
		for i, p := range d.nodes {
			out[i] = clustertest.KillableNode{
				Leases: clusterpostgres.NewLeases(p, leaseOpts()...),
				Kill:   func() { d.kill(t, i) },
			}
		}
		return out
	})
}

// TestLocksLeaveNothingHeld: after cancelled waits and unlocks, no
// advisory lock stays granted in the database, and the pool still works:
// no connection went back to it holding a lock.
func TestLocksLeaveNothingHeld(t *testing.T) {
	d := newDeployment(t, 2)
	ctx := t.Context()
	locks := []*clusterpostgres.Locks{clusterpostgres.NewLocks(d.nodes[0]), clusterpostgres.NewLocks(d.nodes[1])}
	for _, l := range locks {
		defer l.Close()
	}
	unlock, err := locks[0].Lock(ctx, "doc")
	if err != nil {
		t.Fatal(err)
	}
	if n := d.advisoryLocks(t); n != 1 {
		t.Fatalf("%d advisory locks granted while one is held", n)
	}
	for range 3 {
		wctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		if u, err := locks[1].Lock(wctx, "doc"); err == nil {
			u()
			t.Fatal("took a held lock")
		}
		cancel()
	}
	unlock()
	// The cancelled waiters' sessions were ended; the one that the
	// server may still have queued drops the lock as soon as it is
	// granted, so wait for the count to reach zero.
	deadline := time.Now().Add(30 * time.Second)
	for d.advisoryLocks(t) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d advisory locks still granted after every unlock", d.advisoryLocks(t))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Every connection of both pools is clean: each can take and give
	// back a lock of its own.
	for i, l := range locks {
		u, err := l.Lock(ctx, "doc")
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		u()
	}
	if n := d.advisoryLocks(t); n != 0 {
		t.Fatalf("%d advisory locks granted after every unlock", n)
	}
}

// TestLocksKeepPoolUsable: holders of more keys at once than the pool
// has connections leave the pool to the work done under the locks, so
// that work does not wait forever for a connection.
func TestLocksKeepPoolUsable(t *testing.T) {
	d := newDeployment(t, 1)
	pool := d.nodes[0]
	locks := clusterpostgres.NewLocks(pool)
	defer locks.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	const holders = 16
	var wg sync.WaitGroup
	errs := make(chan error, holders)
	for i := range holders {
		wg.Go(func() {
			unlock, err := locks.Lock(ctx, fmt.Sprintf("doc-%d", i))
			if err != nil {
				errs <- err
				return
			}
			defer unlock()
			// The work under the lock needs connections of the same pool.
			for range 3 {
				if _, err := pool.Exec(ctx, "SELECT 1"); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestLeaseConnectionOutsidePool: a held lease does not take a connection
// of the pool's capacity.
func TestLeaseConnectionOutsidePool(t *testing.T) {
	d := newDeployment(t, 1)
	pool := d.nodes[0]
	leases := clusterpostgres.NewLeases(pool, leaseOpts()...)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	const n = 8 // more leases than the pool has connections
	started := make(chan int, n)
	for i := range n {
		go leases.Run(ctx, fmt.Sprintf("job-%d", i), func(ctx context.Context) {
			started <- i
			<-ctx.Done()
		})
	}
	deadline := time.After(60 * time.Second)
	for seen := map[int]bool{}; len(seen) < n; {
		select {
		case i := <-started:
			seen[i] = true
		case <-deadline:
			t.Fatal("not every lease was taken")
		}
	}
	if _, err := pool.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	// On a loaded machine a lease whose check was late is given up and
	// taken again; every lease is held again soon after.
	for got := d.advisoryLocks(t); got != n; got = d.advisoryLocks(t) {
		select {
		case <-deadline:
			t.Fatalf("%d advisory locks granted, want %d leases", got, n)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if acquired := pool.Stat().AcquiredConns(); acquired != 0 {
		t.Fatalf("%d connections of the pool acquired while only leases are held", acquired)
	}
}
