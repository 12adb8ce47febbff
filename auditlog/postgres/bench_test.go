package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/internal/logbench"
	"github.com/signet-pki/signet/internal/pgtest"
)

// BenchmarkAppend measures durable appends/s through auditlog.Log with 1, 8
// and 64 concurrent appenders on the throwaway cluster (fsync on,
// synchronous_commit on; BENCHMARKS.md):
//
//	go test -run '^$' -bench Append -benchtime 20000x ./auditlog/postgres
func BenchmarkAppend(b *testing.B) {
	for _, n := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("appenders=%d", n), func(b *testing.B) {
			s, _ := openTemp(b)
			logbench.Appends(b, s, n)
		})
	}
}

// BenchmarkEnvelopeRecords reads the 60 events of one envelope, spread
// through a PostgreSQL log of 1,000,000 events (four tenants, 50,000
// other envelopes; logbench.FillEnvelopes) on the throwaway cluster,
// three ways: "index" is Store.EnvelopeRecords (one range scan of
// records_envelope); "scan" is the previous implementation (read every
// record of the tenant and parse its leaf); "scan-read" only reads the
// tenant's leaves, the floor of any method without an index. The table
// is analyzed after the load, as autovacuum would. Building the log takes
// a minute or two, once per run (in a fresh database); run it on its own:
//
//	go test -run '^$' -bench EnvelopeRecords -v ./auditlog/postgres
func BenchmarkEnvelopeRecords(b *testing.B) {
	const n = 1_000_000
	ctx := context.Background()
	s, owner := openTemp(b)
	env := logbench.FillEnvelopes(b, s, n)
	conn, err := pgx.Connect(ctx, owner)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "ANALYZE records"); err != nil {
		b.Fatal(err)
	}
	rows, err := s.pool.Query(ctx, "EXPLAIN "+envelopeQuery, env.Tenant, env.Envelope)
	if err != nil {
		b.Fatal(err)
	}
	plan, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("plan:\n%s", strings.Join(plan, "\n"))
	var table, index int64
	if err := conn.QueryRow(ctx, "SELECT pg_table_size('records'), pg_relation_size('records_envelope')").Scan(&table, &index); err != nil {
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
	rows, err := s.pool.Query(ctx, "SELECT "+recordColumns+" FROM records WHERE tenant = $1 ORDER BY idx", tenant)
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
	rows, err := s.pool.Query(ctx, "SELECT leaf FROM records WHERE tenant = $1", tenant)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		_ = rows.RawValues()
		n++
	}
	return n, rows.Err()
}

// BenchmarkMigrateEnvelope measures audit migration 2 (the envelope
// column filled from the leaves, then indexed) through Migrate as the
// owner, on a log of 1,000,000 events (logbench.FillEnvelopes) taken back
// to version 1 (index and column dropped, table rewritten by VACUUM FULL)
// before each timed run:
//
//	go test -run '^$' -bench MigrateEnvelope -v ./auditlog/postgres
func BenchmarkMigrateEnvelope(b *testing.B) {
	ctx := context.Background()
	s, owner := openTemp(b)
	env := logbench.FillEnvelopes(b, s, 1_000_000)
	conn, err := pgx.Connect(ctx, owner)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for _, q := range []string{"DROP INDEX records_envelope", "ALTER TABLE records DROP COLUMN envelope", "DELETE FROM schema_migrations WHERE version = 2", "VACUUM FULL records"} {
			if _, err := conn.Exec(ctx, q); err != nil {
				b.Fatalf("%s: %v", q, err)
			}
		}
		s.pool.Reset() // statements prepared against the dropped column
		b.StartTimer()
		if err := Migrate(ctx, owner, pgtest.AppRole); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		recs, err := s.EnvelopeRecords(ctx, env.Tenant, env.Envelope)
		if err != nil || len(recs) != env.Events {
			b.Fatalf("after the migration: %d records, %v; want %d", len(recs), err, env.Events)
		}
		b.StartTimer()
	}
}
