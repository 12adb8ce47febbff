package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/internal/logbench"
	"github.com/signet-pki/signet/auditlog/storetest"
	"github.com/signet-pki/signet/internal/sqldb"
)

// BenchmarkAppend measures durable appends/s through auditlog.Log with 1, 8
// and 64 concurrent appenders (BENCHMARKS.md):
//
//	go test -run '^$' -bench Append -benchtime 20000x ./auditlog/sqlite
func BenchmarkAppend(b *testing.B) {
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("appenders=%d", n), func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "audit.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			logbench.Appends(b, s, n)
		})
	}
}

// BenchmarkFsyncFloor measures the disk's floor for durable commits: one
// 4 KiB write plus fsync per operation, in the same temporary directory the
// append benchmark uses.
//
//	go test -run '^$' -bench FsyncFloor -benchtime 2000x ./auditlog/sqlite
func BenchmarkFsyncFloor(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "floor"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := f.WriteAt(buf, int64(i)*4096); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "fsyncs/s")
}

// BenchmarkAtMillion measures, on a SQLite log of 1,000,000 events, one
// inclusion proof (read from the stored hashes) and a full verification
// (every leaf rehashed, the tree rebuilt and compared, the checkpoint
// checked). Building the log takes a minute; run it on its own:
//
//	go test -run '^$' -bench AtMillion -benchtime 1x ./auditlog/sqlite
func BenchmarkAtMillion(b *testing.B) {
	const n = 1_000_000
	s, err := Open(filepath.Join(b.TempDir(), "audit.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.Fill(b, s, n)
	ctx := context.Background()
	signer, verifier := storetest.NewKey(b, "signet.test/audit")
	pub, err := auditlog.NewPublisher(s, auditlog.PublisherConfig{Origin: "signet.test/audit", Signer: signer})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := pub.Publish(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("inclusion-proof", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := auditlog.InclusionProof(ctx, s, int64(i*7919)%n, n); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			res, err := auditlog.Verify(ctx, s, auditlog.VerifyOptions{Verifier: verifier})
			if err != nil || res.Size != n {
				b.Fatal(res, err)
			}
		}
	})
}

// BenchmarkEnvelopeRecords reads the 60 events of one envelope, spread
// through a SQLite log of 1,000,000 events (four tenants, 50,000 other
// envelopes; logbench.FillEnvelopes), three ways: "index" is
// Store.EnvelopeRecords (one range scan of records_envelope); "scan" is
// the previous implementation (read every record of the tenant and parse
// its leaf); "scan-read" only reads the tenant's leaves, the floor of any
// method without an index. Building the log takes a minute or two, once
// per run (in the benchmark's temporary directory); run it on its own:
//
//	go test -run '^$' -bench EnvelopeRecords -v ./auditlog/sqlite
func BenchmarkEnvelopeRecords(b *testing.B) {
	const n = 1_000_000
	s, err := Open(filepath.Join(b.TempDir(), "audit.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	env := logbench.FillEnvelopes(b, s, n)
	ctx := context.Background()
	var table, index int64
	err = s.r.QueryRowContext(ctx, `SELECT
		(SELECT SUM(pgsize) FROM dbstat WHERE name = 'records'),
		(SELECT SUM(pgsize) FROM dbstat WHERE name = 'records_envelope')`).Scan(&table, &index)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("records: %d MiB, records_envelope: %d MiB", table>>20, index>>20)
	logbench.RunEnvelopeLookups(b, s, env,
		func(ctx context.Context, tenant, envelope string) ([]auditlog.Record, error) {
			return scanEnvelope(ctx, s, tenant, envelope)
		},
		func(ctx context.Context, tenant string) (int, error) { return scanLeaves(ctx, s, tenant) })
}

// scanEnvelope is EnvelopeRecords without the index: every record of the
// tenant, its leaf parsed.
func scanEnvelope(ctx context.Context, s *Store, tenant, envelopeID string) ([]auditlog.Record, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+recordColumns+" FROM records WHERE tenant = ? ORDER BY idx", tenant)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []auditlog.Record{}
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		env, err := auditlog.LeafEnvelope(r.Leaf)
		if err != nil {
			return nil, err
		}
		if env == envelopeID {
			out = append(out, r)
		}
	}
	return out, rows.Err()
}

// scanLeaves reads the leaf of every record of the tenant and returns how
// many there are.
func scanLeaves(ctx context.Context, s *Store, tenant string) (int, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT leaf FROM records WHERE tenant = ?", tenant)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	var leaf sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&leaf); err != nil {
			return 0, err
		}
		n++
	}
	return n, rows.Err()
}

// BenchmarkMigrateEnvelope measures audit migration 2 (the envelope
// column filled from the leaves, then indexed) on a log of 1,000,000
// events (logbench.FillEnvelopes) taken back to version 1 (index and
// column dropped, which rewrites the table) before each timed Open:
//
//	go test -run '^$' -bench MigrateEnvelope -v ./auditlog/sqlite
func BenchmarkMigrateEnvelope(b *testing.B) {
	path := filepath.Join(b.TempDir(), "audit.db")
	s, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	env := logbench.FillEnvelopes(b, s, 1_000_000)
	s.Close()
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		db, err := sqldb.OpenDB(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		for _, q := range []string{"DROP INDEX records_envelope", "ALTER TABLE records DROP COLUMN envelope", "DELETE FROM schema_migrations WHERE version = 2"} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				b.Fatalf("%s: %v", q, err)
			}
		}
		db.Close()
		b.StartTimer()
		s, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		recs, err := s.EnvelopeRecords(ctx, env.Tenant, env.Envelope)
		s.Close()
		if err != nil || len(recs) != env.Events {
			b.Fatalf("after the migration: %d records, %v; want %d", len(recs), err, env.Events)
		}
		b.StartTimer()
	}
}
