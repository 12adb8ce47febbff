package signing_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/signing"
	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/internal/webhook"
	webhooksqlite "github.com/signet-pki/signet/internal/webhook/sqlite"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/keys/atrest/atresttest"
)

// hookRecorder records the events the service hands to webhooks.
type hookRecorder struct {
	mu     sync.Mutex
	events []string
}

func (h *hookRecorder) Notify(_ context.Context, tenant, typ string, data any) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, fmt.Sprintf("%s %s %v", tenant, typ, data))
	return nil
}

// TestAuthenticationFailuresAnnounced: every wrong code is announced as
// recipient.authentication_failed, the fifth as a lockout; no code in
// the event.
func TestAuthenticationFailuresAnnounced(t *testing.T) {
	hooks := &hookRecorder{}
	e := newEnvOptions(t, envOptions{adjust: func(cfg *signing.Config, _ *workflow.Config) { cfg.Webhooks = hooks }})
	env := e.newEnvelope(1, signer("Alice Doe", "alice@example.com", 1))
	link := e.link("alice@example.com", 1)
	st, _, _, _ := e.wrongRun("alice@example.com", link)
	if st != http.StatusTooManyRequests {
		t.Fatalf("status %d", st)
	}
	hooks.mu.Lock()
	defer hooks.mu.Unlock()
	if len(hooks.events) != signing.DefaultMaxFailures {
		t.Fatalf("%d events, want %d: %v", len(hooks.events), signing.DefaultMaxFailures, hooks.events)
	}
	// Exactly these fields: ids, the reason and the lockout; never the
	// code or the address.
	for i, ev := range hooks.events {
		locked, reason := "false", "wrong code"
		if i == len(hooks.events)-1 {
			locked, reason = "true", "wrong code; locked out"
		}
		want := fmt.Sprintf("%s %s map[envelope_id:%s locked_out:%s reason:%s recipient_id:%s]",
			env.Tenant, webhook.EventRecipientAuthenticationFailed, env.ID, locked, reason, env.Recipients[0].ID)
		if ev != want {
			t.Fatalf("event %d %q, want %q", i, ev, want)
		}
	}
}

// BenchmarkRecipientSignatureWebhooks measures a recipient's whole
// signature (consent and POST /v1/recipient/sign: the PAdES signature,
// its time-stamp, the state change) without webhooks and with them (an
// endpoint subscribed to every event, its deliveries written in the
// state change's transaction), side by side: each iteration signs one
// envelope in each of two environments, alternating which goes first. It
// reports each mean (off-ns/sig, on-ns/sig) and the difference
// (overhead-%).
func BenchmarkRecipientSignatureWebhooks(b *testing.B) {
	ctx := context.Background()
	off := newEnvOptions(b, envOptions{})
	on := newEnvOptions(b, envOptions{})
	pool, err := sqldb.OpenPool(ctx, filepath.Join(on.dir, "signet.db"), nil, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { pool.Close() })
	whStore, err := webhooksqlite.New(ctx, pool)
	if err != nil {
		b.Fatal(err)
	}
	wh, err := webhook.New(webhook.Config{Store: whStore, Keys: &atresttest.KeyRing{}})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := wh.Create(ctx, tenant, "https://93.184.215.14/hook", nil, true); err != nil {
		b.Fatal(err)
	}
	on.wfCfg.Webhooks, on.cfg.Webhooks = wh, wh
	n := on.node()
	on.wf, on.svc, on.notifier, on.api = n.wf, n.svc, n.notifier, n.api

	var spent [2]time.Duration
	sign := func(e *env, i int) time.Duration {
		addr := fmt.Sprintf("s%d@example.com", i)
		e.newEnvelope(1, signer("Sam Signer", addr, 1))
		ss := e.session(addr, e.link(addr, 1))
		start := time.Now()
		e.signAs(ss)
		return time.Since(start)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			spent[0] += sign(off, i)
			spent[1] += sign(on, i)
		} else {
			spent[1] += sign(on, i)
			spent[0] += sign(off, i)
		}
	}
	b.StopTimer()
	var queued int
	if err := pool.Writer().QueryRow(`SELECT COUNT(*) FROM webhook_deliveries WHERE type = ?`, webhook.EventRecipientSigned).Scan(&queued); err != nil || queued != b.N {
		b.Fatalf("%d recipient.signed deliveries queued for %d signatures (%v)", queued, b.N, err)
	}
	offNs, onNs := float64(spent[0].Nanoseconds())/float64(b.N), float64(spent[1].Nanoseconds())/float64(b.N)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(offNs, "off-ns/sig")
	b.ReportMetric(onNs, "on-ns/sig")
	b.ReportMetric(100*(onNs-offNs)/offNs, "overhead-%")
}
