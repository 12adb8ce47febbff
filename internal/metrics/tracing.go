package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// TracingConfig is the "tracing" setting: OpenTelemetry traces exported
// over OTLP/HTTP (protobuf). Absent, nothing is traced.
type TracingConfig struct {
	// OTLPEndpoint is the collector's OTLP/HTTP traces URL, e.g.
	// "https://otel.example:4318/v1/traces" (the path defaults to
	// /v1/traces when the URL has none).
	OTLPEndpoint string `json:"otlp_endpoint"`
	// Insecure allows an http:// endpoint (plain text); otherwise the
	// endpoint must be https://.
	Insecure bool `json:"insecure"`
	// SampleRatio is the share of requests traced, in (0, 1]; 0 means 1.
	SampleRatio float64 `json:"sample_ratio"`
}

// Validate reports whether c is usable.
func (c TracingConfig) Validate() error {
	u, err := url.Parse(c.OTLPEndpoint)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return errors.New("tracing.otlp_endpoint: want an http:// or https:// URL")
	}
	if u.Scheme == "http" && !c.Insecure {
		return errors.New("tracing.otlp_endpoint: plain http:// needs \"insecure\": true")
	}
	if u.User != nil {
		return errors.New("tracing.otlp_endpoint: credentials do not belong in the URL")
	}
	if c.SampleRatio < 0 || c.SampleRatio > 1 {
		return fmt.Errorf("tracing.sample_ratio: %v is not within [0, 1]", c.SampleRatio)
	}
	return nil
}

// A Tracer makes the service's trace spans.
type Tracer struct {
	tp *sdktrace.TracerProvider
	tr trace.Tracer
}

// NewTracer returns a tracer exporting to cfg's collector in batches
// (OTLP/HTTP, binary protobuf).
func NewTracer(cfg TracingConfig, version string) (*Tracer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	u, _ := url.Parse(cfg.OTLPEndpoint)
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return NewTracerWith(sdktrace.NewBatchSpanProcessor(newOTLPExporter(u.String())), cfg.SampleRatio, version), nil
}

// NewTracerWith returns a tracer whose spans go to sp, sampling ratio of
// the traces (0 means all).
func NewTracerWith(sp sdktrace.SpanProcessor, ratio float64, version string) *Tracer {
	if ratio <= 0 || ratio > 1 {
		ratio = 1
	}
	res := resource.NewSchemaless(semconv.ServiceName("signet"), semconv.ServiceVersion(version))
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(sp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio))),
	)
	return &Tracer{tp: tp, tr: tp.Tracer("github.com/signet-pki/signet")}
}

// Shutdown exports what is buffered and stops the tracer.
func (t *Tracer) Shutdown(ctx context.Context) error { return t.tp.Shutdown(ctx) }

// start opens a span named name under ctx's; end closes it with err.
func (t *Tracer) start(ctx context.Context, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, func(err error)) {
	ctx, span := t.tr.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
	return ctx, func(err error) {
		if err != nil {
			// The error's text may name internals: its kind only.
			span.SetStatus(codes.Error, "failed")
		}
		span.End()
	}
}
