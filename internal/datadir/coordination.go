package datadir

import (
	"context"
	"fmt"

	"github.com/signet-pki/signet/internal/cluster"
	clusterpostgres "github.com/signet-pki/signet/internal/cluster/postgres"
	"github.com/signet-pki/signet/internal/pgdb"
)

// Connections of a node's pool for named locks: each lock held keeps
// one, and a request may hold two (a document's, then its envelope's).
const lockConns = 24

// Coordination returns the named locks and the leases of the deployment:
// in this process on SQLite, where one process serves a data directory
// (the writer lock sees to it); on PostgreSQL, advisory locks that hold
// across every node of the database, on a pool of their own so that
// requests waiting for a lock never starve the stores of connections.
func (d *Dir) Coordination(ctx context.Context) (cluster.Locks, cluster.Leases, error) {
	if d.closed {
		return nil, nil, errClosed
	}
	if !d.Postgres() {
		return cluster.NewLocalLocks(), cluster.NewLocalLeases(), nil
	}
	if _, err := d.database(ctx); err != nil {
		return nil, nil, err
	}
	pool, err := pgdb.Open(ctx, d.opts.DatabaseURL, pgdb.MaxConns(lockConns))
	if err != nil {
		return nil, nil, fmt.Errorf("datadir: database_url: %w", err)
	}
	d.onClose(func() error { pool.Close(); return nil })
	return clusterpostgres.NewLocks(pool), clusterpostgres.NewLeases(pool), nil
}
