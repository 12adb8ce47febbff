package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/alert"
	"github.com/signet-pki/signet/internal/metrics"
	"github.com/signet-pki/signet/tsa"
)

// DefaultAlertCheckInterval is how often the alert rules that are not
// driven by events (stalled audit appends, checkpoints and anchors,
// certificates within their renewal margin) are evaluated.
const DefaultAlertCheckInterval = time.Minute

// AlertsConfig holds the alert rules' thresholds (package internal/alert);
// a field left out keeps its default, a count of -1 turns its rule off.
type AlertsConfig struct {
	// Disabled turns the alert engine off (readiness then ignores
	// audit-logging health beyond the audit-log check).
	Disabled bool `json:"disabled"`
	// CheckInterval is how often the periodic rules run (default 1m).
	CheckInterval Duration `json:"check_interval"`
	// DedupWindow: one alert per rule and subject in it (default 1h).
	DedupWindow Duration `json:"dedup_window"`
	// SignatureFailures per tenant (default 5 in 10m).
	SignatureFailures AlertThreshold `json:"signature_failures"`
	// AuthorityFailures per TSA or OCSP URL (default 5 in 10m), and
	// AuthorityConsecutive failures in a row (default 3).
	AuthorityFailures    AlertThreshold `json:"authority_failures"`
	AuthorityConsecutive int            `json:"authority_consecutive_failures"`
	// AdminChanges per principal (default 10 in 5m).
	AdminChanges AlertThreshold `json:"admin_changes"`
	// UnusualHours judges privileged actions by the principal's habits.
	UnusualHours UnusualHoursConfig `json:"unusual_hours"`
	// BulkFromNewNetwork per principal and new network or client
	// (default 20 in 1h).
	BulkFromNewNetwork AlertThreshold `json:"bulk_from_new_network"`
	// Authentication failures per recipient (default 5 in 15m), per
	// client IP (20 in 5m) and per tenant (100 in 5m).
	AuthFailuresRecipient AlertThreshold `json:"auth_failures_per_recipient"`
	AuthFailuresIP        AlertThreshold `json:"auth_failures_per_ip"`
	AuthFailuresTenant    AlertThreshold `json:"auth_failures_per_tenant"`
	// AuditStall: appends pending with none succeeding for longer are
	// stalled (default 30s).
	AuditStall Duration `json:"audit_stall"`
	// CheckpointAge: a grown log whose latest checkpoint is older is not
	// being checkpointed (default 10m).
	CheckpointAge Duration `json:"checkpoint_age"`
	// MaxTracked bounds each of the engine's tables (default 10000).
	MaxTracked int `json:"max_tracked"`
}

// An AlertThreshold fires when Count occurrences fall within Window.
type AlertThreshold struct {
	Count  int      `json:"count"`
	Window Duration `json:"window"`
}

// UnusualHoursConfig configures the unusual-hours rule.
type UnusualHoursConfig struct {
	// MinHistory is how many privileged actions a principal needs before
	// it is judged (default 50; -1: off).
	MinHistory int `json:"min_history"`
	// MaxShare: an hour of the week (with its neighbours) holding less
	// than this share of the principal's history is unusual (default
	// 0.01).
	MaxShare float64 `json:"max_share"`
}

func (t AlertThreshold) rule() alert.Threshold {
	return alert.Threshold{Count: t.Count, Window: time.Duration(t.Window)}
}

// rules returns c's thresholds for the engine.
func (c AlertsConfig) rules() alert.Rules {
	return alert.Rules{
		DedupWindow:       time.Duration(c.DedupWindow),
		SignatureFailures: c.SignatureFailures.rule(), AuthorityFailures: c.AuthorityFailures.rule(),
		AuthorityConsecutive: c.AuthorityConsecutive, AdminChanges: c.AdminChanges.rule(),
		UnusualHoursMinHistory: c.UnusualHours.MinHistory, UnusualHoursMaxShare: c.UnusualHours.MaxShare,
		BulkFromNew:           c.BulkFromNewNetwork.rule(),
		AuthFailuresRecipient: c.AuthFailuresRecipient.rule(), AuthFailuresIP: c.AuthFailuresIP.rule(), AuthFailuresTenant: c.AuthFailuresTenant.rule(),
		AuditStall: time.Duration(c.AuditStall), CheckpointAge: time.Duration(c.CheckpointAge), MaxTracked: c.MaxTracked,
	}
}

// validate reports what is wrong with c.
func (c AlertsConfig) validate() error {
	if c.CheckInterval < 0 {
		return errors.New("alerts.check_interval is negative")
	}
	if err := c.rules().Validate(); err != nil {
		return fmt.Errorf("alerts: %w", err)
	}
	return nil
}

// openAlerts starts the alert engine: it observes every append to the
// audit log (and records its alerts there). Call it right after the
// audit log is open, so that it sees everything after.
func (s *Server) openAlerts(o options) error {
	if s.cfg.Alerts.Disabled {
		return nil
	}
	e, err := alert.New(alert.Config{Rules: s.cfg.Alerts.rules(), Recorder: s.audit.log, Logger: o.logger, Now: o.now})
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.alerts = e
	if m := s.obs.metrics; m != nil {
		e.AddSink(alertCounter{m})
	}
	s.observeAudit()
	return nil
}

