package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/signet-pki/signet/internal/api"
)

// BenchmarkRequestInstrumentation is the API middleware around a trivial
// route, without instrumentation, with metrics, and with metrics and
// traces (every request sampled, spans dropped by a no-op
// exporter), side by side in one run.
func BenchmarkRequestInstrumentation(b *testing.B) {
	tr := NewTracerWith(sdktrace.NewSimpleSpanProcessor(tracetest.NewNoopExporter()), 1, "bench")
	defer tr.Shutdown(context.Background())
	cases := []struct {
		name string
		obs  api.RequestObserver
	}{
		{"off", nil},
		{"metrics", NewHooks(New(), nil)},
		{"metrics+traces", NewHooks(New(), tr)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			rt := api.NewRouter()
			rt.HandleFunc("GET /v1/envelopes/{id}", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{}`)) })
			h := api.Chain(rt, api.Stack{Observer: c.obs, Logger: slog.New(slog.DiscardHandler)})
			req := httptest.NewRequest("GET", "/v1/envelopes/env_0123456789", nil)
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
