package webhook_test

import (
	"context"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/webhook"
	"github.com/signet-pki/signet/internal/webhook/webhooktest"
)

// BenchmarkDeliveries measures deliveries per second from the SQLite
// outbox to a local receiver that verifies every signature: b.N messages
// are enqueued, then delivery passes run until the receiver has them all.
func BenchmarkDeliveries(b *testing.B) {
	e := newEnv(b, func(c *webhook.Config) { c.Concurrency = 16 })
	ctx := context.Background()
	rcv := webhooktest.New("")
	defer rcv.Close()
	_, secret, err := e.svc.Create(ctx, "t1", rcv.URL(), nil, true)
	if err != nil {
		b.Fatal(err)
	}
	rcv.SetSecrets(secret.String())
	for i := 0; i < b.N; i++ {
		if err := e.svc.Notify(ctx, "t1", webhook.EventEnvelopeCompleted, map[string]any{"envelope_id": "env_bench", "n": i}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	for len(rcv.Accepted()) < b.N {
		if _, err := e.svc.DeliverOnce(ctx); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if rej := rcv.Rejected(); len(rej) != 0 || rcv.Requests() != b.N {
		b.Fatalf("%d requests for %d messages, rejected %v", rcv.Requests(), b.N, rej)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "deliveries/s")
}
