package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/signet-pki/signet/auditlog"
)

// deliverTimeout bounds the recording and the delivery of one alert.
const deliverTimeout = 5 * time.Second

// Config configures an [Engine].
type Config struct {
	// Rules are the thresholds (zero fields: [DefaultRules]).
	Rules Rules
	// Recorder records alert.raised events; nil records none.
	Recorder auditlog.Recorder
	// Sinks receive every alert (more can be added with [Engine.AddSink]).
	Sinks []Sink
	// Logger receives the alerts at error level; nil means
	// slog.Default().
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// An Engine evaluates the alert rules; see the package documentation.
// It is safe for concurrent use.
type Engine struct {
	rules    Rules
	recorder auditlog.Recorder
	logger   *slog.Logger
	now      func() time.Time
	started  time.Time

	mu    sync.Mutex
	sinks []Sink

	signatures, authorities, admin, bulk, authRecipient, authIP, authTenant *counters

	consecutive *lru[string, int]
	profiles    *lru[string, *profile]
	dedup       *lru[string, time.Time]
	counts      map[CountKey]int64

	audit  auditState
	anchor anchorState
}

var _ auditlog.Observer = (*Engine)(nil).ObserveAppend

// New returns an engine for cfg.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Rules.Validate(); err != nil {
		return nil, err
	}
	r := cfg.Rules.withDefaults()
	e := &Engine{rules: r, recorder: cfg.Recorder, logger: cfg.Logger, now: cfg.Now, sinks: append([]Sink(nil), cfg.Sinks...)}
	if e.logger == nil {
		e.logger = slog.Default()
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.started = e.now()
	m := r.MaxTracked
	e.signatures = newCounters(r.SignatureFailures, m)
	e.authorities = newCounters(r.AuthorityFailures, m)
	e.admin = newCounters(r.AdminChanges, m)
	e.bulk = newCounters(r.BulkFromNew, m)
	e.authRecipient = newCounters(r.AuthFailuresRecipient, m)
	e.authIP = newCounters(r.AuthFailuresIP, m)
	e.authTenant = newCounters(r.AuthFailuresTenant, m)
	e.consecutive = newLRU[string, int](m)
	e.profiles = newLRU[string, *profile](m)
	e.dedup = newLRU[string, time.Time](m)
	e.counts = map[CountKey]int64{}
	return e, nil
}

// AddSink adds a sink that receives the alerts raised from now on.
func (e *Engine) AddSink(s Sink) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sinks = append(e.sinks, s)
}

// A CountKey is one rule and severity of [Engine.Counts].
type CountKey struct {
	Rule     Rule
	Severity Severity
}

// Counts returns how many alerts were raised since the engine started,
// per rule and severity (de-duplicated ones are not counted).
func (e *Engine) Counts() map[CountKey]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make(map[CountKey]int64, len(e.counts))
	for k, v := range e.counts {
		out[k] = v
	}
	return out
}

// raise raises each alert not raised for its rule and subject within the
// de-duplication window. It MUST be called without e.mu held.
func (e *Engine) raise(ctx context.Context, alerts ...Alert) {
	if len(alerts) == 0 {
		return
	}
	now := e.now()
	e.mu.Lock()
	var fresh []Alert
	for _, a := range alerts {
		k := dedupKey(a)
		if last, ok := e.dedup.get(k); ok && now.Sub(last) < e.rules.DedupWindow {
			continue
		}
		e.dedup.put(k, now)
		e.counts[CountKey{a.Rule, a.Severity}]++
		a.Time = now
		fresh = append(fresh, a)
	}
	sinks := append([]Sink(nil), e.sinks...)
	e.mu.Unlock()
	for _, a := range fresh {
		e.emit(ctx, a, sinks)
	}
}

// dedupKey identifies an alert's rule and subject.
func dedupKey(a Alert) string {
	k := string(a.Rule) + "\x00" + a.Tenant + "\x00" + a.Subject
	keys := make([]string, 0, len(a.Sensitive))
	for n := range a.Sensitive {
		keys = append(keys, n)
	}
	sort.Strings(keys)
	for _, n := range keys {
		k += "\x00" + n + "=" + a.Sensitive[n]
	}
	return k
}

