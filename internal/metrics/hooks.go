package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
)

// Hooks are the observers the server hands to the lower packages: each
// records into Metrics and opens a span of Tracer, whichever is set.
// Build them with [NewHooks].
type Hooks struct {
	m *Metrics
	t *Tracer
}

// NewHooks returns the hooks of m and t, or nil when both are nil (then
// the server leaves every hook off).
func NewHooks(m *Metrics, t *Tracer) *Hooks {
	if m == nil && t == nil {
		return nil
	}
	return &Hooks{m: m, t: t}
}

var _ api.RequestObserver = (*Hooks)(nil)

// StartRequest implements [api.RequestObserver]: the request's span.
// Spans start a new trace at the API: trace context sent by clients is
// not trusted.
func (h *Hooks) StartRequest(r *http.Request) context.Context {
	if h.t == nil {
		return r.Context()
	}
	ctx, _ := h.t.tr.Start(r.Context(), "HTTP "+r.Method, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("http.request.method", r.Method)))
	return ctx
}

// EndRequest implements [api.RequestObserver].
func (h *Hooks) EndRequest(ctx context.Context, route string, status int, elapsed time.Duration) {
	if h.m != nil {
		h.m.Request(route, status, elapsed)
	}
	if h.t == nil {
		return
	}
	span := trace.SpanFromContext(ctx)
	if route == "" {
		route = RouteUnmatched
	}
	span.SetName(route)
	span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, strconv.Itoa(status))
	}
	span.End()
}

// RateLimited is the rate limiter's hook ([api.RateLimiter.Rejected]).
func (h *Hooks) RateLimited(scope string) {
	if h.m != nil {
		h.m.RateLimited(scope)
	}
}

// observe opens a span (with a tracer) and returns the function that
// ends it and records the outcome through rec (with metrics).
func (h *Hooks) observe(ctx context.Context, name string, kind trace.SpanKind, rec func(err error, elapsed time.Duration), attrs ...attribute.KeyValue) (context.Context, func(err error)) {
	start := time.Now()
	var end func(error)
	if h.t != nil {
		ctx, end = h.t.start(ctx, name, kind, attrs...)
	}
	return ctx, func(err error) {
		if h.m != nil {
			rec(err, time.Since(start))
		}
		if end != nil {
			end(err)
		}
	}
}

// Sign is the signing service's hook (signing.Config.ObserveSign).
func (h *Hooks) Sign(ctx context.Context) (context.Context, func(err error)) {
	return h.observe(ctx, "signing.sign", trace.SpanKindInternal, func(err error, d time.Duration) { h.m.Signature(err, d) })
}

// TSA is the time-stamp client's hook (tsa.Client.Observe).
func (h *Hooks) TSA(ctx context.Context, url string) (context.Context, func(err error)) {
	return h.observe(ctx, "tsa.request", trace.SpanKindClient, func(err error, d time.Duration) { h.m.TSARequest(url, err, d) },
		attribute.String("url.full", url))
}

// Fetch is the validation data fetcher's hook (ltv.Fetcher.Observe).
func (h *Hooks) Fetch(ctx context.Context, kind, _ string) (context.Context, func(err error)) {
	return h.observe(ctx, "ltv.fetch."+kind, trace.SpanKindClient, func(err error, _ time.Duration) { h.m.ValidationFetch(kind, err) })
}

// Audit is the audit log's observer ([auditlog.Log.SetObserver]).
func (h *Hooks) Audit(ctx context.Context, e auditlog.Event) (context.Context, func(err error)) {
	return h.observe(ctx, "audit.append", trace.SpanKindInternal, func(err error, d time.Duration) { h.m.AuditAppend(e, err, d) },
		attribute.String("signet.audit.event", string(e.Type)))
}
