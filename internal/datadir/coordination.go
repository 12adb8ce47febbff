package datadir

import (
	"context"

	"github.com/signet-pki/signet/internal/cluster"
	clusterpostgres "github.com/signet-pki/signet/internal/cluster/postgres"
)

// Coordination returns the named locks and the leases of the deployment:
// in this process on SQLite, where one process serves a data directory
// (the writer lock sees to it); on PostgreSQL, advisory locks that hold
// across every node of the database (the locks hold their connections in
// a pool of their own, so that requests waiting for a lock never starve
// the stores of connections; the leases take theirs out of the
// database's pool).
func (d *Dir) Coordination(ctx context.Context) (cluster.Locks, cluster.Leases, error) {
	if d.closed {
		return nil, nil, errClosed
	}
	if !d.Postgres() {
		return cluster.NewLocalLocks(), cluster.NewLocalLeases(), nil
	}
	pool, err := d.database(ctx)
	if err != nil {
		return nil, nil, err
	}
	locks := clusterpostgres.NewLocks(pool)
	d.onClose(func() error { locks.Close(); return nil })
	return locks, clusterpostgres.NewLeases(pool), nil
}