// emit logs, records and delivers a.
func (e *Engine) emit(parent context.Context, a Alert, sinks []Sink) {
	// Recording and delivering each get their own time: an audit log
	// that hangs (the very thing an audit-append alert reports) must not
	// use up the time of the deliveries that report it elsewhere.
	parent = context.WithoutCancel(parent)
	ctx, cancel := context.WithTimeout(parent, deliverTimeout)
	defer cancel()
	attrs := []any{"rule", string(a.Rule), "severity", string(a.Severity), "tenant", a.Tenant, "subject", a.Subject, "summary", a.Summary}
	for _, k := range sortedKeys(a.Details) {
		attrs = append(attrs, k, a.Details[k])
	}
	e.logger.ErrorContext(ctx, "ALERT: "+string(a.Rule), attrs...)
	if e.recorder != nil {
		if err := e.recorder.Record(ctx, event(a)); err != nil {
			e.logger.ErrorContext(ctx, "alert: the alert could not be recorded in the audit log", "rule", string(a.Rule), "err", err)
		}
	}
	d := a
	d.Sensitive = nil
	dctx, dcancel := context.WithTimeout(parent, deliverTimeout)
	defer dcancel()
	for _, s := range sinks {
		if err := s.Deliver(dctx, d); err != nil {
			e.logger.WarnContext(ctx, "alert: delivery failed", "rule", string(a.Rule), "err", err)
		}
	}
}

// event is a's alert.raised audit event.
func event(a Alert) auditlog.Event {
	d := map[string]string{"rule": string(a.Rule), "severity": string(a.Severity), "subject": a.Subject, "summary": a.Summary}
	for k, v := range a.Details {
		if _, taken := d[k]; !taken {
			d[k] = v
		}
	}
	ev := auditlog.Event{
		Type: auditlog.AlertRaised, Tenant: a.Tenant, Actor: auditlog.Actor{Kind: auditlog.ActorSystem},
		Outcome: auditlog.OutcomeSuccess, Details: d,
	}
	if len(a.Sensitive) > 0 {
		ev.Sensitive = make(map[string]string, len(a.Sensitive))
		for k, v := range a.Sensitive {
			ev.Sensitive[k] = v
		}
	}
	return ev
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// AuthorityResult takes the result of one request to a time-stamp
// authority (kind "tsa") or OCSP responder ("ocsp") at url: err nil is a
// success.
func (e *Engine) AuthorityResult(ctx context.Context, kind, url string, err error) {
	key := kind + " " + url
	now := e.now()
	e.mu.Lock()
	if err == nil {
		if _, ok := e.consecutive.get(key); ok {
			e.consecutive.put(key, 0)
		}
		e.mu.Unlock()
		return
	}
	n, _ := e.consecutive.get(key)
	n++
	e.consecutive.put(key, n)
	inWindow := e.authorities.add(key, now)
	e.mu.Unlock()
	c := e.rules.AuthorityConsecutive
	if (c > 0 && n >= c) || inWindow {
		e.raise(ctx, Alert{Rule: RuleAuthorityUnreachable, Severity: Critical, Subject: url,
			Summary: fmt.Sprintf("the %s at %s keeps failing", kind, url),
			Details: map[string]string{"kind": kind, "url": url, "consecutive_failures": strconv.Itoa(n), "last_error": truncate(err.Error(), 200)}})
	}
}

// A Certificate is a PKI certificate within its renewal margin.
type Certificate struct {
	// Name names it, e.g. "tsa" or "ocsp/acme".
	Name     string
	Serial   string
	NotAfter time.Time
	// Tenant is the tenant whose certificate it is, "" for the platform's.
	Tenant string
}

// CheckCertificates raises an alert for each certificate still in use
// within its renewal margin (its renewal failed or has not run): critical
// once expired.
func (e *Engine) CheckCertificates(ctx context.Context, due []Certificate) {
	now := e.now()
	var alerts []Alert
	for _, c := range due {
		sev := Warning
		if !now.Before(c.NotAfter) {
			sev = Critical
		}
		alerts = append(alerts, Alert{Rule: RuleCertificateRenewal, Severity: sev, Tenant: c.Tenant, Subject: c.Name + " " + c.Serial,
			Summary: fmt.Sprintf("the certificate %s is within its renewal margin", c.Name),
			Details: map[string]string{"certificate": c.Name, "serial": c.Serial, "not_after": c.NotAfter.UTC().Format(time.RFC3339),
				"remaining": c.NotAfter.Sub(now).Round(time.Second).String()}})
	}
	e.raise(ctx, alerts...)
}

// truncate bounds s to n bytes of valid UTF-8.
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}

// errUnhealthy is wrapped by the errors of [Engine.AuditHealth].
var errUnhealthy = errors.New("alert: audit logging unhealthy")
