// Package metrics exposes the service's Prometheus metrics and, when
// configured, its OpenTelemetry traces.
//
// A [Metrics] owns its own Prometheus registry (never the global one),
// holding the Go runtime and process collectors and every signet_ metric
// listed in docs/OPERATIONS.md ("Metrics and traces"). The lower packages
// know nothing of Prometheus or OpenTelemetry: each offers a small hook
// (an optional func field or observer, nil = off), and [Hooks] supplies
// them, recording metrics, trace spans, or both. The server connects the
// hooks (internal/server/metrics.go) and serves [Metrics.Handler] on its
// own listener.
//
// Label values come from fixed sets or from the configuration, never
// from requests: route patterns (not paths), failure reasons from a
// closed list, key purposes from keys.Purpose, TSA URLs from the
// configuration.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/mail"
	"github.com/signet-pki/signet/internal/signing"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/tsa"
)

// Namespace prefixes every metric name.
const Namespace = "signet"

// Outcome label values.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// Metrics are the service's Prometheus metrics in their own registry.
// Its methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	signatures      *prometheus.CounterVec
	signDuration    prometheus.Histogram
	tsaRequests     *prometheus.CounterVec
	tsaDuration     *prometheus.HistogramVec
	fetches         *prometheus.CounterVec
	auditAppends    *prometheus.CounterVec
	auditDuration   prometheus.Histogram
	keyUses         *prometheus.CounterVec
	lockouts        *prometheus.CounterVec
	mails           *prometheus.CounterVec
	rateLimited     *prometheus.CounterVec
	webhooks        *prometheus.CounterVec
	alerts          *prometheus.CounterVec

	// certs gives the certificates whose expiry is exported.
	certsMu sync.Mutex
	certs   func() map[string]time.Time
}

// New returns the metrics in a fresh registry with the Go runtime and
// process collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	f := factory{m.reg}
	m.requests = f.counterVec("http_requests_total", "API requests answered, by route pattern and status code.", "route", "status")
	m.requestDuration = f.histogramVec("http_request_duration_seconds", "Time to answer an API request, by route pattern.", prometheus.DefBuckets, "route")
	m.signatures = f.counterVec("signatures_total", "Recipient signing operations, by outcome and failure reason.", "outcome", "reason")
	m.signDuration = f.histogram("signature_duration_seconds", "Time of a recipient signing operation (every document of the envelope left to sign).", []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30})
	m.tsaRequests = f.counterVec("tsa_requests_total", "Exchanges with time-stamp authorities, by authority URL and outcome.", "url", "outcome")
	m.tsaDuration = f.histogramVec("tsa_request_duration_seconds", "Time of an exchange with a time-stamp authority, by authority URL.", prometheus.DefBuckets, "url")
	m.fetches = f.counterVec("validation_fetches_total", "Validation data fetched for long-term signatures, by kind (ocsp, crl, certificate) and outcome.", "kind", "outcome")
	m.auditAppends = f.counterVec("audit_appends_total", "Audit log appends, by outcome.", "outcome")
	m.auditDuration = f.histogram("audit_append_duration_seconds", "Time until an audit event is durable.", []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5})
	m.keyUses = f.counterVec("key_uses_total", "Recorded uses of keys, by purpose.", "purpose")
	m.lockouts = f.counterVec("lockouts_total", "Lockouts after repeated authentication failures, by kind (recipient, user).", "kind")
	m.mails = f.counterVec("mail_sends_total", "E-mails handed to the mailer, by outcome.", "outcome")
	m.rateLimited = f.counterVec("rate_limited_total", "API requests refused by a rate limit, by scope (ip, principal, ip_sensitive, principal_sensitive).", "scope")
	m.webhooks = f.counterVec("webhook_deliveries_total", "Webhook delivery attempts, by outcome.", "outcome")
	m.alerts = f.counterVec("alerts_total", "Alerts raised, by rule and severity.", "rule", "severity")
	// The Go runtime's metrics too carry the prefix (signet_go_...).
	prometheus.WrapRegistererWithPrefix(Namespace+"_", m.reg).MustRegister(collectors.NewGoCollector())
	m.reg.MustRegister(
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{Namespace: Namespace}),
		certCollector{m},
	)
	return m
}

// Registry returns the registry, for further collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text (or negotiated)
// exposition format at GET /metrics; anything else is 404 or 405.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	return mux
}

