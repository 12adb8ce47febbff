package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/signet-pki/signet/auditlog"
)

// TestOTLPExport decodes what the exporter sends with the collector's own
// message type.
func TestOTLPExport(t *testing.T) {
	mem := tracetest.NewInMemoryExporter()
	tr := NewTracerWith(sdktrace.NewSimpleSpanProcessor(mem), 1, "v-test")
	h := NewHooks(nil, tr)
	ctx, end := h.Sign(context.Background())
	_, endAudit := h.Audit(ctx, auditlog.Event{Type: auditlog.SignatureCreated})
	endAudit(errors.New("not durable"))
	end(nil)
	snaps := mem.GetSpans().Snapshots()
	_ = tr.Shutdown(context.Background())

	var got coltrace.ExportTraceServiceRequest
	status := http.StatusOK
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "application/x-protobuf" || proto.Unmarshal(b, &got) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.WriteHeader(status)
	}))
	defer collector.Close()
	exp := newOTLPExporter(collector.URL + "/v1/traces")
	if err := exp.ExportSpans(context.Background(), snaps); err != nil {
		t.Fatal(err)
	}
	rs := got.GetResourceSpans()
	if len(rs) != 1 || len(rs[0].GetScopeSpans()) != 1 {
		t.Fatalf("resource spans %v", rs)
	}
	var service string
	for _, kv := range rs[0].GetResource().GetAttributes() {
		if kv.GetKey() == "service.name" {
			service = kv.GetValue().GetStringValue()
		}
	}
	if service != "signet" {
		t.Errorf("service.name %q", service)
	}
	spans := rs[0].GetScopeSpans()[0].GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	audit, sign := spans[0], spans[1]
	if audit.GetName() != "audit.append" || sign.GetName() != "signing.sign" || !proto.Equal(&tracepb.Span{SpanId: audit.GetParentSpanId()}, &tracepb.Span{SpanId: sign.GetSpanId()}) {
		t.Errorf("spans %q under %x, %q %x", audit.GetName(), audit.GetParentSpanId(), sign.GetName(), sign.GetSpanId())
	}
	if audit.GetStatus().GetCode() != tracepb.Status_STATUS_CODE_ERROR || sign.GetStatus().GetCode() != tracepb.Status_STATUS_CODE_UNSET {
		t.Errorf("statuses %v %v", audit.GetStatus(), sign.GetStatus())
	}
	if a := audit.GetAttributes(); len(a) != 1 || a[0].GetKey() != "signet.audit.event" || a[0].GetValue().GetStringValue() != "signature.created" {
		t.Errorf("attributes %v", a)
	}
	if audit.GetEndTimeUnixNano() < audit.GetStartTimeUnixNano() || len(audit.GetTraceId()) != 16 {
		t.Errorf("span %v", audit)
	}
	// A collector that refuses is an error.
	status = http.StatusServiceUnavailable
	if err := exp.ExportSpans(context.Background(), snaps); err == nil {
		t.Error("a refused export succeeded")
	}
}
