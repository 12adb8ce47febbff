package server_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/signet-pki/signet/internal/metrics"
	"github.com/signet-pki/signet/internal/server"
)

// scrape reads GET /metrics of r and parses it as the Prometheus text
// format.
func (r *running) scrape() map[string]*dto.MetricFamily {
	r.t.Helper()
	res, err := http.Get("http://" + r.srv.MetricsAddr().String() + "/metrics")
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); res.StatusCode != http.StatusOK || !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		r.t.Fatalf("GET /metrics: %d %q", res.StatusCode, ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		r.t.Fatalf("metrics do not parse: %v", err)
	}
	return fams
}

// sum adds the values of name's series whose labels include want.
func sum(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	var total float64
	for _, m := range f.GetMetric() {
		if !hasLabels(m, want) {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, l := range m.GetLabel() {
		got[l.GetName()] = l.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func TestMetricsMoveAsAFlowRuns(t *testing.T) {
	ctx := context.Background()
	r := start(t, filepath.Join(t.TempDir(), "data"), func(c *server.Config) { c.MetricsListen = "127.0.0.1:0" })
	before := r.scrape()
	for name := range before {
		if !strings.HasPrefix(name, metrics.Namespace+"_") {
			t.Errorf("metric %s lacks the signet_ prefix", name)
		}
	}
	for _, name := range []string{"signet_go_goroutines", "signet_process_cpu_seconds_total"} {
		if before[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	if sum(before, "signet_certificate_expiry_timestamp_seconds", map[string]string{"role": "ca/root"}) == 0 {
		t.Error("no expiry of the root CA")
	}

	// Upload, send, authenticate, sign.
	p := r.party(ctx, "Metrics Corp")
	signers := [][2]string{{"Alice Metrics", "alice@metrics.example"}}
	p.envelope(t, ctx, "Metrics agreement", signers, true)
	r.signAll(ctx, signers)
	if err := r.srv.PublishCheckpoint(ctx); err != nil {
		t.Fatal(err)
	}
	after := r.scrape()

	grew := []struct {
		name   string
		labels map[string]string
	}{
		{"signet_http_requests_total", map[string]string{"route": "POST /v1/documents", "status": "201"}},
		{"signet_http_requests_total", map[string]string{"route": "POST /v1/recipient/sign", "status": "200"}},
		{"signet_http_request_duration_seconds", map[string]string{"route": "POST /v1/recipient/sign"}},
		{"signet_signatures_total", map[string]string{"outcome": "success"}},
		{"signet_signature_duration_seconds", nil},
		{"signet_tsa_requests_total", map[string]string{"outcome": "success"}},
		{"signet_tsa_request_duration_seconds", nil},
		{"signet_audit_appends_total", map[string]string{"outcome": "success"}},
		{"signet_audit_append_duration_seconds", nil},
		{"signet_key_uses_total", map[string]string{"purpose": "ephemeral-signer"}},
		{"signet_mail_sends_total", map[string]string{"outcome": "success"}},
		{"signet_validation_fetches_total", map[string]string{"outcome": "success"}},
	}
	for _, g := range grew {
		if b, a := sum(before, g.name, g.labels), sum(after, g.name, g.labels); a <= b {
			t.Errorf("%s%v did not grow: %v then %v", g.name, g.labels, b, a)
		}
	}
	if after["signet_audit_checkpoint_age_seconds"] == nil {
		t.Error("no checkpoint age after a checkpoint")
	}
	// Routes are patterns, never paths with identifiers.
	patterns := r.srv.Router().Patterns()
	for _, m := range after["signet_http_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" && l.GetValue() != metrics.RouteUnmatched && !slices.Contains(patterns, l.GetValue()) {
				t.Errorf("route label %q is no registered pattern", l.GetValue())
			}
		}
	}

	// Only GET /metrics is served.
	base := "http://" + r.srv.MetricsAddr().String()
	if res, err := http.Post(base+"/metrics", "text/plain", nil); err != nil || res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %v %v", res, err)
	}
	if res, err := http.Get(base + "/v1/openapi.json"); err != nil || res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /v1/openapi.json on the metrics listener: %v %v", res, err)
	}
}

func TestMetricsOffByDefault(t *testing.T) {
	r := start(t, filepath.Join(t.TempDir(), "data"), nil)
	if a := r.srv.MetricsAddr(); a != nil {
		t.Fatalf("metrics listener %v without metrics_listen", a)
	}
}

func TestMetricsListenErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name   string
		mod    func(*server.Config)
		wantIn string
	}{
		{"remote without consent", func(c *server.Config) { c.MetricsListen = "0.0.0.0:9464" }, `metrics_listen "0.0.0.0:9464" is not a loopback address`},
		{"no port", func(c *server.Config) { c.MetricsListen = "127.0.0.1" }, "metrics_listen: "},
		{"address in use", func(c *server.Config) { c.MetricsListen = busy.Addr().String() }, "server: metrics_listen " + busy.Addr().String() + ": "},
		{"consent without listener", func(c *server.Config) { c.MetricsAllowRemote = true }, "metrics_allow_remote is set without metrics_listen"},
		{"tracing over plain http", func(c *server.Config) {
			c.Tracing = &metrics.TracingConfig{OTLPEndpoint: "http://127.0.0.1:4318"}
		}, `plain http:// needs "insecure": true`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := server.Config{Listen: "127.0.0.1:0", PKIListen: "127.0.0.1:0", DataDir: filepath.Join(t.TempDir(), "data")}
			tc.mod(&cfg)
			var out bytes.Buffer
			_, err := server.New(context.Background(), cfg, server.WithTerminal(&out))
			if err == nil {
				t.Fatal("started")
			}
			if msg := err.Error(); !strings.Contains(msg, tc.wantIn) || strings.Contains(msg, "\n") {
				t.Fatalf("error %q, want one line with %q", msg, tc.wantIn)
			}
		})
	}
	// A remote address is accepted once allowed.
	cfg := server.Config{Listen: "127.0.0.1:0", PKIListen: "127.0.0.1:0", DataDir: "d", MetricsListen: "0.0.0.0:9464", MetricsAllowRemote: true}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

// otlpReceiver is an OTLP/HTTP trace collector: it keeps the spans of
// every export request.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "unexpected request", http.StatusBadRequest)
		return
	}
	var rd io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rd = zr
	}
	b, err := io.ReadAll(rd)
	var req coltrace.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(b, &req)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			o.spans = append(o.spans, ss.GetSpans()...)
		}
	}
	o.mu.Unlock()
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func TestTracesOfARecipientSignature(t *testing.T) {
	ctx := context.Background()
	rec := &otlpReceiver{}
	collector := httptest.NewServer(rec)
	defer collector.Close()
	r := start(t, filepath.Join(t.TempDir(), "data"), func(c *server.Config) {
		c.Tracing = &metrics.TracingConfig{OTLPEndpoint: collector.URL, Insecure: true, SampleRatio: 1}
	})
	p := r.party(ctx, "Tracing Corp")
	signers := [][2]string{{"Alice Tracing", "alice@tracing.example"}}
	p.envelope(t, ctx, "Traced agreement", signers, true)
	r.signAll(ctx, signers)
	// Stopping flushes the spans buffered.
	r.stop()

	rec.mu.Lock()
	defer rec.mu.Unlock()
	byID := map[string]*tracepb.Span{}
	for _, s := range rec.spans {
		byID[hex.EncodeToString(s.GetSpanId())] = s
	}
	// under reports whether s descends from the span anc.
	under := func(s, anc *tracepb.Span) bool {
		for s != nil && len(s.GetParentSpanId()) > 0 {
			s = byID[hex.EncodeToString(s.GetParentSpanId())]
			if s == anc {
				return true
			}
		}
		return false
	}
	var request, sign *tracepb.Span
	for _, s := range rec.spans {
		if s.GetName() == "POST /v1/recipient/sign" {
			request = s
		}
	}
	if request == nil {
		t.Fatalf("no span of POST /v1/recipient/sign among %d spans", len(rec.spans))
	}
	if len(request.GetParentSpanId()) != 0 || request.GetKind() != tracepb.Span_SPAN_KIND_SERVER {
		t.Errorf("request span: parent %x kind %v", request.GetParentSpanId(), request.GetKind())
	}
	for _, s := range rec.spans {
		if s.GetName() == "signing.sign" && hex.EncodeToString(s.GetParentSpanId()) == hex.EncodeToString(request.GetSpanId()) {
			sign = s
		}
	}
	if sign == nil {
		t.Fatal("no signing span under the request's")
	}
	for _, name := range []string{"tsa.request", "audit.append"} {
		found := false
		for _, s := range rec.spans {
			if s.GetName() == name && under(s, sign) && slices.Equal(s.GetTraceId(), request.GetTraceId()) {
				found = true
			}
		}
		if !found {
			t.Errorf("no %s span under the signing span", name)
		}
	}
}
