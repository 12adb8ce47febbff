package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/internal/pgtest"
	"github.com/signet-pki/signet/internal/webhook"
	webhookpostgres "github.com/signet-pki/signet/internal/webhook/postgres"
	"github.com/signet-pki/signet/internal/webhook/webhooktest"
	"github.com/signet-pki/signet/keys/atrest/atresttest"
)

// TestTwoNodesNoDoubleSend: two services (two pools, as two nodes) deliver
// one outbox concurrently; the receiver gets every message exactly once.
// A message written in a rolled-back transaction is never sent; one
// committed before a "crash" (no worker ran) is delivered after it.
func TestTwoNodesNoDoubleSend(t *testing.T) {
	ctx := context.Background()
	owner, _ := pgtest.NewDatabase(t)
	keys := &atresttest.KeyRing{}
	var svcs [2]*webhook.Service
	var stores [2]*webhookpostgres.Store
	for i := range svcs {
		pool, err := pgdb.Open(ctx, owner)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		st, err := webhookpostgres.New(ctx, pool)
		if err != nil {
			t.Fatal(err)
		}
		svc, err := webhook.New(webhook.Config{Store: st, Keys: keys, Concurrency: 4,
			Guard: &webhook.Guard{AllowPrivateNetworks: true, AllowHTTP: true}})
		if err != nil {
			t.Fatal(err)
		}
		svcs[i], stores[i] = svc, st
	}
	rcv := webhooktest.New("")
	defer rcv.Close()
	_, secret, err := svcs[0].Create(ctx, "t1", rcv.URL(), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	rcv.SetSecrets(secret.String())

	const n = 40
	for i := range n {
		if err := svcs[i%2].Notify(ctx, "t1", webhook.EventRecipientSigned, map[string]int{"i": i}); err != nil {
			t.Fatal(err)
		}
	}
	// Outbox rows written inside a caller's transaction.
	pool, err := pgdb.Open(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	kept, _ := svcs[0].Message("t1", webhook.EventEnvelopeCompleted, map[string]string{"envelope_id": "env_ok"})
	lost, _ := svcs[0].Message("t1", webhook.EventEnvelopeCompleted, map[string]string{"envelope_id": "env_rb"})
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return webhookpostgres.InsertMessages(ctx, tx, []webhook.Message{kept}) }); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("rolled back")
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if err := webhookpostgres.InsertMessages(ctx, tx, []webhook.Message{lost}); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}

	deadline := time.Now().Add(30 * time.Second)
	for len(rcv.Accepted()) < n+1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d delivered", len(rcv.Accepted()), n+1)
		}
		var wg sync.WaitGroup
		for _, s := range svcs {
			wg.Go(func() {
				if _, err := s.DeliverOnce(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	for _, s := range svcs {
		if k, _ := s.DeliverOnce(ctx); k != 0 {
			t.Fatalf("%d deliveries left", k)
		}
	}
	seen := map[string]bool{}
	for _, d := range rcv.Accepted() {
		if seen[d.ID] {
			t.Fatalf("message %s delivered twice", d.ID)
		}
		seen[d.ID] = true
	}
	if !seen[kept.ID] || seen[lost.ID] {
		t.Fatalf("committed delivered %v, rolled back delivered %v", seen[kept.ID], seen[lost.ID])
	}
	if rcv.Requests() != n+1 {
		t.Fatalf("%d requests for %d messages", rcv.Requests(), n+1)
	}
}
