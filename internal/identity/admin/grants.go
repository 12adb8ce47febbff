package admin

import (
	"net/http"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
)

// A Grant is a user's grant as the API shows it.
type Grant struct {
	ID          string    `json:"id"`
	Role        string    `json:"role"`
	GrantedBy   string    `json:"granted_by"`
	GrantedAt   time.Time `json:"granted_at"`
	NotBefore   time.Time `json:"not_before,omitzero"`
	NotAfter    time.Time `json:"not_after,omitzero"`
	ElevationID string    `json:"elevation_id,omitempty"`
	BreakGlass  bool      `json:"break_glass,omitempty"`
	// Active reports whether the grant is in force now by its time
	// bounds ([authz.Grant.Active]).
	Active bool `json:"active"`
	// Effective reports whether it also gives its role's actions under
	// the tenant's policy: active, of a role the policy knows, and an
	// elevation or a role that is not privileged, unless the policy
	// allows standing privileged grants ([authz.Decide] checks an
	// elevation's approval and duration further).
	Effective bool `json:"effective"`
}

// effective reports whether a grant of role, active or not, counts
// under policy (see [Grant.Effective]).
func effective(policy authz.TenantPolicy, role string, active, elevation bool) bool {
	r, ok := policy.Role(role)
	return active && ok && (elevation || !r.Privileged() || policy.StandingPrivileged)
}

// breakGlass reports whether g came from a self-approved elevation: its
// holder approved it, which authz allows only under break-glass.
func breakGlass(g identity.Grant) bool { return g.ElevationID != "" && g.GrantedBy == g.UserID }

func grantOf(g identity.Grant, policy authz.TenantPolicy, now time.Time) Grant {
	active := authzGrant(g).Active(now)
	return Grant{ID: g.ID, Role: g.Role, GrantedBy: g.GrantedBy, GrantedAt: g.GrantedAt.UTC(), NotBefore: g.NotBefore.UTC(),
		NotAfter: g.NotAfter.UTC(), ElevationID: g.ElevationID, BreakGlass: breakGlass(g), Active: active,
		Effective: effective(policy, g.Role, active, g.ElevationID != "")}
}

// authzGrant returns g as internal/authz sees it, with the elevation it
// came from (the requester is the holder; the approver, GrantedBy).
func authzGrant(g identity.Grant) authz.Grant {
	ag := authz.Grant{Role: g.Role, Tenant: g.Tenant, GrantedBy: g.GrantedBy, NotBefore: g.NotBefore, NotAfter: g.NotAfter}
	if g.ElevationID != "" {
		ag.Elevation = &authz.Elevation{RequestedBy: g.UserID, ApprovedBy: g.GrantedBy, BreakGlass: breakGlass(g)}
	}
	return ag
}

// grantDetails names g in an audit event's details.
func grantDetails(d map[string]string, g identity.Grant) {
	d["user_id"], d["role"], d["grant_id"] = g.UserID, g.Role, g.ID
	if !g.NotBefore.IsZero() {
		d["not_before"] = formatTime(g.NotBefore)
	}
	if !g.NotAfter.IsZero() {
		d["not_after"] = formatTime(g.NotAfter)
	}
	if g.ElevationID != "" {
		d["elevation_id"] = g.ElevationID
	}
}

// GrantRequest is the body of POST /v1/users/{id}/grants.
type GrantRequest struct {
	Role     string    `json:"role"`
	NotAfter time.Time `json:"not_after,omitzero"`
}

func (s *Service) handleGrant(w http.ResponseWriter, r *http.Request) {
	p, err := tenantPrincipal(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	var req GrantRequest
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	ctx := r.Context()
	policy, err := s.cfg.Store.Policy(ctx, p.Tenant)
	if err != nil {
		api.WriteProblem(w, r, storeErr("policy", err))
		return
	}
	if err := standingRoles(policy, []string{req.Role}); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	now := s.cfg.Now()
	if !req.NotAfter.IsZero() && !req.NotAfter.After(now) {
		api.WriteProblem(w, r, invalid("not_after must be in the future"))
		return
	}
	u, err := s.loadUser(r, p, authz.ActionRoleAdmin)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if u.Status != identity.StatusActive {
		api.WriteProblem(w, r, &api.Error{Kind: api.KindConflict, Type: "user-disabled", Detail: "the user is disabled"})
		return
	}
	gid, err := s.newID("grt_")
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	g := identity.Grant{ID: gid, Tenant: p.Tenant, UserID: u.ID, Role: req.Role, GrantedBy: p.ID, GrantedAt: now, NotAfter: req.NotAfter}
	ev := event(r, p, auditlog.RoleGranted)
	grantDetails(ev.Details, g)
	if err := s.apply(ctx, ev, func() error { return s.cfg.Store.AddGrant(ctx, g) }); err != nil {
		api.WriteProblem(w, r, storeErr("grant", err))
		return
	}
	w.Header().Set("Location", "/v1/users/"+u.ID+"/grants/"+g.ID)
	api.WriteJSON(w, http.StatusCreated, grantOf(g, policy, now))
}

func (s *Service) handleRevoke(w http.ResponseWriter, r *http.Request) {
	p, err := tenantPrincipal(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	u, err := s.loadUser(r, p, authz.ActionRoleAdmin)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	ctx := r.Context()
	gs, err := s.cfg.Store.Grants(ctx, p.Tenant, u.ID)
	if err != nil {
		api.WriteProblem(w, r, storeErr("grants", err))
		return
	}
	id := r.PathValue("grant")
	var g identity.Grant
	for _, x := range gs {
		if x.ID == id {
			g = x
		}
	}
	if g.ID == "" {
		api.WriteProblem(w, r, &api.Error{Kind: api.KindNotFound, Detail: "grant not found"})
		return
	}
	ev := event(r, p, auditlog.RoleRevoked)
	grantDetails(ev.Details, g)
	if err := s.apply(ctx, ev, func() error { return s.cfg.Store.RevokeGrant(ctx, p.Tenant, g.ID, p.ID, s.cfg.Now()) }); err != nil {
		api.WriteProblem(w, r, storeErr("grant", err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
