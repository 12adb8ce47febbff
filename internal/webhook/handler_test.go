package webhook_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/webhook"
)

func TestOpenAPIMatchesRoutes(t *testing.T) {
	rt := api.NewRouter()
	(&webhook.Handler{}).Register(rt)
	doc, err := api.MergeOpenAPI(api.OpenAPIBase, webhook.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := api.OpenAPIRoutes(doc)
	if err != nil {
		t.Fatal(err)
	}
	var own []string
	for _, r := range spec {
		if strings.Contains(r, "/v1/webhooks") {
			own = append(own, r)
		}
	}
	if !slices.Equal(own, rt.Patterns()) {
		t.Fatalf("spec %v\nroutes %v", own, rt.Patterns())
	}
	acc, err := api.OpenAPIAccess(webhook.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	for pattern, a := range acc {
		if a.Action != "webhook.admin" {
			t.Errorf("%s declares %+v", pattern, a)
		}
	}
}

type client struct {
	t   *testing.T
	mux *http.ServeMux
}

func (c client) do(p api.Principal, method, path, body string) (*httptest.ResponseRecorder, map[string]any) {
	c.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req = req.WithContext(api.WithPrincipal(req.Context(), p))
	w := httptest.NewRecorder()
	c.mux.ServeHTTP(w, req)
	var out map[string]any
	if w.Body.Len() > 0 {
		json.Unmarshal(w.Body.Bytes(), &out)
	}
	return w, out
}

func TestHandler(t *testing.T) {
	e := newEnv(t, func(c *webhook.Config) { c.Guard = &webhook.Guard{Resolver: publicResolver{}}; c.Asymmetric = true })
	mux := http.NewServeMux()
	(&webhook.Handler{Service: e.svc}).Register(mux)
	c := client{t, mux}
	t1 := api.Principal{Kind: api.PrincipalAPIKey, ID: "k1", Tenant: "t1"}
	t2 := api.Principal{Kind: api.PrincipalAPIKey, ID: "k2", Tenant: "t2"}

	w, out := c.do(t1, "POST", "/v1/webhooks", `{"url":"https://hooks.example/in","events":["envelope.completed","envelope.sent"]}`)
	if w.Code != http.StatusCreated || !strings.HasPrefix(out["secret"].(string), "whsec_") || out["enabled"] != true {
		t.Fatalf("create: %d %s", w.Code, w.Body)
	}
	if _, err := webhook.ParseSecret(out["secret"].(string)); err != nil {
		t.Fatal(err)
	}
	id := out["id"].(string)

	for _, tc := range []struct{ body, typ string }{
		{`{"url":"https://127.0.0.1/x"}`, "forbidden-url"},
		{`{"url":"https://169.254.169.254/latest"}`, "forbidden-url"},
		{`{"url":"https://10.0.0.1/"}`, "forbidden-url"},
		{`{"url":"https://loopback.example/"}`, "forbidden-url"},
		{`{"url":"http://hooks.example/"}`, "forbidden-url"},
		{`{"url":"https://hooks.example/","events":["envelope.bogus"]}`, ""},
	} {
		w, out := c.do(t1, "POST", "/v1/webhooks", tc.body)
		if w.Code != http.StatusUnprocessableEntity || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %s", tc.body, w.Code, w.Body)
		}
		if tc.typ != "" && !strings.HasSuffix(out["type"].(string), tc.typ) {
			t.Errorf("%s: type %v", tc.body, out["type"])
		}
	}

	w, out = c.do(t1, "GET", "/v1/webhooks/"+id, "")
	if w.Code != 200 || out["secret"] != nil || strings.Contains(w.Body.String(), "whsec_") {
		t.Fatalf("get: %d %s", w.Code, w.Body)
	}
	if w, _ := c.do(t2, "GET", "/v1/webhooks/"+id, ""); w.Code != http.StatusNotFound {
		t.Fatalf("other tenant reads: %d", w.Code)
	}
	if w, _ := c.do(t2, "DELETE", "/v1/webhooks/"+id, ""); w.Code != http.StatusNotFound {
		t.Fatalf("other tenant deletes: %d", w.Code)
	}
	w, out = c.do(t1, "PATCH", "/v1/webhooks/"+id, `{"enabled":false,"events":["recipient.signed"]}`)
	if w.Code != 200 || out["enabled"] != false || out["events"].([]any)[0] != "recipient.signed" {
		t.Fatalf("patch: %d %s", w.Code, w.Body)
	}
	w, out = c.do(t1, "GET", "/v1/webhooks", "")
	if w.Code != 200 || len(out["webhooks"].([]any)) != 1 {
		t.Fatalf("list: %d %s", w.Code, w.Body)
	}
	if _, out := c.do(t2, "GET", "/v1/webhooks", ""); len(out["webhooks"].([]any)) != 0 {
		t.Fatal("other tenant lists t1's endpoint")
	}
	w, out = c.do(t1, "POST", "/v1/webhooks/"+id+"/rotate-secret", "")
	if w.Code != 200 || !strings.HasPrefix(out["secret"].(string), "whsec_") || out["previous_valid_until"] == nil {
		t.Fatalf("rotate: %d %s", w.Code, w.Body)
	}
	if _, out := c.do(t1, "GET", "/v1/webhooks/"+id, ""); out["rotation_ends_at"] == nil {
		t.Fatal("rotation not shown")
	}
	w, out = c.do(t1, "GET", "/v1/webhooks/public-key", "")
	if w.Code != 200 || !strings.HasPrefix(out["public_key"].(string), "whpk_") {
		t.Fatalf("public key: %d %s", w.Code, w.Body)
	}
	w, out = c.do(t1, "GET", "/v1/webhooks/"+id+"/deliveries", "")
	if w.Code != 200 || len(out["deliveries"].([]any)) != 0 {
		t.Fatalf("deliveries: %d %s", w.Code, w.Body)
	}
	if w, _ := c.do(t1, "GET", "/v1/webhooks/"+id+"/deliveries?limit=0", ""); w.Code != http.StatusUnprocessableEntity {
		t.Fatalf("limit 0: %d", w.Code)
	}
	if w, _ := c.do(t1, "POST", "/v1/webhooks/"+id+"/deliveries/msg_x/retry", ""); w.Code != http.StatusNotFound {
		t.Fatalf("retry of nothing: %d", w.Code)
	}
	if w, _ := c.do(api.Principal{Kind: api.PrincipalRecipient, ID: "r", Tenant: "t1"}, "GET", "/v1/webhooks", ""); w.Code != http.StatusForbidden {
		t.Fatalf("recipient: %d", w.Code)
	}
	if w, _ := c.do(t1, "DELETE", "/v1/webhooks/"+id, ""); w.Code != http.StatusNoContent {
		t.Fatalf("delete: %d", w.Code)
	}
	if w, _ := c.do(t1, "GET", "/v1/webhooks/"+id, ""); w.Code != http.StatusNotFound {
		t.Fatalf("after delete: %d", w.Code)
	}
}