// factory registers metrics under [Namespace].
type factory struct{ reg prometheus.Registerer }

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return h
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}

// RouteUnmatched is the route label of requests no route matched.
const RouteUnmatched = "unmatched"

// Request records an API request answered with status by route (a
// pattern such as "POST /v1/envelopes"; "" when none matched).
func (m *Metrics) Request(route string, status int, elapsed time.Duration) {
	if route == "" {
		route = RouteUnmatched
	}
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.requestDuration.WithLabelValues(route).Observe(elapsed.Seconds())
}

// Signature records a signing operation that ended with err.
func (m *Metrics) Signature(err error, elapsed time.Duration) {
	if err == nil {
		m.signatures.WithLabelValues(OutcomeSuccess, "").Inc()
	} else {
		m.signatures.WithLabelValues(OutcomeFailure, SignatureReason(err)).Inc()
	}
	m.signDuration.Observe(elapsed.Seconds())
}

// TSARequest records an exchange with the authority at url.
func (m *Metrics) TSARequest(url string, err error, elapsed time.Duration) {
	m.tsaRequests.WithLabelValues(url, outcome(err)).Inc()
	m.tsaDuration.WithLabelValues(url).Observe(elapsed.Seconds())
}

// ValidationFetch records a fetch of validation data of kind ("ocsp",
// "crl" or "certificate").
func (m *Metrics) ValidationFetch(kind string, err error) {
	switch kind {
	case "ocsp", "crl", "certificate":
	default:
		kind = "other"
	}
	m.fetches.WithLabelValues(kind, outcome(err)).Inc()
}

// AuditAppend records an append of e to the audit log, and what the
// event tells: a key's use, a lockout.
func (m *Metrics) AuditAppend(e auditlog.Event, err error, elapsed time.Duration) {
	m.auditAppends.WithLabelValues(outcome(err)).Inc()
	m.auditDuration.Observe(elapsed.Seconds())
	if err != nil {
		return
	}
	switch e.Type {
	case auditlog.KeyUsed:
		if e.Outcome == auditlog.OutcomeSuccess {
			m.keyUses.WithLabelValues(keyPurpose(e.Details["purpose"])).Inc()
		}
	case auditlog.RecipientLockedOut:
		m.lockouts.WithLabelValues("recipient").Inc()
	case auditlog.UserLockedOut:
		m.lockouts.WithLabelValues("user").Inc()
	}
}

// MailSent records an e-mail handed to the mailer.
func (m *Metrics) MailSent(err error) { m.mails.WithLabelValues(outcome(err)).Inc() }

// RateLimited records a request refused by the rate limit of scope
// (see [api.RateLimiter.Rejected]).
func (m *Metrics) RateLimited(scope string) {
	switch scope {
	case "ip", "principal", "ip_sensitive", "principal_sensitive":
	default:
		scope = "other"
	}
	m.rateLimited.WithLabelValues(scope).Inc()
}

// WebhookDelivered records a webhook delivery attempt (nil err: the
// receiver accepted it). Like [Metrics.WebhookBacklog] and
// [Metrics.AlertRaised], it does nothing on a nil *Metrics (metrics off),
// so that the webhook and alert services can call it unconditionally.
func (m *Metrics) WebhookDelivered(err error) {
	if m != nil {
		m.webhooks.WithLabelValues(outcome(err)).Inc()
	}
}

// WebhookBacklog exports signet_webhook_backlog: the webhook deliveries
// waiting to be sent or retried, as backlog reports it at each scrape (no
// sample when it fails).
func (m *Metrics) WebhookBacklog(backlog func(ctx context.Context) (int, error)) {
	if m != nil {
		m.reg.MustRegister(&backlogCollector{backlog: backlog,
			desc: prometheus.NewDesc(Namespace+"_webhook_backlog", "Webhook deliveries waiting to be sent or retried.", nil, nil)})
	}
}

type backlogCollector struct {
	backlog func(context.Context) (int, error)
	desc    *prometheus.Desc
}

func (c *backlogCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *backlogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n, err := c.backlog(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n))
	}
}

// AlertRaised records an alert of rule at severity. Both come from the
// alert engine's fixed rules, never from requests.
func (m *Metrics) AlertRaised(rule, severity string) {
	if m != nil {
		m.alerts.WithLabelValues(rule, severity).Inc()
	}
}

