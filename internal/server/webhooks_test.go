package server_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/internal/webhook/webhooktest"
)

// TestWebhooksThroughTheServer: an endpoint of a tenant (the SSRF guard
// lifted by configuration for the loopback receiver) gets
// document.uploaded when a sender uploads: the running server's worker
// delivers it, signed with the endpoint's secret.
func TestWebhooksThroughTheServer(t *testing.T) {
	r := start(t, filepath.Join(t.TempDir(), "data"), func(c *server.Config) {
		c.Webhooks = server.WebhookConfig{AllowPrivateNetworks: true, AllowHTTP: true}
	})
	admin := r.bootstrapKey()
	res := r.do("POST", "/v1/tenants", admin, map[string]string{"name": "Hooks"})
	if res.status != http.StatusCreated {
		t.Fatalf("create tenant: %d %s", res.status, res.body)
	}
	var tenant accounts.Tenant
	if err := json.Unmarshal(res.body, &tenant); err != nil {
		t.Fatal(err)
	}
	key := r.tenantKeyOf(admin, tenant.ID, "document.upload")
	rcv := webhooktest.New("")
	defer rcv.Close()
	// The route (webhook.admin) needs an elevated tenant administrator,
	// as the authorization matrix checks; the service is called directly.
	wh := r.srv.Webhooks()
	ep, secret, err := wh.Create(context.Background(), tenant.ID, rcv.URL(), []string{"document.uploaded"}, true)
	if err != nil {
		t.Fatal(err)
	}
	rcv.SetSecrets(secret.String())
	doc, _ := r.uploadSample(key, "hooked")
	deadline := time.Now().Add(20 * time.Second)
	for len(rcv.Accepted()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	acc := rcv.Accepted()
	if len(acc) != 1 || !strings.Contains(string(acc[0].Body), doc.ID) || !strings.Contains(string(acc[0].Body), `"type":"document.uploaded"`) {
		t.Fatalf("accepted %d deliveries: %+v (rejected %v)", len(acc), acc, rcv.Rejected())
	}
	ds, _, err := wh.Deliveries(context.Background(), tenant.ID, ep.ID, 10)
	if err != nil || len(ds) != 1 || ds[0].Status != "delivered" {
		t.Fatalf("deliveries %+v %v", ds, err)
	}
	// The secret is stored sealed and never logged.
	if strings.Contains(r.logs.String(), secret.String()) {
		t.Fatal("the webhook secret reached the log")
	}
}

func TestWebhookGuardByDefault(t *testing.T) {
	r := start(t, filepath.Join(t.TempDir(), "data"), nil)
	for _, u := range []string{"https://127.0.0.1:9/hook", "https://169.254.169.254/latest", "https://10.0.0.1/", "http://example.com/"} {
		_, _, err := r.srv.Webhooks().Create(context.Background(), "t1", u, nil, true)
		var ae *api.Error
		if !errors.As(err, &ae) || ae.Kind != api.KindInvalid {
			t.Errorf("%s: %v, want a 422 problem", u, err)
		}
	}
	// Without webhook.admin (a sender's key), the route is forbidden.
	key := r.tenantKey("document.upload")
	if res := r.do("POST", "/v1/webhooks", key, map[string]any{"url": "https://example.com/"}); res.status != http.StatusForbidden {
		t.Fatalf("a sender registers a webhook: %d %s", res.status, res.body)
	}
}

// tenantKeyOf provisions a sender key of tenant bound to actions.
func (r *running) tenantKeyOf(admin, tenant string, actions ...string) string {
	r.t.Helper()
	res := r.do("POST", "/v1/tenants/"+tenant+"/api-keys", admin, map[string]any{"name": "test", "roles": []string{"sender"}, "actions": actions})
	if res.status != http.StatusCreated {
		r.t.Fatalf("create key: %d %s", res.status, res.body)
	}
	var created struct{ Secret string }
	if err := json.Unmarshal(res.body, &created); err != nil {
		r.t.Fatal(err)
	}
	return created.Secret
}
