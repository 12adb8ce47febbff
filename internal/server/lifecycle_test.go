package server_test

import (
	"context"
	"database/sql"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/server"
)

func TestReadyzAuditLogNotWritable(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, dir, nil)
	if res := r.do("GET", "/readyz", "", nil); res.status != 200 {
		t.Fatalf("readyz %d %s", res.status, res.body)
	}
	// Another process holds the audit database's write lock: appends
	// cannot proceed, so the server is not ready.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	res := r.do("GET", "/readyz", "", nil)
	if res.status != http.StatusServiceUnavailable || !contains(string(res.body), "audit-log") {
		t.Fatalf("readyz with a locked audit log: %d %s", res.status, res.body)
	}
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if res := r.do("GET", "/readyz", "", nil); res.status != 200 {
		t.Fatalf("readyz after release: %d %s", res.status, res.body)
	}
}

func TestGracefulShutdown(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	slow := func(mux api.Mux) {
		mux.HandleFunc("GET /v1/recipient/slow", func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			<-release
			api.WriteJSON(w, http.StatusOK, map[string]string{"done": "yes"})
		})
	}
	frag := []byte(`{"paths":{"/v1/recipient/slow":{"get":{"security":[],"responses":{"200":{"description":"ok"}}}}}}`)
	r := start(t, filepath.Join(t.TempDir(), "data"), nil, server.WithRoutes(slow, frag))
	inflight := make(chan resp, 1)
	go func() { inflight <- r.do("GET", "/v1/recipient/slow", "", nil) }()
	<-entered
	stopped := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		stopped <- r.srv.Shutdown(ctx)
	}()
	// The listener closes while the request is in flight.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c := &http.Client{Transport: r.client.Transport.(*http.Transport).Clone(), Timeout: time.Second}
		_, err := c.Get(r.base + "/healthz")
		if err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server still accepts connections during shutdown")
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	if res := <-inflight; res.status != 200 || !contains(string(res.body), "yes") {
		t.Fatalf("in-flight request: %d %s", res.status, res.body)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

func TestGracefulShutdownDeadline(t *testing.T) {
	entered := make(chan struct{})
	canceled := make(chan struct{})
	stuck := func(mux api.Mux) {
		mux.HandleFunc("GET /v1/recipient/stuck", func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			<-r.Context().Done()
			close(canceled)
		})
	}
	frag := []byte(`{"paths":{"/v1/recipient/stuck":{"get":{"security":[],"responses":{"200":{"description":"ok"}}}}}}`)
	r := start(t, filepath.Join(t.TempDir(), "data"), nil, server.WithRoutes(stuck, frag))
	go func() {
		req, _ := http.NewRequest("GET", r.base+"/v1/recipient/stuck", nil)
		if res, err := r.client.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := r.srv.Shutdown(ctx); err == nil {
		t.Error("shutdown past its deadline reported success")
	}
	select {
	case <-canceled:
	case <-time.After(10 * time.Second):
		t.Fatal("the stuck request's context was not canceled")
	}
}

func TestOpenAPIMatchesRouter(t *testing.T) {
	r := start(t, filepath.Join(t.TempDir(), "data"), nil)
	res := r.do("GET", "/v1/openapi.json", "", nil)
	if res.status != 200 {
		t.Fatalf("openapi: %d", res.status)
	}
	documented, err := api.OpenAPIRoutes(res.body)
	if err != nil {
		t.Fatal(err)
	}
	registered := r.srv.Router().Patterns()
	for _, p := range registered {
		if !slices.Contains(documented, p) {
			t.Errorf("route %s is not documented", p)
		}
	}
	for _, p := range documented {
		if !slices.Contains(registered, p) {
			t.Errorf("documented %s is not routed", p)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		json string
		ok   bool
	}{
		{"empty", `{}`, true},
		{"tls 1.2", `{"tls_min_version":"1.2"}`, true},
		{"tls 1.1", `{"tls_min_version":"1.1"}`, false},
		{"bad listen", `{"listen":"nohost"}`, false},
		{"pki_listen on a host address", `{"pki_listen":"192.0.2.7:8480"}`, true},
		{"pki_listen on 0.0.0.0", `{"pki_listen":"0.0.0.0:8480"}`, false},
		{"pki_listen on ::", `{"pki_listen":"[::]:8480"}`, false},
		{"pki_listen without host", `{"pki_listen":":8480"}`, false},
		{"listen on 0.0.0.0", `{"listen":"0.0.0.0:8443"}`, true},
		{"cert without key", `{"tls_cert_file":"c.pem"}`, false},
		{"unknown field", `{"listne":"127.0.0.1:1"}`, false},
		{"duplicate key", `{"listen":"127.0.0.1:1","listen":"0.0.0.0:443"}`, false},
		{"duplicate nested key", `{"smtp":{"addr":"127.0.0.1:25","from":"a@example.com","from":"b@example.com"}}`, false},
		{"case-variant key", `{"Listen":"0.0.0.0:443"}`, false},
		{"folded case-variant key", `{"tls_hoſts":["example.com"]}`, false},
		{"trailing data", `{} {}`, false},
		{"tiny upload", `{"max_upload_size":10}`, false},
		{"tiny decoding budget", `{"max_decoded_size":1000}`, false},
		{"decoding budget", `{"max_decoded_size":67108864}`, true},
		{"smtp without from", `{"smtp":{"addr":"127.0.0.1:25"}}`, false},
		{"smtp", `{"smtp":{"addr":"mail.example.org:587","from":"a@example.com"}}`, true},
		{"smtp port by name", `{"smtp":{"addr":"mail.example.org:submission","from":"a@example.com"}}`, false},
		{"smtp port out of range", `{"smtp":{"addr":"mail.example.org:70000","from":"a@example.com"}}`, false},
		{"smtp port zero", `{"smtp":{"addr":"mail.example.org:0","from":"a@example.com"}}`, false},
		{"smtp without host", `{"smtp":{"addr":":25","from":"a@example.com"}}`, false},
		{"smtp without port", `{"smtp":{"addr":"mail.example.org","from":"a@example.com"}}`, false},
		{"half a rate", `{"rate_limits":{"per_ip":{"per_second":1}}}`, false},
		{"external tsa", `{"tsa_urls":["https://tsa.example/"],"tsa_roots_file":"roots.pem"}`, true},
		{"tsa without roots", `{"tsa_urls":["https://tsa.example/"]}`, false},
		{"roots without tsa", `{"tsa_roots_file":"roots.pem"}`, false},
		{"tsa not http", `{"tsa_urls":["ftp://tsa.example/"],"tsa_roots_file":"roots.pem"}`, false},
		{"retention", `{"retention":{"finished_envelopes":"2160h"}}`, true},
		{"retention too short", `{"retention":{"finished_envelopes":"30m"}}`, false},
		{"negative retention", `{"retention":{"finished_envelopes":"-24h"}}`, false},
		{"retention not a duration", `{"retention":{"finished_envelopes":90}}`, false},
		{"unknown retention field", `{"retention":{"documents":"24h"}}`, false},
		{"archive", `{"archive":{"renewal_margin":"4320h","check_interval":"24h","disabled":false}}`, true},
		{"archive disabled", `{"archive":{"disabled":true}}`, true},
		{"archive margin too short", `{"archive":{"renewal_margin":"12h","check_interval":"1h"}}`, false},
		{"archive margin too long", `{"archive":{"renewal_margin":"100000h"}}`, false},
		{"archive interval too short", `{"archive":{"check_interval":"30s"}}`, false},
		{"archive interval not under margin", `{"archive":{"renewal_margin":"48h","check_interval":"48h"}}`, false},
		{"negative archive margin", `{"archive":{"renewal_margin":"-24h"}}`, false},
		{"archive margin not a duration", `{"archive":{"renewal_margin":180}}`, false},
		{"unknown archive field", `{"archive":{"margin":"24h"}}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := server.ParseConfig([]byte(tc.json))
			if (err == nil) != tc.ok {
				t.Fatalf("err=%v, want ok=%v", err, tc.ok)
			}
			if tc.ok && (c.Listen != server.DefaultListen && tc.name == "empty" || c.MaxUploadSize != server.DefaultUploadSize) {
				t.Errorf("defaults not applied: %+v", c)
			}
		})
	}
}

// TestConfigSMTPAddr: an SMTP address whose port is not a number from 1
// to 65535 is refused at start with a message naming the setting and the
// port, rather than read as port 0.
func TestConfigSMTPAddr(t *testing.T) {
	_, err := server.ParseConfig([]byte(`{"smtp":{"addr":"mail.example.org:smtps","from":"a@example.com"}}`))
	if err == nil || !strings.Contains(err.Error(), `smtp.addr "mail.example.org:smtps"`) || !strings.Contains(err.Error(), `port "smtps" is not a number from 1 to 65535`) {
		t.Fatalf("ParseConfig: %v", err)
	}
	_, err = server.New(context.Background(), server.Config{DataDir: filepath.Join(t.TempDir(), "data"),
		SMTP: server.SMTPConfig{Addr: "mail.example.org:99999", From: "a@example.com"}})
	if err == nil || !strings.Contains(err.Error(), "smtp.addr") {
		t.Fatalf("New: %v", err)
	}
}

// TestConfigurationDocExample parses the example of docs/CONFIGURATION.md
// and checks that the document names every field of the configuration.
func TestConfigurationDocExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/CONFIGURATION.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```json\n")
	example, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no JSON example in docs/CONFIGURATION.md")
	}
	if _, err := server.ParseConfig([]byte(example)); err != nil {
		t.Fatalf("the documented example does not parse: %v", err)
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[server.Config](), reflect.TypeFor[server.SMTPConfig]()} {
		for f := range typ.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !strings.Contains(string(doc), "`"+name) && !strings.Contains(string(doc), "."+name+"`") {
				t.Errorf("docs/CONFIGURATION.md does not describe %q", name)
			}
		}
	}
}
