package workflow_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/internal/webhook"
	webhooksqlite "github.com/signet-pki/signet/internal/webhook/sqlite"
	"github.com/signet-pki/signet/internal/webhook/webhooktest"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/keys/atrest/atresttest"
)

// webhookService opens a webhook service on the env's signet.db.
func webhookService(t testing.TB, e *env, keys *atresttest.KeyRing) (*webhook.Service, *sqldb.Pool) {
	t.Helper()
	pool, err := sqldb.OpenPool(context.Background(), filepath.Join(e.dir, "signet.db"), nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	st, err := webhooksqlite.New(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := webhook.New(webhook.Config{Store: st, Keys: keys, Guard: &webhook.Guard{AllowPrivateNetworks: true, AllowHTTP: true}})
	if err != nil {
		t.Fatal(err)
	}
	return svc, pool
}

// TestWebhookEventsOfAFlow: the events of an envelope's life reach the
// tenant's endpoint, with ids and states only; the envelope events are in
// the outbox as soon as the change is stored (before any delivery), and a
// worker started after a "crash" delivers them.
func TestWebhookEventsOfAFlow(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	keys := &atresttest.KeyRing{}
	wh, pool := webhookService(t, e, keys)
	e.cfg.Webhooks = wh
	svc, err := workflow.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	rcv := webhooktest.New("")
	defer rcv.Close()
	_, secret, err := wh.Create(ctx, "t1", rcv.URL(), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	rcv.SetSecrets(secret.String())

	d := e.upload("t1", "contract")
	env := e.draft("t1", []string{d.ID}, "signer:1")
	if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
		t.Fatal(err)
	}
	e.sign(env.ID, env.Recipients[0].ID)
	if _, err := e.svc.Complete(ctx, env.ID); err != nil {
		t.Fatal(err)
	}
	// Another tenant's envelope: nothing for t1's endpoint.
	d2 := e.upload("t2", "other")
	env2 := e.draft("t2", []string{d2.ID}, "signer:1")
	if _, err := e.svc.Send(ctx, actor("t2"), env2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Void(ctx, actor("t2"), env2.ID, "withdrawn"); err != nil {
		t.Fatal(err)
	}

	var queued int
	if err := pool.Writer().QueryRow(`SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'`).Scan(&queued); err != nil {
		t.Fatal(err)
	}
	if queued != 5 {
		t.Fatalf("%d deliveries queued before any worker ran, want 5", queued)
	}
	// "Crash": the first webhook service never sends; a new one does.
	wh2, _ := webhookService(t, e, keys)
	deadline := time.Now().Add(20 * time.Second)
	for len(rcv.Accepted()) < 5 && time.Now().Before(deadline) {
		if _, err := wh2.DeliverOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var types []string
	for _, a := range rcv.Accepted() {
		var p struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(a.Body, &p); err != nil {
			t.Fatal(err)
		}
		types = append(types, p.Type)
		body := string(a.Body)
		for _, secretish := range []string{"r0@example.com", "R0", "Please sign", "contract", "withdrawn"} {
			if strings.Contains(body, secretish) {
				t.Errorf("payload %s carries %q", body, secretish)
			}
		}
		if p.Type != webhook.EventDocumentUploaded && p.Data["envelope_id"] != env.ID {
			t.Errorf("payload %s", body)
		}
	}
	slices.Sort(types)
	want := []string{webhook.EventDocumentUploaded, webhook.EventEnvelopeCompleted, webhook.EventEnvelopeSent,
		webhook.EventRecipientSigned, webhook.EventRecipientViewed}
	if !slices.Equal(types, want) {
		t.Fatalf("events %v, want %v", types, want)
	}
	if rej := rcv.Rejected(); len(rej) != 0 {
		t.Fatalf("rejected %v", rej)
	}
}

// TestWebhooksOffWritesNothing: without Config.Webhooks the envelope
// store writes no outbox row (and needs no webhook tables).
func TestWebhooksOffWritesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := e.upload("t1", "contract")
	env := e.draft("t1", []string{d.ID}, "signer:1")
	if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
		t.Fatal(err)
	}
	var n int
	err := e.store.DB().QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE name = 'webhook_messages'`).Scan(&n)
	if err != nil || n != 0 {
		t.Fatalf("webhook tables created without webhooks (%d, %v)", n, err)
	}
}

// BenchmarkRecipientSignedWebhooks measures the state change of a
// recipient's signature (RecipientSigned: the audit record and the
// envelope's transaction) without webhooks and with them (an endpoint
// subscribed to every event, so that each signature writes its
// recipient.signed and envelope.completed deliveries as outbox rows of
// the same transaction), side by side: each iteration signs one envelope
// in each of two services, alternating which goes first, so that both
// see the same machine. It reports the mean of each (off-ns/sig,
// on-ns/sig) and the difference (overhead-%).
func BenchmarkRecipientSignedWebhooks(b *testing.B) {
	ctx := context.Background()
	off := newEnvConfig(b, nil)
	on := newEnvConfig(b, nil)
	wh, _ := webhookService(b, on, &atresttest.KeyRing{})
	on.cfg.Webhooks = wh
	svc, err := workflow.New(on.cfg)
	if err != nil {
		b.Fatal(err)
	}
	on.svc = svc
	if _, _, err := wh.Create(ctx, "t1", "https://receiver.example/hook", nil, true); err != nil {
		b.Fatal(err)
	}
	docs := map[*env]string{off: off.upload("t1", "bench").ID, on: on.upload("t1", "bench").ID}
	var spent [2]time.Duration
	sign := func(e *env) time.Duration {
		d := docs[e]
		env := e.draft("t1", []string{d}, "signer:1")
		if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
			b.Fatal(err)
		}
		r := env.Recipients[0].ID
		if _, err := e.svc.MarkViewed(ctx, recipientActor(r), env.ID); err != nil {
			b.Fatal(err)
		}
		if _, err := e.svc.ConsentRecorded(ctx, recipientActor(r), env.ID); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := e.svc.RecipientSigned(ctx, recipientActor(r), env.ID, d, strings.Repeat("ab", 32)); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			spent[0] += sign(off)
			spent[1] += sign(on)
		} else {
			spent[1] += sign(on)
			spent[0] += sign(off)
		}
	}
	b.StopTimer()
	offNs, onNs := float64(spent[0].Nanoseconds())/float64(b.N), float64(spent[1].Nanoseconds())/float64(b.N)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(offNs, "off-ns/sig")
	b.ReportMetric(onNs, "on-ns/sig")
	b.ReportMetric(100*(onNs-offNs)/offNs, "overhead-%")
}
