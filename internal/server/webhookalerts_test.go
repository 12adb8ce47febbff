package server_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/apiclient"
	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/internal/webhook"
	"github.com/signet-pki/signet/internal/webhook/webhooktest"
)

// TestWebhooksAnnounceKeysAndAlerts: a tenant's endpoint hears of its key
// rotations (key.rotated, announced from the audit log) and of the alerts
// that concern it (alert.raised), each delivery signed and verified by
// the receiver; nothing in them names the recipient.
func TestWebhooksAnnounceKeysAndAlerts(t *testing.T) {
	ctx := context.Background()
	r := start(t, filepath.Join(t.TempDir(), "data"), func(c *server.Config) {
		c.Webhooks = server.WebhookConfig{AllowPrivateNetworks: true, AllowHTTP: true}
		c.Alerts.AuthFailuresRecipient = server.AlertThreshold{Count: 3, Window: server.Duration(time.Hour)}
	})
	a := r.party(ctx, "Announced Corp")
	rcv := webhooktest.New("")
	defer rcv.Close()
	_, secret, err := r.srv.Webhooks().Create(ctx, a.tenant.ID, rcv.URL(), []string{webhook.EventKeyRotated, webhook.EventAlert}, true)
	if err != nil {
		t.Fatal(err)
	}
	rcv.SetSecrets(secret.String())
	waitFor := func(typ string) map[string]any {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			for _, d := range rcv.Accepted() {
				var m struct {
					Type string         `json:"type"`
					Data map[string]any `json:"data"`
				}
				if json.Unmarshal(d.Body, &m) == nil && m.Type == typ {
					return m.Data
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("no %s delivery (accepted %d, rejected %v)", typ, len(rcv.Accepted()), rcv.Rejected())
		return nil
	}

	// The tenant's KEK exists once something of it is sealed.
	const email = "guessed@announced.example"
	a.envelope(t, ctx, "Announced", [][2]string{{"Gus Essed", email}}, true)
	if err := r.srv.RotateTenantKEK(ctx, a.tenant.ID); err != nil {
		t.Fatal(err)
	}
	if d := waitFor(webhook.EventKeyRotated); d["key_id"] == "" || d["key_id"] == nil {
		t.Errorf("key.rotated without the key: %v", d)
	}

	// Three wrong codes: the authentication-failures alert, delivered.
	c := &apiclient.Client{Base: r.base, HTTP: r.client}
	mb := &apiclient.Mailbox{Inbox: r.srv.Outbox()}
	link, err := mb.Link(ctx, email, 1)
	if err != nil {
		t.Fatal(err)
	}
	rc := c.Recipient(link)
	if err := rc.SendCode(ctx); err != nil {
		t.Fatal(err)
	}
	code, err := mb.Code(ctx, email, 2)
	if err != nil {
		t.Fatal(err)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	for i := 0; i < 3; i++ {
		if _, err := rc.Verify(ctx, wrong); err == nil {
			t.Fatal("a wrong code was accepted")
		}
	}
	d := waitFor(webhook.EventAlert)
	if d["rule"] != "authentication-failures" {
		t.Errorf("alert.raised %v", d)
	}
	for _, got := range rcv.Accepted() {
		if strings.Contains(string(got.Body), email) || strings.Contains(string(got.Body), "Gus Essed") {
			t.Errorf("a delivery names the recipient: %s", got.Body)
		}
	}
}
