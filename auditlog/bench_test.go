package auditlog_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/signet-pki/signet/auditlog"
)

// BenchmarkAppend measures appends/s through the sequencer with 1, 8 and
// 64 concurrent appenders on the memory store.
func BenchmarkAppend(b *testing.B) {
	for _, workers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("appenders=%d", workers), func(b *testing.B) {
			l := newLog(b, auditlog.NewMemStore(), auditlog.Config{})
			ctx := context.Background()
			b.ResetTimer()
			var wg sync.WaitGroup
			per := (b.N + workers - 1) / workers
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < per; i++ {
						if _, err := l.Append(ctx, event(i)); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(per*workers)/b.Elapsed().Seconds(), "appends/s")
		})
	}
}

var (
	millionOnce     sync.Once
	millionStore    *auditlog.MemStore
	millionVerifier note.Verifier
)

// million returns a log of 1M events with one checkpoint over it, built
// once per process (benchmarks run their function more than once), and the
// checkpoint's verifier key.
func million(b *testing.B) (*auditlog.MemStore, note.Verifier) {
	millionOnce.Do(func() {
		millionStore = storeLeaves(b, validLeaves(1_000_000))
		signer, verifier := newKey(b)
		pub, err := auditlog.NewPublisher(millionStore, auditlog.PublisherConfig{Origin: origin, Signer: signer})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pub.Publish(context.Background()); err != nil {
			b.Fatal(err)
		}
		millionVerifier = verifier
	})
	return millionStore, millionVerifier
}

// BenchmarkInclusionProof1M measures one inclusion proof at 1M events.
func BenchmarkInclusionProof1M(b *testing.B) {
	s, _ := million(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := auditlog.InclusionProof(ctx, s, int64(i*7919)%1_000_000, 1_000_000); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify1M measures full verification of 1M events.
func BenchmarkVerify1M(b *testing.B) {
	s, verifier := million(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := auditlog.Verify(ctx, s, auditlog.VerifyOptions{Verifier: verifier})
		if err != nil || res.Size != 1_000_000 {
			b.Fatal(res, err)
		}
	}
}
