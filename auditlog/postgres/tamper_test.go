package postgres

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/storetest"
)

// tamperer plays the malicious DBA: it rewrites rows through the owner's
// connection, which the application role could not do
// (TestAppRolePrivileges).
type tamperer struct {
	mu     sync.Mutex
	owners map[*Store]string // store → owner URL
}

// shift moves indexes out of the way of a primary-key check during
// renumbering.
const shift = 1_000_000_000

func (tm *tamperer) open(t *testing.T) auditlog.Storage {
	s, owner := openTemp(t)
	tm.mu.Lock()
	tm.owners[s] = owner
	tm.mu.Unlock()
	return s
}

// exec runs q with args through a new owner connection.
func (tm *tamperer) exec(t *testing.T, s auditlog.Storage, q string, args ...any) {
	t.Helper()
	tm.mu.Lock()
	owner := tm.owners[s.(*Store)]
	tm.mu.Unlock()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func (tm *tamperer) SetLeaf(t *testing.T, s auditlog.Storage, index int64, leaf []byte) {
	tm.exec(t, s, "UPDATE records SET leaf = $2 WHERE idx = $1", index, leaf)
}

func (tm *tamperer) DeleteRecord(t *testing.T, s auditlog.Storage, index int64) {
	tm.exec(t, s, "DELETE FROM records WHERE idx = $1", index)
}

func (tm *tamperer) InsertRecord(t *testing.T, s auditlog.Storage, r auditlog.Record) {
	tm.exec(t, s, "UPDATE records SET idx = idx + $2 + 1 WHERE idx >= $1", r.Index, int64(shift))
	tm.exec(t, s, "UPDATE records SET idx = idx - $1 WHERE idx >= $1", int64(shift))
	tn, err := toNanos(r.Time)
	if err != nil {
		t.Fatal(err)
	}
	tm.exec(t, s, "INSERT INTO records (idx, id, tenant, type, envelope, time_ns, leaf, sealed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		r.Index, r.ID, r.Tenant, r.Type, r.Envelope, tn, r.Leaf, r.Sealed)
}

func (tm *tamperer) SetEnvelope(t *testing.T, s auditlog.Storage, index int64, envelope string) {
	tm.exec(t, s, "UPDATE records SET envelope = $2 WHERE idx = $1", index, envelope)
}

func (tm *tamperer) SwapRecords(t *testing.T, s auditlog.Storage, i, j int64) {
	// Renumber i to a free index, j to i, then the former i to j.
	tm.exec(t, s, "UPDATE records SET idx = $2 WHERE idx = $1", i, int64(2*shift))
	tm.exec(t, s, "UPDATE records SET idx = $2 WHERE idx = $1", j, i)
	tm.exec(t, s, "UPDATE records SET idx = $2 WHERE idx = $1", int64(2*shift), j)
}

func (tm *tamperer) Truncate(t *testing.T, s auditlog.Storage, size int64) {
	tm.exec(t, s, "DELETE FROM records WHERE idx >= $1", size)
	tm.exec(t, s, "DELETE FROM hashes WHERE idx >= $1", tlog.StoredHashCount(size))
}

func (tm *tamperer) Rollback(t *testing.T, s auditlog.Storage, size int64) {
	tm.Truncate(t, s, size)
	tm.exec(t, s, "DELETE FROM checkpoints WHERE size > $1", size)
	tm.exec(t, s, "DELETE FROM anchors WHERE size > $1", size)
}

func TestTamper(t *testing.T) {
	tm := &tamperer{owners: map[*Store]string{}}
	storetest.RunTamper(t, tm.open, tm)
}
