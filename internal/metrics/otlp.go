package metrics

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// otlpExporter sends spans to an OTLP/HTTP collector as binary protobuf
// (OTLP specification, "OTLP/HTTP"): one POST of an
// ExportTraceServiceRequest per batch. It stands in for the official
// otlptracehttp exporter, whose configuration package links the gRPC
// runtime (3.4 MB of the binary, see docs/DECISIONS.md): the message
// types come from go.opentelemetry.io/proto/otlp's trace, common and
// resource packages, which need only protobuf, and the request's single
// field is framed here. Spans carry what this package records: name,
// kind, times, attributes and status (no events or links).
type otlpExporter struct {
	url    string
	client *http.Client
}

func newOTLPExporter(url string) *otlpExporter {
	return &otlpExporter{url: url, client: &http.Client{Timeout: 10 * time.Second}}
}

// ExportSpans implements [sdktrace.SpanExporter].
func (e *otlpExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	body, err := marshalExport(spans)
	if err != nil {
		return fmt.Errorf("metrics: OTLP export: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("metrics: OTLP export: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	res, err := e.client.Do(req)
	if err != nil {
		return fmt.Errorf("metrics: OTLP export: %w", err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("metrics: OTLP export: collector answered %s", res.Status)
	}
	return nil
}

// Shutdown implements [sdktrace.SpanExporter].
func (e *otlpExporter) Shutdown(context.Context) error {
	e.client.CloseIdleConnections()
	return nil
}

// marshalExport encodes spans as an ExportTraceServiceRequest: field 1,
// repeated ResourceSpans, one per resource and instrumentation scope.
func marshalExport(spans []sdktrace.ReadOnlySpan) ([]byte, error) {
	type group struct {
		rs *tracepb.ResourceSpans
		ss map[string]*tracepb.ScopeSpans
	}
	var order []*group
	groups := map[attribute.Distinct]*group{}
	for _, s := range spans {
		res := s.Resource()
		key := res.Equivalent()
		g := groups[key]
		if g == nil {
			g = &group{rs: &tracepb.ResourceSpans{Resource: &resourcepb.Resource{Attributes: keyValues(res.Attributes())},
				SchemaUrl: res.SchemaURL()}, ss: map[string]*tracepb.ScopeSpans{}}
			groups[key] = g
			order = append(order, g)
		}
		scope := s.InstrumentationScope()
		sk := scope.Name + "\x00" + scope.Version
		ss := g.ss[sk]
		if ss == nil {
			ss = &tracepb.ScopeSpans{Scope: &commonpb.InstrumentationScope{Name: scope.Name, Version: scope.Version}, SchemaUrl: scope.SchemaURL}
			g.ss[sk] = ss
			g.rs.ScopeSpans = append(g.rs.ScopeSpans, ss)
		}
		ss.Spans = append(ss.Spans, spanProto(s))
	}
	var out []byte
	for _, g := range order {
		b, err := proto.Marshal(g.rs)
		if err != nil {
			return nil, err
		}
		out = protowire.AppendTag(out, 1, protowire.BytesType)
		out = protowire.AppendBytes(out, b)
	}
	return out, nil
}

func spanProto(s sdktrace.ReadOnlySpan) *tracepb.Span {
	sc := s.SpanContext()
	tid, sid := sc.TraceID(), sc.SpanID()
	p := &tracepb.Span{
		TraceId:           tid[:],
		SpanId:            sid[:],
		TraceState:        sc.TraceState().String(),
		Name:              s.Name(),
		Kind:              tracepb.Span_SpanKind(s.SpanKind()),
		StartTimeUnixNano: uint64(s.StartTime().UnixNano()),
		EndTimeUnixNano:   uint64(s.EndTime().UnixNano()),
		Attributes:        keyValues(s.Attributes()),
		Flags:             uint32(sc.TraceFlags()) | 0x100, // SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
	}
	if parent := s.Parent(); parent.IsValid() {
		psid := parent.SpanID()
		p.ParentSpanId = psid[:]
		if parent.IsRemote() {
			p.Flags |= 0x200
		}
	}
	switch st := s.Status(); st.Code {
	case codes.Error:
		p.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: st.Description}
	case codes.Ok:
		p.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK}
	}
	return p
}

func keyValues(attrs []attribute.KeyValue) []*commonpb.KeyValue {
	out := make([]*commonpb.KeyValue, 0, len(attrs))
	for _, a := range attrs {
		v := &commonpb.AnyValue{}
		switch a.Value.Type() {
		case attribute.BOOL:
			v.Value = &commonpb.AnyValue_BoolValue{BoolValue: a.Value.AsBool()}
		case attribute.INT64:
			v.Value = &commonpb.AnyValue_IntValue{IntValue: a.Value.AsInt64()}
		case attribute.FLOAT64:
			v.Value = &commonpb.AnyValue_DoubleValue{DoubleValue: a.Value.AsFloat64()}
		default:
			v.Value = &commonpb.AnyValue_StringValue{StringValue: a.Value.String()}
		}
		out = append(out, &commonpb.KeyValue{Key: string(a.Key), Value: v})
	}
	return out
}
