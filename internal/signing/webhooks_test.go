package signing_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/signet-pki/signet/internal/signing"
	"github.com/signet-pki/signet/internal/webhook"
	"github.com/signet-pki/signet/internal/workflow"
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
