package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/internal/logbench"
	"github.com/signet-pki/signet/auditlog/storetest"
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
