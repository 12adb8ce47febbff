package alert

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/signet-pki/signet/auditlog"
)

// auditState is what the engine knows of the audit log's appends.
type auditState struct {
	pending      int
	pendingSince time.Time // when pending last rose from zero
	lastSuccess  time.Time
	failing      bool // the last append ended in failure
	lastFailure  time.Time
	lastError    string
}

// anchorState is what the engine knows of the log's checkpoints.
type anchorState struct {
	observed     bool
	failures     int64
	failingSince time.Time // zero: anchoring works
	stale        bool
	staleSince   time.Time
}

// AppendStarted is told that an append starts ([Engine.ObserveAppend]): an append is
// pending.
func (e *Engine) AppendStarted() {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.audit.pending == 0 {
		e.audit.pendingSince = now
	}
	e.audit.pending++
}

// AppendDone is told how an append ended ([Engine.ObserveAppend]): a durable event goes
// through the event rules ([Engine.Observe]); a failed append (other
// than an invalid event, a closed log or a caller that gave up) raises
// [RuleAuditAppend].
func (e *Engine) AppendDone(ctx context.Context, ev auditlog.Event, err error) {
	now := e.now()
	e.mu.Lock()
	e.audit.pending--
	if err == nil {
		e.audit.lastSuccess, e.audit.failing = now, false
		e.mu.Unlock()
		e.Observe(ctx, ev)
		return
	}
	if errors.Is(err, auditlog.ErrInvalidEvent) || errors.Is(err, auditlog.ErrClosed) || (ctx.Err() != nil && errors.Is(err, ctx.Err())) {
		e.mu.Unlock()
		return
	}
	e.audit.failing, e.audit.lastFailure, e.audit.lastError = true, now, truncate(err.Error(), 200)
	e.mu.Unlock()
	e.raise(ctx, Alert{Rule: RuleAuditAppend, Severity: Critical, Subject: "audit log",
		Summary: "the audit log failed to record an event: actions that must be audited are refused",
		Details: map[string]string{"type": string(ev.Type), "error": truncate(err.Error(), 200)}})
}

// An AnchorStatus is the state of the audit log's checkpoints, as the
// node that publishes them sees it.
type AnchorStatus struct {
	// Failures is the publisher's count of failed anchorings since it
	// started ([auditlog.Publisher.AnchorFailures]).
	Failures int64
	// LogSize is the log's size; CheckpointSize is what the latest
	// checkpoint covers (with the events its own anchoring appended, see
	// [auditlog.Publisher.SettledSize]) and CheckpointTime when it was
	// published (zero: none yet).
	LogSize        int64
	CheckpointSize int64
	CheckpointTime time.Time
}

// ObserveAnchoring takes the checkpoints' state: new anchoring failures,
// or a log grown beyond a checkpoint older than [Rules.CheckpointAge],
// raise [RuleAuditAnchoring]; a checkpoint published after the failures
// without new ones clears them.
func (e *Engine) ObserveAnchoring(ctx context.Context, s AnchorStatus) {
	now := e.now()
	e.mu.Lock()
	a := &e.anchor
	grew := s.Failures > a.failures
	a.failures, a.observed = s.Failures, true
	if grew {
		a.failingSince = now
	} else if !a.failingSince.IsZero() && s.CheckpointTime.After(a.failingSince) {
		a.failingSince = time.Time{}
	}
	ref := s.CheckpointTime
	if ref.IsZero() {
		ref = e.started
	}
	stale := s.LogSize > s.CheckpointSize && now.Sub(ref) > e.rules.CheckpointAge
	if stale && !a.stale {
		a.staleSince = now
	}
	a.stale = stale
	e.mu.Unlock()
	var alerts []Alert
	if grew {
		alerts = append(alerts, Alert{Rule: RuleAuditAnchoring, Severity: Critical, Subject: "anchoring",
			Summary: "audit checkpoints failed to be anchored outside Signet",
			Details: map[string]string{"anchor_failures": strconv.FormatInt(s.Failures, 10), "checkpoint_size": strconv.FormatInt(s.CheckpointSize, 10)}})
	}
	if stale {
		alerts = append(alerts, Alert{Rule: RuleAuditAnchoring, Severity: Critical, Subject: "checkpoints",
			Summary: fmt.Sprintf("no audit checkpoint for %v while the log grew", now.Sub(ref).Round(time.Second)),
			Details: map[string]string{"log_size": strconv.FormatInt(s.LogSize, 10), "checkpoint_size": strconv.FormatInt(s.CheckpointSize, 10),
				"max_age": e.rules.CheckpointAge.String()}})
	}
	e.raise(ctx, alerts...)
}

// CheckAudit raises [RuleAuditAppend] if appends are stalled: pending
// for longer than [Rules.AuditStall] with none succeeding. The server
// calls it periodically (appends that never return are seen by nothing
// else).
func (e *Engine) CheckAudit(ctx context.Context) {
	now := e.now()
	e.mu.Lock()
	stalled, since := e.stalled(now)
	e.mu.Unlock()
	if stalled {
		e.raise(ctx, Alert{Rule: RuleAuditAppend, Severity: Critical, Subject: "audit log stalled",
			Summary: fmt.Sprintf("audit appends pending for %v with none succeeding", now.Sub(since).Round(time.Second)),
			Details: map[string]string{"stall": e.rules.AuditStall.String()}})
	}
}

// stalled reports, with e.mu held, whether appends are stalled and since
// when nothing progressed.
func (e *Engine) stalled(now time.Time) (bool, time.Time) {
	if e.audit.pending <= 0 {
		return false, time.Time{}
	}
	since := e.audit.pendingSince
	if e.audit.lastSuccess.After(since) {
		since = e.audit.lastSuccess
	}
	return now.Sub(since) > e.rules.AuditStall, since
}

// AuditHealth reports whether audit logging is healthy: nil, or an error
// saying what is wrong (appends failing or stalled, checkpoints not
// anchored or not published). A failure counts until a later success, or
// for [Rules.AuditStall] (appends) or [Rules.CheckpointAge] (anchoring).
func (e *Engine) AuditHealth() error {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	var errs []error
	au := e.audit
	if au.failing && now.Sub(au.lastFailure) <= e.rules.AuditStall {
		errs = append(errs, fmt.Errorf("%w: the last append failed (%s)", errUnhealthy, au.lastError))
	}
	if stalled, since := e.stalled(now); stalled {
		errs = append(errs, fmt.Errorf("%w: appends pending for %v with none succeeding", errUnhealthy, now.Sub(since).Round(time.Second)))
	}
	an := e.anchor
	if !an.failingSince.IsZero() && now.Sub(an.failingSince) <= e.rules.CheckpointAge {
		errs = append(errs, fmt.Errorf("%w: checkpoints failed to be anchored", errUnhealthy))
	}
	if an.stale {
		errs = append(errs, fmt.Errorf("%w: no checkpoint published of the grown log", errUnhealthy))
	}
	return errors.Join(errs...)
}

// ObserveAppend is the engine's [auditlog.Observer]: it is told of each
// append to the audit log as it starts and how it ended.
func (e *Engine) ObserveAppend(ctx context.Context, ev auditlog.Event) (context.Context, func(error)) {
	e.AppendStarted()
	return ctx, func(err error) { e.AppendDone(ctx, ev, err) }
}
