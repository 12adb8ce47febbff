package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/storetest"
	"github.com/signet-pki/signet/internal/sqldb"
)

// TestMigrate checks that migrations apply once, in order, in sets that
// share a database, and that a renamed history or a newer schema is
// refused.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	service := []sqldb.Migration{
		{Version: 100, Name: "widgets", SQL: "CREATE TABLE widgets (id INTEGER PRIMARY KEY)"},
		{Version: 101, Name: "widget names", SQL: "ALTER TABLE widgets ADD COLUMN name TEXT"},
	}
	for i := 0; i < 2; i++ { // the second run must be a no-op
		if err := sqldb.Migrate(ctx, s.w, service); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	var n int
	if err := s.w.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != len(logMigrations)+2 {
		t.Fatalf("schema_migrations has %d rows, %v; want %d", n, err, len(logMigrations)+2)
	}
	if _, err := s.w.ExecContext(ctx, "INSERT INTO widgets (id, name) VALUES (1, 'a')"); err != nil {
		t.Fatalf("migrated table: %v", err)
	}
	tests := []struct {
		name string
		ms   []sqldb.Migration
		want error
	}{
		{"renamed", []sqldb.Migration{{Version: 100, Name: "gadgets", SQL: "SELECT 1"}}, nil},
		{"gap over an applied version", []sqldb.Migration{service[0], {Version: 103, Name: "x", SQL: "SELECT 1"}}, sqldb.ErrSchemaTooNew},
		{"not increasing", []sqldb.Migration{service[1], service[0]}, nil},
		{"older release", service[:1], sqldb.ErrSchemaTooNew},
		{"broken SQL", append(service[:2:2], sqldb.Migration{Version: 102, Name: "bad", SQL: "CREATE TABLE"}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sqldb.Migrate(ctx, s.w, tt.ms)
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Migrate = %v, want an error (%v)", err, tt.want)
			}
		})
	}
	if err := s.w.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != len(logMigrations)+2 {
		t.Fatalf("a failed migration left %d rows, %v; want %d", n, err, len(logMigrations)+2)
	}
	// The audit log's own block is untouched by the service's.
	s2, err := Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	s2.Close()
}

// openV1 creates a database at path with the audit log's schema version 1
// only, as an older release left it, and returns its connection.
func openV1(t *testing.T, path string) *sql.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqldb.OpenDB(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := sqldb.Migrate(ctx, db, logMigrations[:1]); err != nil {
		t.Fatal(err)
	}
	return db
}

// insertV1 writes a record into a version-1 records table.
func insertV1(t *testing.T, db *sql.DB, r auditlog.Record) {
	t.Helper()
	tn, err := toNanos(r.Time)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO records (idx, id, tenant, type, time_ns, leaf, sealed) VALUES (?, ?, ?, ?, ?, ?, ?)",
		r.Index, r.ID, r.Tenant, r.Type, tn, r.Leaf, r.Sealed); err != nil {
		t.Fatal(err)
	}
}

// TestMigrateEnvelope migrates a version-1 log with records to version 2:
// the envelope column is filled from the leaves, EnvelopeRecords answers
// from the index, and the log still verifies.
func TestMigrateEnvelope(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	db := openV1(t, path)
	snap := storetest.NewSnapshot(t)
	for _, r := range snap.Records {
		insertV1(t, db, r)
	}
	for i, h := range snap.Hashes {
		if _, err := db.Exec("INSERT INTO hashes (idx, hash) VALUES (?, ?)", i, h[:]); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range snap.Checkpoints {
		tn, _ := toNanos(c.Time)
		if _, err := db.Exec("INSERT INTO checkpoints (size, note, time_ns) VALUES (?, ?, ?)", c.Size, c.Note, tn); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open (migrating): %v", err)
	}
	defer s.Close()
	storetest.CheckMigrated(t, s, snap)
	rows, err := s.r.Query("EXPLAIN QUERY PLAN "+envelopeQuery, "acme", "env-1")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan += detail + "; "
	}
	if !strings.Contains(plan, "USING INDEX records_envelope") {
		t.Fatalf("EnvelopeRecords plan %q does not use the index", plan)
	}
}

// TestMigrateEnvelopeOddLeaves checks that leaves the migration cannot
// read an envelope from (not JSON, not UTF-8, a non-string envelope_id)
// get none instead of failing the migration; verification reports such
// leaves.
func TestMigrateEnvelopeOddLeaves(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	db := openV1(t, path)
	leaves := []string{
		`not json`,
		"\xff\xfe",
		`{"subject":{"envelope_id":42}}`,
		`{"subject":"env-1"}`,
		`{"subject":{"envelope_id":"env-\u00e9"}}`,
	}
	for i, l := range leaves {
		insertV1(t, db, auditlog.Record{Index: int64(i), ID: fmt.Sprintf("e%d", i), Type: "t", Leaf: []byte(l)})
	}
	db.Close()
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open (migrating): %v", err)
	}
	defer s.Close()
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
