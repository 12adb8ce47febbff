package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
	r.wrongCodes(ctx, email, 3, nil)
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

// TestPlatformAlertsToPlatformEndpoint: the platform's own alerts go to
// the endpoint its configuration names (secret from the environment):
// when the audit log cannot record, the operator's receiver hears of it
// (alert.raised, rule audit-append), signed with that secret.
func TestPlatformAlertsToPlatformEndpoint(t *testing.T) {
	rcv := webhooktest.New("")
	defer rcv.Close()
	secret, err := webhook.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	rcv.SetSecrets(secret.String())
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, dir, func(c *server.Config) {
		c.Webhooks = server.WebhookConfig{AllowPrivateNetworks: true, AllowHTTP: true,
			PlatformEndpoints: []server.PlatformEndpoint{{Name: "ops", URL: rcv.URL(), SecretEnv: "OPS_WEBHOOK_SECRET"}}}
	}, server.WithSecrets(func(name string) string {
		if name == "OPS_WEBHOOK_SECRET" {
			return secret.String()
		}
		return ""
	}))
	admin := r.bootstrapKey()
	res := r.do("POST", "/v1/tenants", admin, map[string]string{"name": "Blind Corp"})
	if res.status != http.StatusCreated {
		t.Fatalf("create tenant: %d %s", res.status, res.body)
	}
	var tenant struct{ ID string }
	if err := json.Unmarshal(res.body, &tenant); err != nil {
		t.Fatal(err)
	}
	lockAudit(t, dir)
	if res := r.do("POST", "/v1/tenants/"+tenant.ID+"/api-keys", admin, map[string]any{"name": "k", "roles": []string{"sender"}}); res.status != http.StatusServiceUnavailable {
		t.Fatalf("an API key created while the audit log cannot record: %d %s", res.status, res.body)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, d := range rcv.Accepted() {
			if strings.Contains(string(d.Body), `"type":"alert.raised"`) && strings.Contains(string(d.Body), `"rule":"audit-append"`) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the platform endpoint heard no audit-append alert (accepted %d, rejected %v)\n%s", len(rcv.Accepted()), rcv.Rejected(), r.logs.String())
}

// TestPlatformEndpointNeedsItsSecret: a platform endpoint whose secret is
// missing or malformed stops the start with one line naming it.
func TestPlatformEndpointNeedsItsSecret(t *testing.T) {
	for _, v := range []string{"", "not-a-secret"} {
		cfg := server.Config{Listen: "127.0.0.1:0", PKIListen: "127.0.0.1:0", DataDir: filepath.Join(t.TempDir(), "data"),
			Webhooks: server.WebhookConfig{AllowPrivateNetworks: true, AllowHTTP: true,
				PlatformEndpoints: []server.PlatformEndpoint{{Name: "ops", URL: "http://127.0.0.1:9/hook", SecretEnv: "OPS_WEBHOOK_SECRET"}}}}
		srv, err := server.New(context.Background(), cfg, server.WithSecrets(func(string) string { return v }))
		if err == nil {
			srv.Shutdown(context.Background())
			t.Fatalf("secret %q: the server started", v)
		}
		if msg := err.Error(); !strings.Contains(msg, "platform_endpoints ops") || !strings.Contains(msg, "OPS_WEBHOOK_SECRET") || strings.Contains(msg, "\n") {
			t.Errorf("secret %q: %q", v, msg)
		}
	}
}
