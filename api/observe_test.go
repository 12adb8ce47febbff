package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/signet-pki/signet/api"
)

func TestRequestIDAndLogs(t *testing.T) {
	e := newEnv(t, envOptions{extra: echoRoutes})
	ta := e.tenant("A")
	secret, _ := e.key(ta, api.ScopeAPIKeysRead)
	tests := []struct {
		name, sent string
		echoed     bool
	}{
		{"sane", "req-123.abc_X", true},
		{"absent", "", false},
		{"injection", "a\"b", false},
		{"too long", strings.Repeat("a", 65), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if tc.sent != "" {
				hdr = append(hdr, api.HeaderRequestID+": "+tc.sent)
			}
			r := e.do("GET", "/v1/api-keys", secret, nil, hdr...)
			id := r.header.Get(api.HeaderRequestID)
			if (id == tc.sent) != tc.echoed || id == "" {
				t.Fatalf("request id %q for %q", id, tc.sent)
			}
			// The access log line carries the request id.
			found := false
			sc := bufio.NewScanner(strings.NewReader(e.logs.String()))
			for sc.Scan() {
				var line map[string]any
				if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
					t.Fatalf("log line is not JSON: %s", sc.Text())
				}
				if line["msg"] == "request" && line["request_id"] == id {
					found = true
					if line["path"] != "/v1/api-keys" || line["status"] != float64(200) {
						t.Errorf("access line %v", line)
					}
				}
			}
			if !found {
				t.Errorf("no access log line with request_id %s", id)
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
	if !slices.Contains(routes, "POST /v1/things") || !slices.Contains(routes, "POST /v1/tenants") {
		t.Fatalf("routes %v", routes)
	}
	bad := []struct{ name, frag string }{
		{"duplicate operation", `{"paths":{"/v1/tenants":{"post":{}}}}`},
		{"conflicting component", `{"components":{"schemas":{"Tenant":{"type":"string"}}}}`},
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
// are exactly those its fragment documents.
func TestOpenAPIPlatformRoutes(t *testing.T) {
	rt := api.NewRouter()
	(&api.Accounts{}).Register(rt)
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
