package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/storetest"
	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/internal/pgtest"
)

// openV1 creates a database with the audit log's schema version 1 only, as
// an older release left it, and returns the owner's connection and the
// owner and application URLs.
func openV1(t *testing.T) (conn *pgx.Conn, owner, app string) {
	t.Helper()
	ctx := context.Background()
	owner, app = pgtest.NewDatabase(t)
	pool, err := pgdb.Open(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := pgdb.Migrate(ctx, pool, Migrations[:1]); err != nil {
		t.Fatal(err)
	}
	if conn, err = pgx.Connect(ctx, owner); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn, owner, app
}

// insertV1 writes a record into a version-1 records table.
func insertV1(t *testing.T, conn *pgx.Conn, r auditlog.Record) {
	t.Helper()
	tn, err := toNanos(r.Time)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(context.Background(),
		"INSERT INTO records (idx, id, tenant, type, time_ns, leaf, sealed) VALUES ($1, $2, $3, $4, $5, $6, $7)",
		r.Index, r.ID, r.Tenant, r.Type, tn, r.Leaf, r.Sealed); err != nil {
		t.Fatal(err)
	}
}

// migrateOpen migrates the database as the owner and opens it as the
// application role.
func migrateOpen(t *testing.T, owner, app string) *Store {
	t.Helper()
	ctx := context.Background()
	if err := Migrate(ctx, owner, pgtest.AppRole); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	s, err := Open(ctx, app)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestMigrateEnvelope migrates a version-1 log with records to version 2:
// the envelope column is filled from the leaves, EnvelopeRecords answers
// from the index (in a generic plan too), the log still verifies, and the
// application role still may only read and insert.
func TestMigrateEnvelope(t *testing.T) {
	ctx := context.Background()
	conn, owner, app := openV1(t)
	snap := storetest.NewSnapshot(t)
	for _, r := range snap.Records {
		insertV1(t, conn, r)
	}
	for i, h := range snap.Hashes {
		if _, err := conn.Exec(ctx, "INSERT INTO hashes (idx, hash) VALUES ($1, $2)", i, h[:]); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range snap.Checkpoints {
		tn, _ := toNanos(c.Time)
		if _, err := conn.Exec(ctx, "INSERT INTO checkpoints (size, note, time_ns) VALUES ($1, $2, $3)", c.Size, c.Note, tn); err != nil {
			t.Fatal(err)
		}
	}
	s := migrateOpen(t, owner, app)
	storetest.CheckMigrated(t, s, snap)

	// The planner can use the partial index for the store's query in a
	// generic plan (the table is too small for it to prefer the index on
	// its own, hence enable_seqscan off).
	var plan []string
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, q := range []string{"SET LOCAL enable_seqscan = off", "SET LOCAL plan_cache_mode = force_generic_plan", "PREPARE env AS " + envelopeQuery} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		rows, err := tx.Query(ctx, "EXPLAIN EXECUTE env('acme', 'env-1')")
		if err != nil {
			return err
		}
		plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(plan, "\n"), "records_envelope") {
		t.Fatalf("EnvelopeRecords plan does not use the index:\n%s", strings.Join(plan, "\n"))
	}
	for _, q := range []string{"UPDATE records SET envelope = 'x'", "DELETE FROM records"} {
		_, err := s.pool.Exec(ctx, q)
		if err == nil || !strings.Contains(err.Error(), "42501") {
			t.Fatalf("%s as the application role after migration: %v, want permission denied", q, err)
		}
	}
}

// TestMigrateEnvelopeOddLeaves checks that leaves the migration cannot
// read an envelope from (not JSON, not UTF-8, a non-string envelope_id)
// get none instead of failing the migration; verification reports such
// leaves.
func TestMigrateEnvelopeOddLeaves(t *testing.T) {
	conn, owner, app := openV1(t)
	leaves := []string{
		`not json`,
		"\xff\xfe",
		`{"subject":{"envelope_id":42}}`,
		`{"subject":"env-1"}`,
		`{"subject":{"envelope_id":"env-\u00e9"}}`,
	}
	for i, l := range leaves {
		insertV1(t, conn, auditlog.Record{Index: int64(i), ID: fmt.Sprintf("e%d", i), Type: "t", Leaf: []byte(l)})
	}
	s := migrateOpen(t, owner, app)
	recs, err := s.Records(context.Background(), 0, int64(len(leaves)))
	if err != nil || len(recs) != len(leaves) {
		t.Fatalf("Records = %d, %v", len(recs), err)
	}
	want := []string{"", "", "", "", "env-\u00e9"}
	for i, r := range recs {
		if r.Envelope != want[i] {
			t.Errorf("record %d (%q): envelope %q, want %q", i, leaves[i], r.Envelope, want[i])
		}
	}
}
