// Package access is the authorizer of the service: it answers, for the
// principal of a request and one action, by loading what internal/authz
// needs — the user's grants (with the elevation each came from) from the
// identity store, the tenant's policy — and asking [authz.Decide]. It
// implements [api.Authorizer], which the router's gate and the handlers
// call.
//
// Every refusal is recorded in the audit log (access.denied,
// access.step_up_required), and so is every allowed risky or privileged
// action (access.granted, with the role and the strong authentication
// that allowed it) and every break-glass self-approval
// (access.break_glass, which also raises an alert). An allowed risky or
// privileged action whose event cannot be recorded is refused: the
// audit log fails closed.
package access

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
)

// Grants loads a user's grants and the elevation requests they came
// from; [identity.Store] implements it.
type Grants interface {
	Grants(ctx context.Context, tenant, userID string) ([]identity.Grant, error)
	Elevation(ctx context.Context, tenant, id string) (identity.Elevation, error)
}

// Config configures an [Authorizer].
type Config struct {
	// Grants loads users' grants.
	Grants Grants
	// Policy returns a tenant's policy (the strict default when the
	// tenant set none).
	Policy func(ctx context.Context, tenant string) (authz.TenantPolicy, error)
	// Recorder records the decisions.
	Recorder auditlog.Recorder
	// Alert is called after a break-glass self-approval is recorded;
	// nil logs it at error level.
	Alert func(ctx context.Context, ev auditlog.Event)
	// Now defaults to time.Now.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// An Authorizer decides with [authz.Decide]; see the package doc.
type Authorizer struct{ cfg Config }

var _ api.Authorizer = (*Authorizer)(nil)

// New returns an authorizer; Grants, Policy and Recorder are required.
func New(cfg Config) (*Authorizer, error) {
	switch {
	case cfg.Grants == nil:
		return nil, errors.New("access: no grant store")
	case cfg.Policy == nil:
		return nil, errors.New("access: no policy source")
	case cfg.Recorder == nil:
		return nil, errors.New("access: no audit recorder")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Authorizer{cfg: cfg}, nil
}

// errDecide is the answer when a decision cannot be made now.
func errDecide(err error) error {
	return &api.Error{Kind: api.KindUnavailable, Detail: "cannot check permissions now", Err: err}
}

// Authorize implements [api.Authorizer].
func (a *Authorizer) Authorize(ctx context.Context, p api.Principal, c api.AccessCheck) error {
	action, err := authz.ParseAction(c.Action)
	if err != nil {
		return &api.Error{Kind: api.KindInternal, Detail: "the route declares an unknown action", Err: err}
	}
	now := a.cfg.Now()
	req := authz.Request{
		Action: action, Tenant: c.Tenant, Envelope: c.Envelope, EnvelopeSender: c.EnvelopeSender,
		HighAssurance: c.HighAssurance, Bulk: c.Bulk, Subject: c.Subject, Elevation: c.Elevation,
		Preliminary: c.Preliminary,
	}
	if req.Tenant == "" {
		req.Tenant = p.Tenant
	}
	ap, err := a.principal(ctx, p)
	if err != nil {
		return errDecide(err)
	}
	policy := authz.TenantPolicy{Tenant: p.Tenant}
	if p.Tenant != "" {
		if policy, err = a.cfg.Policy(ctx, p.Tenant); err != nil {
			return errDecide(fmt.Errorf("access: policy of %s: %w", p.Tenant, err))
		}
	}
	d := authz.Decide(ap, req, policy, now)
	return a.settle(ctx, p, req, d)
}

// settle records d as the package doc says and returns the answer.
func (a *Authorizer) settle(ctx context.Context, p api.Principal, req authz.Request, d authz.Decision) error {
	ev := auditlog.Event{
		Tenant: req.Tenant, Actor: api.AuditActor(p), Request: api.AuditRequestFrom(ctx),
		Subject: auditlog.Subject{EnvelopeID: req.Envelope},
		Policy:  auditlog.Policy{Policy: "authz", Rule: string(req.Action)},
		Details: map[string]string{"action": string(req.Action)},
	}
	if req.Subject != "" {
		ev.Details["subject"] = req.Subject
	}
	if ev.Tenant == "" {
		ev.Tenant = p.Tenant
	}
	switch d.Effect {
	case authz.Allow:
		if !d.Alert && !req.Risky() && !req.Action.Privileged() {
			return nil
		}
		ev.Type, ev.Outcome, ev.Policy.Decision = auditlog.AccessGranted, auditlog.OutcomeSuccess, "allow"
		if d.Role != "" {
			ev.Details["role"] = d.Role
		}
		if m := p.StrongAuth; m.Method != "" {
			ev.Details["strong_auth_method"] = m.Method
			ev.Details["strong_auth_at"] = m.At.UTC().Format(time.RFC3339)
		}
		if d.Alert {
			ev.Type = auditlog.AccessBreakGlass
			ev.Details["reason"] = d.Reason
		}
		if err := a.cfg.Recorder.Record(ctx, ev); err != nil {
			return &api.Error{Kind: api.KindUnavailable, Detail: "the audit log is unavailable", Err: err}
		}
		if d.Alert {
			a.alert(ctx, ev)
		}
		return nil
	case authz.StepUpRequired:
		ev.Type, ev.Outcome, ev.Policy.Decision = auditlog.AccessStepUpRequired, auditlog.OutcomeDenied, "deny"
		ev.Details["reason"] = d.Reason
		a.record(ctx, ev)
		methods := make([]string, len(d.StepUp.Methods))
		for i, m := range d.StepUp.Methods {
			methods[i] = string(m)
		}
		return &api.Error{Kind: api.KindUnauthorized, Type: "step-up-required", Title: "Step-up authentication required",
			Detail: d.Reason, StepUp: &api.StepUp{Methods: methods, MaxAge: int(d.StepUp.Window / time.Second)}}
	default:
		ev.Type, ev.Outcome, ev.Policy.Decision = auditlog.AccessDenied, auditlog.OutcomeDenied, "deny"
		ev.Details["reason"] = d.Reason
		a.record(ctx, ev)
		return &api.Error{Kind: api.KindForbidden, Type: "forbidden", Detail: "not permitted: " + d.Reason}
	}
}

// record records a refusal; the refusal stands whether or not it could
// be recorded.
func (a *Authorizer) record(ctx context.Context, ev auditlog.Event) {
	if err := a.cfg.Recorder.Record(ctx, ev); err != nil {
		a.cfg.Logger.ErrorContext(ctx, "access: cannot record a refusal", "type", string(ev.Type), "error", err.Error())
	}
}

func (a *Authorizer) alert(ctx context.Context, ev auditlog.Event) {
	if a.cfg.Alert != nil {
		a.cfg.Alert(ctx, ev)
		return
	}
	a.cfg.Logger.ErrorContext(ctx, "ALERT: break-glass self-approval", "tenant", ev.Tenant, "actor", ev.Actor.ID, "action", ev.Details["action"])
}

// principal returns the authz principal of p, with its grants.
func (a *Authorizer) principal(ctx context.Context, p api.Principal) (authz.Principal, error) {
	ap := authz.Principal{ID: p.ID, Tenant: p.Tenant, Platform: p.Platform, Envelope: p.Envelope,
		StrongAuth: authz.Authentication{Method: authz.Method(p.StrongAuth.Method), At: p.StrongAuth.At}}
	switch p.Kind {
	case api.PrincipalRecipient:
		ap.Kind = authz.KindRecipient
	case api.PrincipalAPIKey:
		ap.Kind = authz.KindServiceAccount
		// A service account cannot step up, whatever its principal says.
		ap.StrongAuth = authz.Authentication{}
		for _, r := range p.Roles {
			ap.Grants = append(ap.Grants, authz.Grant{Role: r, Tenant: p.Tenant, GrantedBy: p.GrantedBy, NotBefore: p.GrantedAt})
		}
		for _, s := range p.Actions {
			act, err := authz.ParseAction(s)
			if err != nil {
				continue // an action this version does not know is not held
			}
			ap.KeyActions = append(ap.KeyActions, act)
		}
	case api.PrincipalUser:
		ap.Kind = authz.KindUser
		if p.Platform || p.Tenant == "" {
			return ap, nil
		}
		gs, err := a.cfg.Grants.Grants(ctx, p.Tenant, p.ID)
		if err != nil {
			return authz.Principal{}, fmt.Errorf("access: grants of %s: %w", p.ID, err)
		}
		for _, g := range gs {
			ag, err := a.grant(ctx, g)
			if err != nil {
				return authz.Principal{}, err
			}
			ap.Grants = append(ap.Grants, ag)
		}
	default:
		ap.Kind = authz.Kind(p.Kind)
	}
	return ap, nil
}

// grant converts a stored grant, with the elevation it came from.
func (a *Authorizer) grant(ctx context.Context, g identity.Grant) (authz.Grant, error) {
	ag := authz.Grant{Role: g.Role, Tenant: g.Tenant, GrantedBy: g.GrantedBy, NotBefore: g.NotBefore, NotAfter: g.NotAfter}
	if g.ElevationID == "" {
		return ag, nil
	}
	e, err := a.cfg.Grants.Elevation(ctx, g.Tenant, g.ElevationID)
	if err != nil {
		return authz.Grant{}, fmt.Errorf("access: elevation %s: %w", g.ElevationID, err)
	}
	ag.Elevation = &authz.Elevation{RequestedBy: e.RequestedBy, ApprovedBy: g.GrantedBy, Reason: e.Reason,
		BreakGlass: g.GrantedBy == e.RequestedBy}
	return ag, nil
}
