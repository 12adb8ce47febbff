package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
)

// An Elevation is an elevation request as the API shows it.
type Elevation struct {
	ID              string    `json:"id"`
	Role            string    `json:"role"`
	RequestedBy     string    `json:"requested_by"`
	Reason          string    `json:"reason"`
	DurationSeconds int64     `json:"duration_seconds"`
	RequestedAt     time.Time `json:"requested_at"`
	// Status is pending, approved, denied, expired or revoked; a pending
	// request older than [authz.PendingElevationTTL] is shown expired.
	Status    string    `json:"status"`
	DecidedBy string    `json:"decided_by,omitempty"`
	DecidedAt time.Time `json:"decided_at,omitzero"`
	GrantID   string    `json:"grant_id,omitempty"`
}

func request(e identity.Elevation) authz.ElevationRequest {
	return authz.ElevationRequest{Tenant: e.Tenant, Role: e.Role, RequestedBy: e.RequestedBy, Reason: e.Reason,
		Duration: e.Duration, RequestedAt: e.RequestedAt}
}

func elevationOf(e identity.Elevation, now time.Time) Elevation {
	st := string(e.Status)
	if e.Status == identity.ElevationPending && request(e).Expired(now) {
		st = string(identity.ElevationExpired)
	}
	return Elevation{ID: e.ID, Role: e.Role, RequestedBy: e.RequestedBy, Reason: e.Reason,
		DurationSeconds: int64(e.Duration / time.Second), RequestedAt: e.RequestedAt.UTC(), Status: st,
		DecidedBy: e.DecidedBy, DecidedAt: e.DecidedAt.UTC(), GrantID: e.GrantID}
}

// ElevationBody is the body of POST /v1/elevations.
type ElevationBody struct {
	Role            string `json:"role"`
	Reason          string `json:"reason"`
	DurationSeconds int64  `json:"duration_seconds"`
}

// userPrincipal returns the request's principal, which must be a user of
// a tenant: elevations are asked for and decided by people.
func userPrincipal(r *http.Request) (api.Principal, error) {
	p, err := tenantPrincipal(r)
	if err == nil && p.Kind != api.PrincipalUser {
		err = &api.Error{Kind: api.KindForbidden, Detail: "elevations are requested and decided by users, not API keys"}
	}
	return p, err
}