// CheckpointTime exports signet_audit_checkpoint_age_seconds: the time
// since the latest audit checkpoint, as latest reports it at each scrape
// (no sample while there is none, or it fails).
func (m *Metrics) CheckpointTime(latest func(ctx context.Context) (time.Time, bool, error), now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	m.reg.MustRegister(&checkpointCollector{latest: latest, now: now,
		desc: prometheus.NewDesc(Namespace+"_audit_checkpoint_age_seconds", "Seconds since the latest audit log checkpoint was published.", nil, nil)})
}

// CertificateExpiry exports signet_certificate_expiry_timestamp_seconds
// for the certificates certs returns at each scrape, keyed by role (e.g.
// "ca/root", "tsa", "tls"): their notAfter as a Unix time.
func (m *Metrics) CertificateExpiry(certs func() map[string]time.Time) {
	m.certsMu.Lock()
	m.certs = certs
	m.certsMu.Unlock()
}

type checkpointCollector struct {
	latest func(context.Context) (time.Time, bool, error)
	now    func() time.Time
	desc   *prometheus.Desc
}

func (c *checkpointCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *checkpointCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	t, ok, err := c.latest(ctx)
	if err != nil || !ok {
		return
	}
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, c.now().Sub(t).Seconds())
}

var certDesc = prometheus.NewDesc(Namespace+"_certificate_expiry_timestamp_seconds",
	"Expiry (notAfter) of the service's certificates as a Unix time, by PKI role.", []string{"role"}, nil)

type certCollector struct{ m *Metrics }

func (c certCollector) Describe(ch chan<- *prometheus.Desc) { ch <- certDesc }

func (c certCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.certsMu.Lock()
	f := c.m.certs
	c.m.certsMu.Unlock()
	if f == nil {
		return
	}
	for role, t := range f() {
		ch <- prometheus.MustNewConstMetric(certDesc, prometheus.GaugeValue, float64(t.Unix()), role)
	}
}

func outcome(err error) string {
	if err != nil {
		return OutcomeFailure
	}
	return OutcomeSuccess
}

// keyPurpose bounds a key.used event's purpose detail to the known
// purposes.
func keyPurpose(p string) string {
	switch keys.Purpose(p) {
	case keys.PurposeDocumentSigning, keys.PurposeIssuingCA, keys.PurposeRootCA, keys.PurposePlatformSeal,
		keys.PurposeTimestamping, keys.PurposeAuditCheckpoint, keys.PurposeDataKeyWrapping, keys.PurposeTLS,
		keys.PurposeWebhookSigning:
		return p
	case "ephemeral-signer":
		// The recipients' one-time signing keys (internal/signing).
		return p
	}
	return "other"
}

// signatureReasons are the failure reasons of [SignatureReason] beside the
// error kinds: the problem types a recipient's signature meets.
var signatureReasons = map[string]bool{}

func init() {
	for _, e := range []*api.Error{
		signing.ErrInvalidSession, signing.ErrPasskeyRequired, signing.ErrIntentOutdated, signing.ErrConsentRequired,
		signing.ErrNotSigner, signing.ErrEnvelopeEnded, signing.ErrLinkRevoked,
		workflow.ErrInvalidTransition, workflow.ErrNotYourTurn, workflow.ErrBusy, workflow.ErrAuditUnavailable,
	} {
		signatureReasons[e.Type] = true
	}
}

// SignatureReason names why a signing operation failed, from a fixed set:
// "tsa_unavailable" when no time-stamp could be had, "canceled" when the
// request ended first, one of the signing and workflow problem types
// (e.g. "consent-required", "not-recipients-turn"), else the error's kind
// (e.g. "unavailable", "internal").
func SignatureReason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, tsa.ErrNoToken):
		return "tsa_unavailable"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	var ae *api.Error
	if !errors.As(err, &ae) {
		return "internal"
	}
	if signatureReasons[ae.Type] {
		return ae.Type
	}
	return ae.Kind.String()
}

// Mailer returns next, counting its sends.
func (m *Metrics) Mailer(next mail.Mailer) mail.Mailer { return countingMailer{next, m} }

type countingMailer struct {
	mail.Mailer
	m *Metrics
}

func (c countingMailer) Send(ctx context.Context, msg mail.Message) error {
	err := c.Mailer.Send(ctx, msg)
	c.m.MailSent(err)
	return err
}