// watchAuthorities reports the results of the time-stamp authorities and
// OCSP responders to the alert engine.
func (s *Server) watchAuthorities() {
	if s.alerts == nil {
		return
	}
	seen := map[*tsa.Client]bool{}
	for _, t := range []any{s.timestamper, s.archiveTimestamper} {
		if c, ok := t.(*tsa.Client); ok && !seen[c] {
			seen[c] = true
			prev := c.Observe
			c.Observe = func(ctx context.Context, url string) (context.Context, func(error)) {
				ctx, done := chainStart(ctx, prev, url)
				return ctx, func(err error) {
					done(err)
					if ctx.Err() == nil {
						s.alerts.AuthorityResult(context.WithoutCancel(ctx), "tsa", url, err)
					}
				}
			}
		}
	}
	if f := s.fetcher; f != nil {
		prev := f.Observe
		f.Observe = func(ctx context.Context, kind, url string) (context.Context, func(error)) {
			var done func(error)
			if prev != nil {
				ctx, done = prev(ctx, kind, url)
			}
			return ctx, func(err error) {
				if done != nil {
					done(err)
				}
				if kind == "ocsp" && ctx.Err() == nil {
					s.alerts.AuthorityResult(context.WithoutCancel(ctx), "ocsp", url, err)
				}
			}
		}
	}
}

// startAlerts runs the periodic rules in the background: audit-logging
// health on every node (each has its own appends; the anchoring on the
// node that publishes checkpoints), certificates under a lease.
func (s *Server) startAlerts() {
	if s.alerts == nil {
		return
	}
	every := time.Duration(s.cfg.Alerts.CheckInterval)
	if every <= 0 {
		every = DefaultAlertCheckInterval
	}
	s.background.Go(func() { tick(s.backgroundCtx, every, s.checkAuditHealth, s.checkAuditHealth) })
	// Certificates are first checked one interval after start: the
	// renewer, started at the same time, renews what came due while the
	// service was down.
	s.background.Go(func() {
		s.leases.Run(s.backgroundCtx, "alert-certificates", func(ctx context.Context) { tick(ctx, every, nil, s.checkCertificates) })
	})
}

// tick calls first (if set) now and fn every interval until ctx is
// done.
func tick(ctx context.Context, every time.Duration, first, fn func(context.Context)) {
	t := time.NewTicker(every)
	defer t.Stop()
	if first != nil {
		first(ctx)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fn(ctx)
	}
}

// checkAuditHealth evaluates the audit log's appends and, on the node
// that publishes them, its checkpoints and anchors.
func (s *Server) checkAuditHealth(ctx context.Context) {
	s.alerts.CheckAudit(ctx)
	if !s.publishing.Load() {
		return
	}
	pub := s.audit.publisher
	cp, _, err := pub.Latest(ctx)
	if err != nil {
		s.logger.WarnContext(ctx, "alerts: reading the latest checkpoint", "err", err)
		return
	}
	// The events the latest checkpoint's own anchoring appended (the
	// built-in TSA's key use) wait for the next one without making it
	// late.
	covered := max(cp.Size, pub.SettledSize())
	s.alerts.ObserveAnchoring(ctx, alert.AnchorStatus{Failures: pub.AnchorFailures(), LogSize: s.audit.log.Size(),
		CheckpointSize: covered, CheckpointTime: cp.Time})
}

// checkCertificates raises an alert for every PKI certificate (TSA, OCSP
// responders, CAs) still in use within its renewal margin.
func (s *Server) checkCertificates(ctx context.Context) {
	var due []alert.Certificate
	for _, d := range s.pki.renewer.DueCertificates(s.pki.now()) {
		due = append(due, alert.Certificate{Name: d.Name, Tenant: d.Tenant, Serial: d.Certificate.SerialNumber.Text(16), NotAfter: d.Certificate.NotAfter})
	}
	s.alerts.CheckCertificates(ctx, due)
}

// auditHealth is the readiness check of audit logging: appends failing
// or stalled, checkpoints not anchored or not published.
func (s *Server) auditHealth(context.Context) error {
	if s.alerts == nil {
		return nil
	}
	return s.alerts.AuditHealth()
}

// chainStart starts prev's observation of an exchange with url, if any,
// and returns its context and a done function (never nil).
func chainStart(ctx context.Context, prev func(context.Context, string) (context.Context, func(error)), url string) (context.Context, func(error)) {
	if prev == nil {
		return ctx, func(error) {}
	}
	return prev(ctx, url)
}

// alertCounter counts raised alerts in the metrics
// (signet_alerts_total by rule and severity).
type alertCounter struct{ m *metrics.Metrics }

// Deliver implements alert.Sink.
func (c alertCounter) Deliver(_ context.Context, a alert.Alert) error {
	c.m.AlertRaised(string(a.Rule), string(a.Severity))
	return nil
}