func (s *Service) handleRequestElevation(w http.ResponseWriter, r *http.Request) {
	p, err := userPrincipal(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	var body ElevationBody
	if err := api.DecodeJSON(w, r, &body); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	ctx := r.Context()
	if err := api.Authorize(ctx, api.AccessCheck{Action: string(authz.ActionElevationRequest), Subject: p.ID}); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	policy, err := s.cfg.Store.Policy(ctx, p.Tenant)
	if err != nil {
		api.WriteProblem(w, r, storeErr("policy", err))
		return
	}
	if body.DurationSeconds <= 0 || body.DurationSeconds > maxSeconds {
		api.WriteProblem(w, r, invalid("duration_seconds must be from 1 to the tenant's cap"))
		return
	}
	now := s.cfg.Now()
	req := authz.ElevationRequest{Tenant: p.Tenant, Role: body.Role, RequestedBy: p.ID, Reason: body.Reason,
		Duration: time.Duration(body.DurationSeconds) * time.Second, RequestedAt: now}
	if err := req.Validate(policy, now); err != nil {
		api.WriteProblem(w, r, &api.Error{Kind: api.KindInvalid, Type: "invalid-elevation", Detail: detailOf(err)})
		return
	}
	id, err := s.newID("elv_")
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	e := identity.Elevation{ID: id, Tenant: p.Tenant, Role: req.Role, RequestedBy: p.ID, Reason: req.Reason,
		Duration: req.Duration, RequestedAt: now, Status: identity.ElevationPending}
	ev := event(r, p, auditlog.ElevationRequested)
	ev.Details["elevation_id"], ev.Details["role"], ev.Details["reason"] = id, e.Role, e.Reason
	ev.Details["duration_seconds"] = strconv.FormatInt(body.DurationSeconds, 10)
	if err := s.apply(ctx, ev, func() error { return s.cfg.Store.RequestElevation(ctx, e) }); err != nil {
		api.WriteProblem(w, r, storeErr("elevation", err))
		return
	}
	w.Header().Set("Location", "/v1/elevations/"+id)
	api.WriteJSON(w, http.StatusCreated, elevationOf(e, now))
}

// detailOf returns the text of an authz error without its package
// prefix (authz's messages name no secret).
func detailOf(err error) string {
	msg := err.Error()
	for len(msg) > 7 && msg[:7] == "authz: " {
		msg = msg[7:]
	}
	return msg
}

func (s *Service) handleListElevations(w http.ResponseWriter, r *http.Request) {
	p, err := tenantPrincipal(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	es, err := s.cfg.Store.PendingElevations(r.Context(), p.Tenant)
	if err != nil {
		api.WriteProblem(w, r, storeErr("elevations", err))
		return
	}
	now := s.cfg.Now()
	out := struct {
		Elevations []Elevation `json:"elevations"`
	}{Elevations: []Elevation{}}
	for _, e := range es {
		out.Elevations = append(out.Elevations, elevationOf(e, now))
	}
	api.WriteJSON(w, http.StatusOK, out)
}

// pending loads the tenant's pending request named in the path.
func (s *Service) pending(r *http.Request, p api.Principal) (identity.Elevation, error) {
	e, err := s.cfg.Store.Elevation(r.Context(), p.Tenant, r.PathValue("id"))
	if err != nil {
		return e, storeErr("elevation request", err)
	}
	if e.Status != identity.ElevationPending {
		return e, &api.Error{Kind: api.KindConflict, Type: "elevation-decided", Detail: "the request is " + string(e.Status)}
	}
	return e, nil
}

func (s *Service) handleApprove(w http.ResponseWriter, r *http.Request)    { s.approve(w, r, false) }
func (s *Service) handleBreakGlass(w http.ResponseWriter, r *http.Request) { s.approve(w, r, true) }

// approve approves the request in the path. Through the break-glass
// route only the requester may, and only as break-glass.
func (s *Service) approve(w http.ResponseWriter, r *http.Request, self bool) {
	p, err := userPrincipal(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	g, policy, err := s.approveElevation(r, p, self)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, grantOf(g, policy, g.GrantedAt))
}

func (s *Service) approveElevation(r *http.Request, p api.Principal, self bool) (identity.Grant, authz.TenantPolicy, error) {
	ctx := r.Context()
	e, err := s.pending(r, p)
	if err != nil {
		return identity.Grant{}, authz.TenantPolicy{}, err
	}
	if self && e.RequestedBy != p.ID {
		return identity.Grant{}, authz.TenantPolicy{}, &api.Error{Kind: api.KindForbidden, Detail: "break-glass approves only one's own request"}
	}
	if err := api.Authorize(ctx, api.AccessCheck{Action: string(authz.ActionRoleAdmin), Subject: e.RequestedBy, Elevation: true}); err != nil {
		return identity.Grant{}, authz.TenantPolicy{}, err
	}
	policy, err := s.cfg.Store.Policy(ctx, p.Tenant)
	if err != nil {
		return identity.Grant{}, authz.TenantPolicy{}, storeErr("policy", err)
	}
	approver, err := s.principal(ctx, p)
	if err != nil {
		return identity.Grant{}, authz.TenantPolicy{}, err
	}
	now := s.cfg.Now()
	ag, d, err := authz.ApproveElevation(request(e), approver, policy, now)
	switch {
	case errors.Is(err, authz.ErrElevationExpired):
		return identity.Grant{}, authz.TenantPolicy{}, &api.Error{Kind: api.KindConflict, Type: "elevation-expired",
			Detail: fmt.Sprintf("the request waited longer than %v for approval; ask again", authz.PendingElevationTTL)}
	case errors.Is(err, authz.ErrApprovalDenied) && d.Effect == authz.StepUpRequired:
		methods := make([]string, len(d.StepUp.Methods))
		for i, m := range d.StepUp.Methods {
			methods[i] = string(m)
		}
		return identity.Grant{}, authz.TenantPolicy{}, &api.Error{Kind: api.KindUnauthorized, Type: "step-up-required", Title: "Step-up authentication required",
			Detail: d.Reason, StepUp: &api.StepUp{Methods: methods, MaxAge: int(d.StepUp.Window / time.Second)}}
	case errors.Is(err, authz.ErrApprovalDenied):
		return identity.Grant{}, authz.TenantPolicy{}, &api.Error{Kind: api.KindForbidden, Detail: "not permitted: " + d.Reason}
	case err != nil:
		// The request no longer fits the policy (a role removed, a
		// lower cap).
		return identity.Grant{}, authz.TenantPolicy{}, &api.Error{Kind: api.KindConflict, Type: "invalid-elevation", Detail: detailOf(err)}
	}
	if self && !d.Alert {
		return identity.Grant{}, authz.TenantPolicy{}, &api.Error{Kind: api.KindForbidden, Detail: "not permitted: break-glass is not enabled for this user"}
	}
	gid, err := s.newID("grt_")
	if err != nil {
		return identity.Grant{}, authz.TenantPolicy{}, err
	}
	g := identity.Grant{ID: gid, Tenant: e.Tenant, UserID: e.RequestedBy, Role: e.Role, GrantedBy: p.ID, GrantedAt: now,
		NotBefore: ag.NotBefore, NotAfter: ag.NotAfter, ElevationID: e.ID}
	ev := event(r, p, auditlog.AdminElevated)
	grantDetails(ev.Details, g)
	ev.Details["reason"] = e.Reason
	ev.Policy = auditlog.Policy{Decision: "allow", Policy: "authz", Rule: "elevation.approve"}
	if d.Alert {
		ev.Details["break_glass"] = "true"
		ev.Policy.Rule = "break-glass"
	}
	if err := s.apply(ctx, ev, func() error { return s.cfg.Store.ApproveElevation(ctx, g) }); err != nil {
		return identity.Grant{}, authz.TenantPolicy{}, storeErr("elevation request", err)
	}
	if d.Alert {
		s.alert(ctx, ev)
	}
	return g, policy, nil
}

// alert raises the break-glass alert.
func (s *Service) alert(ctx context.Context, ev auditlog.Event) {
	if s.cfg.Alert != nil {
		s.cfg.Alert(ctx, ev)
		return
	}
	s.cfg.Logger.ErrorContext(ctx, "ALERT: break-glass self-approved elevation", "tenant", ev.Tenant, "user", ev.Actor.ID,
		"role", ev.Details["role"], "elevation", ev.Details["elevation_id"])
}

// principal returns the user p as internal/authz sees it, with their
// stored grants and latest strong authentication.
func (s *Service) principal(ctx context.Context, p api.Principal) (authz.Principal, error) {
	gs, err := s.cfg.Store.Grants(ctx, p.Tenant, p.ID)
	if err != nil {
		return authz.Principal{}, storeErr("grants", err)
	}
	ap := authz.Principal{Kind: authz.KindUser, ID: p.ID, Tenant: p.Tenant,
		StrongAuth: authz.Authentication{Method: authz.Method(p.StrongAuth.Method), At: p.StrongAuth.At}}
	for _, g := range gs {
		ag := authzGrant(g)
		if ag.Elevation != nil {
			e, err := s.cfg.Store.Elevation(ctx, p.Tenant, g.ElevationID)
			if err != nil {
				return authz.Principal{}, storeErr("elevation", err)
			}
			ag.Elevation.Reason = e.Reason
		}
		ap.Grants = append(ap.Grants, ag)
	}
	return ap, nil
}

func (s *Service) handleDeny(w http.ResponseWriter, r *http.Request) {
	p, err := userPrincipal(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	ctx := r.Context()
	e, err := s.pending(r, p)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	// Not an approval: no break-glass; a requester cannot deny (nor
	// approve) their own request.
	if err := api.Authorize(ctx, api.AccessCheck{Action: string(authz.ActionRoleAdmin), Subject: e.RequestedBy}); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	now := s.cfg.Now()
	ev := event(r, p, auditlog.ElevationDenied)
	ev.Details["elevation_id"], ev.Details["role"], ev.Details["user_id"] = e.ID, e.Role, e.RequestedBy
	if err := s.apply(ctx, ev, func() error { return s.cfg.Store.DenyElevation(ctx, p.Tenant, e.ID, p.ID, now) }); err != nil {
		api.WriteProblem(w, r, storeErr("elevation request", err))
		return
	}
	e.Status, e.DecidedBy, e.DecidedAt = identity.ElevationDenied, p.ID, now
	api.WriteJSON(w, http.StatusOK, elevationOf(e, now))
}
