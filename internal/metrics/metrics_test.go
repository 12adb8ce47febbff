package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/mail"
	"github.com/signet-pki/signet/internal/signing"
	"github.com/signet-pki/signet/tsa"
)

func TestSignatureReason(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{&api.Error{Kind: api.KindUnavailable, Err: fmt.Errorf("pades: %w", tsa.ErrNoToken)}, "tsa_unavailable"},
		{fmt.Errorf("signing: %w", context.Canceled), "canceled"},
		{fmt.Errorf("x: %w", signing.ErrConsentRequired), "consent-required"},
		{&api.Error{Kind: api.KindUnavailable, Detail: "the signing certificate could not be issued"}, "unavailable"},
		// A type outside the fixed set falls back to its kind.
		{&api.Error{Kind: api.KindConflict, Type: "made-up-" + strings.Repeat("x", 8)}, "conflict"},
		{errors.New("disk on fire"), "internal"},
	}
	for _, tc := range tests {
		if got := SignatureReason(tc.err); got != tc.want {
			t.Errorf("SignatureReason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// gather returns the value of every series of m as name{labels}.
func gather(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		for _, s := range f.GetMetric() {
			var ls []string
			for _, l := range s.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			key := f.GetName() + "{" + strings.Join(ls, ",") + "}"
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = s.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = s.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[key] = float64(s.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func TestLabelsBounded(t *testing.T) {
	// The integrators' entry points are safe with metrics off.
	var off *Metrics
	off.WebhookDelivered(nil)
	off.WebhookBacklog(func(context.Context) (int, error) { return 1, nil })
	off.AlertRaised("r", "s")

	m := New()
	m.RateLimited("ip")
	m.RateLimited("ip:198.51.100.7")
	m.ValidationFetch("ocsp", nil)
	m.ValidationFetch("http://evil.example/", errors.New("x"))
	m.Request("", http.StatusNotFound, time.Millisecond)
	m.AuditAppend(auditlog.Event{Type: auditlog.KeyUsed, Outcome: auditlog.OutcomeSuccess, Details: map[string]string{"purpose": "timestamping"}}, nil, time.Millisecond)
	m.AuditAppend(auditlog.Event{Type: auditlog.KeyUsed, Outcome: auditlog.OutcomeSuccess, Details: map[string]string{"purpose": "anything-else"}}, nil, time.Millisecond)
	m.AuditAppend(auditlog.Event{Type: auditlog.KeyUsed, Outcome: auditlog.OutcomeFailure, Details: map[string]string{"purpose": "tls"}}, nil, time.Millisecond)
	m.AuditAppend(auditlog.Event{Type: auditlog.RecipientLockedOut}, nil, time.Millisecond)
	m.AuditAppend(auditlog.Event{Type: auditlog.UserLockedOut}, errors.New("not durable"), time.Millisecond)
	m.Signature(&api.Error{Kind: api.KindConflict, Type: "invented"}, time.Second)
	m.WebhookDelivered(nil)
	m.WebhookDelivered(errors.New("503"))
	m.WebhookBacklog(func(context.Context) (int, error) { return 7, nil })
	m.AlertRaised("tsa_unreachable", "critical")
	got := gather(t, m)
	want := map[string]float64{
		"signet_rate_limited_total{scope=ip}":                         1,
		"signet_rate_limited_total{scope=other}":                      1,
		"signet_validation_fetches_total{kind=ocsp,outcome=success}":  1,
		"signet_validation_fetches_total{kind=other,outcome=failure}": 1,
		"signet_http_requests_total{route=unmatched,status=404}":      1,
		"signet_http_request_duration_seconds{route=unmatched}":       1,
		"signet_key_uses_total{purpose=timestamping}":                 1,
		"signet_key_uses_total{purpose=other}":                        1,
		"signet_lockouts_total{kind=recipient}":                       1,
		"signet_audit_appends_total{outcome=success}":                 4,
		"signet_audit_appends_total{outcome=failure}":                 1,
		"signet_signatures_total{outcome=failure,reason=conflict}":    1,
		"signet_webhook_deliveries_total{outcome=success}":            1,
		"signet_webhook_deliveries_total{outcome=failure}":            1,
		"signet_webhook_backlog{}":                                    7,
		"signet_alerts_total{rule=tsa_unreachable,severity=critical}": 1,
		"signet_audit_append_duration_seconds{}":                      5,
		"signet_signature_duration_seconds{}":                         1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	for k := range got {
		if strings.HasPrefix(k, "signet_lockouts_total{kind=user") || strings.HasPrefix(k, "signet_key_uses_total{purpose=tls") {
			t.Errorf("%s counted", k)
		}
	}
}

func TestGaugesReadAtScrape(t *testing.T) {
	m := New()
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	var have bool
	m.CheckpointTime(func(context.Context) (time.Time, bool, error) { return now.Add(-90 * time.Second), have, nil }, func() time.Time { return now })
	expiry := now.Add(48 * time.Hour)
	m.CertificateExpiry(func() map[string]time.Time { return map[string]time.Time{"ca/root": expiry} })
	got := gather(t, m)
	if _, ok := got["signet_audit_checkpoint_age_seconds{}"]; ok {
		t.Error("a checkpoint age without a checkpoint")
	}
	if got["signet_certificate_expiry_timestamp_seconds{role=ca/root}"] != float64(expiry.Unix()) {
		t.Errorf("expiry %v", got)
	}
	have = true
	if got := gather(t, m); got["signet_audit_checkpoint_age_seconds{}"] != 90 {
		t.Errorf("checkpoint age %v", got["signet_audit_checkpoint_age_seconds{}"])
	}
}

type fakeMailer struct{ fail bool }

func (f fakeMailer) Send(context.Context, mail.Message) error {
	if f.fail {
		return errors.New("smtp: refused")
	}
	return nil
}

func TestMailerCounts(t *testing.T) {
	m := New()
	ctx := context.Background()
	_ = m.Mailer(fakeMailer{}).Send(ctx, mail.Message{})
	_ = m.Mailer(fakeMailer{}).Send(ctx, mail.Message{})
	if err := m.Mailer(fakeMailer{fail: true}).Send(ctx, mail.Message{}); err == nil {
		t.Error("the failure was swallowed")
	}
	got := gather(t, m)
	if got["signet_mail_sends_total{outcome=success}"] != 2 || got["signet_mail_sends_total{outcome=failure}"] != 1 {
		t.Errorf("mail counts %v", got)
	}
}

func TestHandlerServesTextFormat(t *testing.T) {
	m := New()
	m.Request("GET /v1/envelopes/{id}", 200, time.Millisecond)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	for name := range fams {
		if !strings.HasPrefix(name, "signet_") {
			t.Errorf("%s lacks the prefix", name)
		}
	}
	if fams["signet_http_requests_total"] == nil || fams["signet_go_goroutines"] == nil {
		t.Errorf("families %d, missing requests or goroutines", len(fams))
	}
	for _, method := range []string{"POST", "PUT", "DELETE"} {
		req, _ := http.NewRequest(method, srv.URL+"/metrics", nil)
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s /metrics: %v %v", method, res, err)
		}
	}
}

func TestHooks(t *testing.T) {
	if NewHooks(nil, nil) != nil {
		t.Fatal("hooks without metrics or tracer")
	}
	exp := tracetest.NewInMemoryExporter()
	tr := NewTracerWith(sdktrace.NewSimpleSpanProcessor(exp), 1, "test")
	defer tr.Shutdown(context.Background())
	// Traces alone: no metrics to record into.
	h := NewHooks(nil, tr)
	ctx, end := h.Sign(context.Background())
	_, endTSA := h.TSA(ctx, "http://tsa.example/")
	endTSA(errors.New("timeout"))
	_, endAudit := h.Audit(ctx, auditlog.Event{Type: auditlog.KeyUsed})
	endAudit(nil)
	end(nil)
	spans := exp.GetSpans()
	if len(spans) != 3 {
		t.Fatalf("%d spans", len(spans))
	}
	sign := spans[2]
	if sign.Name != "signing.sign" || spans[0].Name != "tsa.request" || spans[0].Parent.SpanID() != sign.SpanContext.SpanID() ||
		spans[1].Parent.SpanID() != sign.SpanContext.SpanID() {
		t.Errorf("spans %v / %v / %v", spans[0].Name, spans[1].Name, sign.Name)
	}
	if spans[0].Status.Code.String() != "Error" || spans[0].Status.Description != "failed" {
		t.Errorf("failed exchange's status %v", spans[0].Status)
	}
	// Metrics alone.
	m := New()
	h = NewHooks(m, nil)
	_, end = h.TSA(context.Background(), "http://tsa.example/")
	end(nil)
	if got := gather(t, m); got["signet_tsa_requests_total{outcome=success,url=http://tsa.example/}"] != 1 {
		t.Errorf("TSA count %v", got)
	}
}

func TestTracingConfigValidate(t *testing.T) {
	tests := []struct {
		cfg TracingConfig
		ok  bool
	}{
		{TracingConfig{OTLPEndpoint: "https://otel.example:4318"}, true},
		{TracingConfig{OTLPEndpoint: "http://127.0.0.1:4318", Insecure: true, SampleRatio: 0.1}, true},
		{TracingConfig{OTLPEndpoint: "http://127.0.0.1:4318"}, false},
		{TracingConfig{OTLPEndpoint: "otel.example:4318"}, false},
		{TracingConfig{OTLPEndpoint: "https://user:pw@otel.example"}, false},
		{TracingConfig{OTLPEndpoint: "https://otel.example", SampleRatio: 1.5}, false},
		{TracingConfig{}, false},
	}
	for _, tc := range tests {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v", tc.cfg, err)
		}
	}
}
