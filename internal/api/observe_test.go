package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/api"
)

func TestRequestIDAndLogs(t *testing.T) {
	e := newEnv(t, envOptions{extra: echoRoutes})
	ta := e.tenant("A")
	secret, keyID := e.key(ta, "document.read")
	tests := []struct {
		name, sent string
		kept       bool // as the client request id
	}{
		{"sane", "req-123.abc_X", true},
		{"absent", "", false},
		{"injection", "a\"b", false},
		{"too long", strings.Repeat("a", 65), false},
	}
	ids := map[string]bool{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.sent != "" {
				hdr = append(hdr, api.HeaderRequestID+": "+tc.sent)
			}
			r := e.do("GET", "/v1/whoami", secret, nil, hdr...)
			// The request id is the server's own, always fresh.
			id := r.header.Get(api.HeaderRequestID)
			if len(id) != 32 || id == tc.sent || ids[id] {
				t.Fatalf("request id %q for %q", id, tc.sent)
			}
			ids[id] = true
			client, want := r.header.Get(api.HeaderClientRequestID), ""
			if tc.kept {
				want = tc.sent
			}
			if client != want {
				t.Fatalf("client request id %q for %q", client, tc.sent)
			}
			// The access log line carries the request id, the client's
			// beside it, and names the principal.
			line := accessLine(t, e.logs.String(), id)
			if line == nil {
				t.Fatalf("no access log line with request_id %s", id)
			}
			if line["path"] != "/v1/whoami" || line["status"] != float64(200) {
				t.Errorf("access line %v", line)
			}
			if got, _ := line["client_request_id"].(string); got != client {
				t.Errorf("client_request_id %q, want %q", got, client)
			}
			if line["principal"] != keyID || line["principal_kind"] != "api_key" || line["tenant"] != ta {
				t.Errorf("access line does not name the principal: %v", line)
			}
		})
	}
	// Every line written inside a request carries its id.
	e.doRaw("GET", "/v1/recipient/secret-error", "", "")
	sc := bufio.NewScanner(strings.NewReader(e.logs.String()))
	for sc.Scan() {
		var line map[string]any
		_ = json.Unmarshal(sc.Bytes(), &line)
		if line["request_id"] == nil {
			t.Errorf("log line without request_id: %s", sc.Text())
		}
	}
	// Secrets and bodies stay out of the logs.
	e.doRaw("POST", "/v1/recipient/echo", `{"name":"body-marker"}`, "application/json")
	if logs := e.logs.String(); strings.Contains(logs, secret) || strings.Contains(logs, e.admin) || strings.Contains(logs, "body-marker") {
		t.Error("a secret or a body reached the logs")
	}
}

// accessLine returns the access log line of request id in logs.
func accessLine(t *testing.T, logs, id string) map[string]any {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Text())
		}
		if line["msg"] == "request" && line["request_id"] == id {
			return line
		}
	}
	return nil
}

func TestReadyz(t *testing.T) {
	var fail error
	checks := []api.Check{
		{Name: "database", Func: func(context.Context) error { return nil }},
		{Name: "audit-log", Func: func(context.Context) error { return fail }},
	}
	e := newEnv(t, envOptions{checks: checks})
	if r := e.do("GET", "/healthz", "", nil); r.status != 200 {
		t.Fatalf("healthz %d", r.status)
	}
	if r := e.do("GET", "/readyz", "", nil); r.status != 200 {
		t.Fatalf("readyz %d %s", r.status, r.body)
	}
	fail = errors.New("disk gone")
	r := e.do("GET", "/readyz", "", nil)
	checkProblem(t, r, 503, "not-ready", "/readyz")
	if !strings.Contains(string(r.body), "audit-log") || strings.Contains(string(r.body), "database") || strings.Contains(string(r.body), "disk gone") {
		t.Errorf("readyz problem %s", r.body)
	}
}

func TestOpenAPIMerge(t *testing.T) {
	doc, err := api.MergeOpenAPI(api.OpenAPIBase, api.OpenAPI,
		[]byte(`{"paths":{"/v1/things":{"post":{"responses":{}}}},"components":{"schemas":{"Problem":`+problemSchema(t)+`}}}`))
	if err != nil {
		t.Fatal(err)
	}
	routes, err := api.OpenAPIRoutes(doc)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(routes, "POST /v1/things") || !slices.Contains(routes, "GET /healthz") {
		t.Fatalf("routes %v", routes)
	}
	bad := []struct{ name, frag string }{
		{"duplicate operation", `{"paths":{"/healthz":{"get":{}}}}`},
		{"conflicting component", `{"components":{"schemas":{"Problem":{"type":"string"}}}}`},
		{"not JSON", `{`},
	}
	for _, tc := range bad {
		if _, err := api.MergeOpenAPI(api.OpenAPIBase, api.OpenAPI, []byte(tc.frag)); err == nil {
			t.Errorf("%s: merged", tc.name)
		}
	}
}

func problemSchema(t *testing.T) string {
	var d struct {
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(api.OpenAPIBase, &d); err != nil {
		t.Fatal(err)
	}
	return string(d.Components.Schemas["Problem"])
}

// TestOpenAPIPlatformRoutes checks that the routes this package registers
// (probes and the document) are exactly those its fragment documents.
func TestOpenAPIPlatformRoutes(t *testing.T) {
	rt := api.NewRouter()
	(&api.Health{}).Register(rt)
	rt.Handle("GET /v1/openapi.json", api.ServeOpenAPI(nil))
	doc, err := api.MergeOpenAPI(api.OpenAPIBase, api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	documented, err := api.OpenAPIRoutes(doc)
	if err != nil {
		t.Fatal(err)
	}
	if got := rt.Patterns(); !slices.Equal(got, documented) {
		t.Fatalf("registered %v\ndocumented %v", got, documented)
	}
}
