// Package logbench measures durable appends through [auditlog.Log] on a
// storage backend, for the benchmarks of auditlog/sqlite and auditlog/postgres.
package logbench

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
)

// Event returns a realistic event for appender a's i-th append: a
// recipient signing a document, with an email, a name and an IP that are
// sealed and HMACed.
func Event(a, i int) auditlog.Event {
	doc := sha256.Sum256([]byte(fmt.Sprintf("doc-%d-%d", a, i)))
	return auditlog.Event{
		Type:   auditlog.SignatureCreated,
		Tenant: fmt.Sprintf("tenant-%d", a%4),
		Actor: auditlog.Actor{
			Kind: auditlog.ActorRecipient, ID: fmt.Sprintf("rcpt-%d-%d", a, i),
			Email: fmt.Sprintf("signer%d@example.com", i), Name: "Alex Example",
			AuthStrength: "aal2", AuthMethods: []string{"pwd", "otp"},
		},
		Subject: auditlog.Subject{
			DocumentSHA256: hex.EncodeToString(doc[:]), EnvelopeID: fmt.Sprintf("env-%d", i),
			KeyID: "signer-key", KeyVersion: "3", CertificateSerial: "4f2a9c01",
		},
		Request: auditlog.Request{CorrelationID: fmt.Sprintf("req-%d-%d", a, i), IP: "203.0.113.7", UserAgent: "Mozilla/5.0"},
		Outcome: auditlog.OutcomeSuccess,
		Policy:  auditlog.Policy{Decision: "allow", Policy: "envelope", Rule: "recipient-may-sign"},
	}
}

// Keys returns fixed tenant keys for benchmarks and tests.
func Keys() auditlog.TenantKeys {
	k, err := auditlog.NewDerivedKeys([]byte("logbench master key, 32+ bytes long....."))
	if err != nil {
		panic(err)
	}
	return k
}

// Appends runs b.N appends through a new [auditlog.Log] over s from the
// given number of concurrent appenders, and reports durable appends per
// second ("appends/s"). Each Append returns only once its batch is
// committed, so the rate counts durable events.
func Appends(b *testing.B, s auditlog.Storage, appenders int) {
	ctx := context.Background()
	l, err := auditlog.New(ctx, auditlog.Config{Storage: s, Keys: Keys()})
	if err != nil {
		b.Fatalf("auditlog.New: %v", err)
	}
	defer l.Shutdown(ctx)
	// Warm up: open connections, reach a non-trivial tree.
	for i := 0; i < 100; i++ {
		if _, err := l.Append(ctx, Event(0, -i)); err != nil {
			b.Fatalf("Append: %v", err)
		}
	}
	var next atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for a := 0; a < appenders; a++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if _, err := l.Append(ctx, Event(a, int(i))); err != nil {
					failed.Store(&err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if p := failed.Load(); p != nil {
		b.Fatalf("Append: %v", *p)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
}
