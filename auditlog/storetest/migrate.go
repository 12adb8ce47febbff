package storetest

import (
	"context"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
)

// A Snapshot is what a populated log holds, read back: for tests that
// write a log into an older schema directly and migrate it.
type Snapshot struct {
	// Records are every record, in index order, with the fields the Log
	// set (Envelope included).
	Records []auditlog.Record
	// Hashes are every stored tree hash, by stored-hash index.
	Hashes []tlog.Hash
	// Checkpoints are the signed checkpoints, by increasing size.
	Checkpoints []auditlog.Checkpoint
	// Verifier verifies the checkpoints.
	Verifier note.Verifier
}

// NewSnapshot populates a [auditlog.MemStore] with the tamper fixture
// (40 events of tenant "acme" about envelopes env-0, env-1 and env-2, and
// some about none; checkpoints at 16, 32 and 40) and returns its
// contents.
func NewSnapshot(t *testing.T) *Snapshot {
	t.Helper()
	ctx := context.Background()
	m := auditlog.NewMemStore()
	f := Populate(t, m)
	n, err := m.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap := &Snapshot{Verifier: f.Verifier}
	if snap.Records, err = m.Records(ctx, 0, n); err != nil {
		t.Fatal(err)
	}
	idx := make([]int64, tlog.StoredHashCount(n))
	for i := range idx {
		idx[i] = int64(i)
	}
	if snap.Hashes, err = m.ReadHashes(ctx, idx); err != nil {
		t.Fatal(err)
	}
	if snap.Checkpoints, err = m.Checkpoints(ctx); err != nil {
		t.Fatal(err)
	}
	return snap
}

// CheckMigrated checks that s, a store migrated from an older schema into
// which snap was written without the Envelope field, holds snap's records
// with their envelopes filled from the leaves, answers EnvelopeRecords
// for each envelope, and still verifies against snap's last checkpoint.
func CheckMigrated(t *testing.T, s auditlog.Storage, snap *Snapshot) {
	t.Helper()
	ctx := context.Background()
	want := snap.Records
	got, err := s.Records(ctx, 0, int64(len(want))+1)
	if err != nil || len(got) != len(want) {
		t.Fatalf("Records = %d records, %v; want %d", len(got), err, len(want))
	}
	byEnvelope := map[string][]auditlog.Record{}
	for i := range want {
		if !sameRecord(got[i], want[i]) {
			t.Fatalf("migrated record %d = %+v, want %+v", i, got[i], want[i])
		}
		if e := want[i].Envelope; e != "" {
			byEnvelope[e] = append(byEnvelope[e], want[i])
		}
	}
	if len(byEnvelope) < 2 {
		t.Fatalf("the snapshot names %d envelopes; the check needs several", len(byEnvelope))
	}
	for env, recs := range byEnvelope {
		got, err := s.EnvelopeRecords(ctx, want[0].Tenant, env)
		if err != nil || len(got) != len(recs) {
			t.Fatalf("EnvelopeRecords(%q) = %d records, %v; want %d", env, len(got), err, len(recs))
		}
		for i := range recs {
			if !sameRecord(got[i], recs[i]) {
				t.Fatalf("EnvelopeRecords(%q)[%d] = %+v, want %+v", env, i, got[i], recs[i])
			}
		}
	}
	last := snap.Checkpoints[len(snap.Checkpoints)-1]
	res, err := auditlog.Verify(ctx, s, auditlog.VerifyOptions{Verifier: snap.Verifier, Origin: "signet.test/audit", Reference: &last})
	if err != nil || res.Size != int64(len(want)) {
		t.Fatalf("Verify after migration = %+v, %v", res, err)
	}
}
