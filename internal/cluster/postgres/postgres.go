// Package postgres coordinates the Signet nodes that share one PostgreSQL
// database through session advisory locks (pgx v5): [Locks] are named
// mutexes across nodes, [Leases] elect the one node that runs each
// singleton. Neither needs a table, a migration or a privilege: any role
// may take advisory locks, and PostgreSQL releases a session's locks when
// the session ends, so a node that dies leaves nothing held behind.
//
// A name becomes a lock key by SHA-256 of a namespace ("signet.lock" or
// "signet.lease") and the name, of which the first 8 bytes are the 64-bit
// key. Keys therefore never collide in practice with each other nor with
// the constant keys of internal/pgdb (migrations) and auditlog/postgres
// (appends).
//
// # Connections
//
// A lock is held by a connection from Lock to unlock. Those connections
// come from a pool that [Locks] keeps for them (the caller's settings, at
// most [MaxHeld] connections), so that held locks never take the
// connections the work under them needs; a node's other callers of the
// same key wait in memory, so one connection per key and node is ever in
// the database's queue. A lease is held by a connection taken out of the
// caller's pool (hijacked) for as long as the lease lasts, so holding
// leases never starves the pool either.
//
// # What a lease guarantees
//
// A holder learns that it lost its lease (its connection died, or the
// server ended the session) at its next liveness check, and only then
// cancels fn's context. If the server ended the session first, another
// node may take the lease over in that interval: a singleton must keep
// its writes safe against a brief overlap (unique keys, conditional
// inserts), as every Signet store is.
package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// closeTimeout bounds the statements run to release a lock or close a
// connection, which do not depend on the caller's context.
const closeTimeout = 10 * time.Second

// key returns the advisory lock key of name in namespace.
func key(namespace, name string) int64 {
	h := sha256.New()
	h.Write([]byte(namespace))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return int64(binary.BigEndian.Uint64(h.Sum(nil)))
}

func lockKey(k string) int64     { return key("signet.lock", k) }
func leaseKey(name string) int64 { return key("signet.lease", name) }

// discard takes c out of the pool and closes it: its session ends, and
// with it every advisory lock it held.
func discard(c *pgxpool.Conn) {
	closeConn(c.Hijack())
}

func closeConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	_ = c.Close(ctx)
}
