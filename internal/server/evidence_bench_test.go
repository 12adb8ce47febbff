package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
	auditsqlite "github.com/signet-pki/signet/auditlog/sqlite"
	"github.com/signet-pki/signet/evidence"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/server"
)

// benchLogSize is the number of events in the log the bundle is made
// from (BENCHMARKS.md).
const benchLogSize = 1_000_000

// fillAuditLog writes n events of other tenants into a new audit.db at
// path, with their Merkle tree, straight through the storage (hashes
// computed in memory) so that the setup takes seconds.
func fillAuditLog(b *testing.B, path string, n int) {
	b.Helper()
	ctx := context.Background()
	st, err := auditsqlite.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	hashes := make([]tlog.Hash, 0, 2*n)
	hr := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = hashes[x]
		}
		return out, nil
	})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var recs []auditlog.Record
	var entries []auditlog.HashEntry
	for i := 0; i < n; i++ {
		tenant := fmt.Sprintf("ten_bench%d", i%4)
		id := fmt.Sprintf("0190aaaa-0000-7000-8000-%012d", i)
		at := t0.Add(time.Duration(i) * time.Millisecond)
		leaf := fmt.Appendf(nil, `{"actor":{"id":"rcpt-%d","kind":"recipient"},"id":%q,"index":%d,"outcome":"success","subject":{"envelope_id":"env_bench%d"},"tenant":%q,"time":%q,"type":"signature.created","v":1}`,
			i, id, i, i/20, tenant, at.Format(time.RFC3339Nano))
		hs, err := tlog.StoredHashes(int64(i), leaf, hr)
		if err != nil {
			b.Fatal(err)
		}
		for _, h := range hs {
			entries = append(entries, auditlog.HashEntry{Index: int64(len(hashes)), Hash: h})
			hashes = append(hashes, h)
		}
		recs = append(recs, auditlog.Record{Index: int64(i), ID: id, Tenant: tenant, Type: "signature.created", Time: at, Leaf: leaf})
		if len(recs) == 20000 || i == n-1 {
			if err := st.Append(ctx, recs, entries); err != nil {
				b.Fatal(err)
			}
			recs, entries = recs[:0], entries[:0]
		}
	}
}

// BenchmarkEvidenceBundle measures the bundle of a completed envelope
// with ten recipients in a log of a million events: made by the server
// (GET /v1/envelopes/{id}/evidence, over HTTPS) and verified offline
// (evidence.Verify).
func BenchmarkEvidenceBundle(b *testing.B) {
	ctx := context.Background()
	dir := filepath.Join(b.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	began := time.Now()
	fillAuditLog(b, filepath.Join(dir, "audit.db"), benchLogSize)
	b.Logf("filled the audit log with %d events in %s", benchLogSize, time.Since(began).Round(time.Millisecond))
	// Ten signers from one address: past the signing routes' per-IP limit.
	many := api.Rate{PerSecond: 1000, Burst: 1000}
	r := start(b, dir, func(c *server.Config) {
		c.RateLimits = &api.RateLimits{PerIP: many, PerKey: many, SensitiveIP: many, SensitiveKey: many}
	})
	p := r.party(ctx, "Bench Corp")
	var signers [][2]string
	for i := 0; i < 10; i++ {
		signers = append(signers, [2]string{fmt.Sprintf("Signer %d", i), fmt.Sprintf("signer%d@bench.example", i)})
	}
	e, _ := p.envelope(b, ctx, "Bench agreement", signers, true)
	r.signAll(ctx, signers)
	if err := r.srv.PublishCheckpoint(ctx); err != nil {
		b.Fatal(err)
	}
	var bundle []byte
	b.Run("make", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			res := r.evidence(p.sender.Authorization, e.ID)
			if res.status != http.StatusOK {
				b.Fatalf("%d %s", res.status, res.body)
			}
			bundle = res.body
		}
		b.ReportMetric(float64(len(bundle)), "bytes/bundle")
	})
	// The physical floor of any verification: hashing the bundle once.
	b.Run("floor-sha256", func(b *testing.B) {
		b.SetBytes(int64(len(bundle)))
		for i := 0; i < b.N; i++ {
			sha256.Sum256(bundle)
		}
	})
	b.Run("verify", func(b *testing.B) {
		roots := r.roots()
		for i := 0; i < b.N; i++ {
			rep, err := evidence.Verify(bytes.NewReader(bundle), int64(len(bundle)), evidence.VerifyOptions{Roots: roots})
			if err != nil {
				b.Fatal(err)
			}
			if !rep.Valid() {
				b.Fatalf("%s %s %v", rep.Indication, rep.SubIndication, rep.Findings)
			}
		}
	})
}
