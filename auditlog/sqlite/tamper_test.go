package sqlite

import (
	"context"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/storetest"
)

// tamperer rewrites rows with plain SQL on the database file, as anyone
// with write access to it could.
type tamperer struct{}

// shift moves indexes out of the way of a primary-key check during
// renumbering.
const shift = 1_000_000_000

func (tamperer) exec(t *testing.T, s auditlog.Storage, stmts ...string) func(args ...any) {
	t.Helper()
	db := s.(*Store).w
	return func(args ...any) {
		t.Helper()
		for _, q := range stmts {
			if _, err := db.ExecContext(context.Background(), q, args...); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
}

func (tm tamperer) SetLeaf(t *testing.T, s auditlog.Storage, index int64, leaf []byte) {
	tm.exec(t, s, "UPDATE records SET leaf = ?2 WHERE idx = ?1")(index, leaf)
}

func (tm tamperer) DeleteRecord(t *testing.T, s auditlog.Storage, index int64) {
	tm.exec(t, s, "DELETE FROM records WHERE idx = ?1")(index)
}

func (tm tamperer) InsertRecord(t *testing.T, s auditlog.Storage, r auditlog.Record) {
	tm.exec(t, s,
		"UPDATE records SET idx = idx + ?2 + 1 WHERE idx >= ?1",
		"UPDATE records SET idx = idx - ?2 WHERE idx >= ?2")(r.Index, shift)
	tn, err := toNanos(r.Time)
	if err != nil {
		t.Fatal(err)
	}
	tm.exec(t, s, "INSERT INTO records (idx, id, tenant, type, envelope, time_ns, leaf, sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")(
		r.Index, r.ID, r.Tenant, r.Type, r.Envelope, tn, r.Leaf, r.Sealed)
}

func (tm tamperer) SetEnvelope(t *testing.T, s auditlog.Storage, index int64, envelope string) {
	tm.exec(t, s, "UPDATE records SET envelope = ?2 WHERE idx = ?1")(index, envelope)
}

func (tm tamperer) SwapRecords(t *testing.T, s auditlog.Storage, i, j int64) {
	// Renumber i to a free index, j to i, then the former i to j.
	tm.exec(t, s,
		"UPDATE records SET idx = ?3 WHERE idx = ?1",
		"UPDATE records SET idx = ?1 WHERE idx = ?2",
		"UPDATE records SET idx = ?2 WHERE idx = ?3")(i, j, shift*2)
}

func (tm tamperer) Truncate(t *testing.T, s auditlog.Storage, size int64) {
	tm.exec(t, s,
		"DELETE FROM records WHERE idx >= ?1",
		"DELETE FROM hashes WHERE idx >= ?2")(size, tlog.StoredHashCount(size))
}

func (tm tamperer) Rollback(t *testing.T, s auditlog.Storage, size int64) {
	tm.Truncate(t, s, size)
	tm.exec(t, s,
		"DELETE FROM checkpoints WHERE size > ?1",
		"DELETE FROM anchors WHERE size > ?1")(size)
}

func TestTamper(t *testing.T) {
	storetest.RunTamper(t, func(t *testing.T) auditlog.Storage { return openTemp(t) }, tamperer{})
}
