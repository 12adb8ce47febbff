package admin

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
)

// PolicyBody is a tenant policy as PUT /v1/policy takes it (the tenant is
// the principal's), with durations in whole seconds (0: the default).
type PolicyBody struct {
	Roles               []RoleBody     `json:"roles"`
	StepUpWindowSeconds int64          `json:"step_up_window_seconds"`
	MaxElevationSeconds int64          `json:"max_elevation_seconds"`
	StandingPrivileged  bool           `json:"standing_privileged"`
	Separation          SeparationBody `json:"separation"`
	MFAOptional         bool           `json:"mfa_optional"`
	BreakGlass          []string       `json:"break_glass"`
}

// A RoleBody is a custom role.
type RoleBody struct {
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

// SeparationBody holds the relaxable separation-of-duties rules.
type SeparationBody struct {
	SenderMayApprove        bool `json:"sender_may_approve"`
	AuditReaderMayConfigure bool `json:"audit_reader_may_configure"`
}

// policyResponse is GET /v1/policy's answer: the policy with its version
// (also the ETag) and last update.
type policyResponse struct {
	PolicyBody
	Version   int64     `json:"version"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// maxSeconds bounds a duration in seconds before conversion.
const maxSeconds = int64(24 * time.Hour / time.Second)

// policy converts b into tenant's policy and validates it
// ([authz.TenantPolicy.Validate], custom roles by [authz.ValidateRole]).
func (b PolicyBody) policy(tenant string) (authz.TenantPolicy, error) {
	if b.StepUpWindowSeconds < 0 || b.StepUpWindowSeconds > maxSeconds || b.MaxElevationSeconds < 0 || b.MaxElevationSeconds > maxSeconds {
		return authz.TenantPolicy{}, invalid("durations are seconds from 0 to %d", maxSeconds)
	}
	p := authz.TenantPolicy{
		Tenant: tenant, StepUpWindow: time.Duration(b.StepUpWindowSeconds) * time.Second,
		MaxElevation: time.Duration(b.MaxElevationSeconds) * time.Second, StandingPrivileged: b.StandingPrivileged,
		Separation:  authz.Separation{SenderMayApprove: b.Separation.SenderMayApprove, AuditReaderMayConfigure: b.Separation.AuditReaderMayConfigure},
		MFAOptional: b.MFAOptional,
	}
	if len(b.Roles) > authz.MaxCustomRoles || len(b.BreakGlass) > authz.MaxBreakGlassUsers {
		return authz.TenantPolicy{}, invalid("at most %d custom roles and %d break-glass users", authz.MaxCustomRoles, authz.MaxBreakGlassUsers)
	}
	for _, r := range b.Roles {
		role := authz.Role{Name: r.Name}
		for _, a := range r.Actions {
			role.Actions = append(role.Actions, authz.Action(a))
		}
		if err := authz.ValidateRole(role); err != nil {
			return authz.TenantPolicy{}, &api.Error{Kind: api.KindInvalid, Type: "invalid-role", Detail: strings.TrimPrefix(err.Error(), "authz: ")}
		}
		p.Roles = append(p.Roles, role)
	}
	for _, u := range b.BreakGlass {
		if u == "" || len(u) > identity.MaxID {
			return authz.TenantPolicy{}, invalid("a break-glass user id is empty or too long")
		}
	}
	if len(b.BreakGlass) > 0 {
		p.BreakGlass = b.BreakGlass
	}
	if err := p.Validate(); err != nil {
		return authz.TenantPolicy{}, &api.Error{Kind: api.KindInvalid, Type: "invalid-policy", Detail: strings.TrimPrefix(err.Error(), "authz: ")}
	}
	return p, nil
}

func bodyOf(p authz.TenantPolicy) PolicyBody {
	b := PolicyBody{
		Roles: []RoleBody{}, StepUpWindowSeconds: int64(p.StepUpWindow / time.Second), MaxElevationSeconds: int64(p.MaxElevation / time.Second),
		StandingPrivileged: p.StandingPrivileged, MFAOptional: p.MFAOptional, BreakGlass: append([]string{}, p.BreakGlass...),
		Separation: SeparationBody{p.Separation.SenderMayApprove, p.Separation.AuditReaderMayConfigure},
	}
	for _, r := range p.Roles {
		rb := RoleBody{Name: r.Name, Actions: []string{}}
		for _, a := range r.Actions {
			rb.Actions = append(rb.Actions, string(a))
		}
		b.Roles = append(b.Roles, rb)
	}
	return b
}

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// ifMatch reads the version an If-Match header names: exactly one
// strong entity tag of digits.
func ifMatch(r *http.Request) (int64, error) {
	vs := r.Header.Values("If-Match")
	if len(vs) == 0 {
		return 0, &api.Error{Kind: api.KindConflict, Type: "precondition-required", Title: "Precondition required",
			Status: http.StatusPreconditionRequired, Detail: "send If-Match with the policy's ETag (GET /v1/policy)"}
	}
	v := strings.TrimSpace(vs[0])
	n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(v, `"`), `"`), 10, 64)
	if len(vs) != 1 || len(v) < 3 || v[0] != '"' || v[len(v)-1] != '"' || err != nil || n < 0 {
		return 0, errStale
	}
	return n, nil
}

var errStale = &api.Error{Kind: api.KindConflict, Type: "precondition-failed", Title: "Precondition failed",
	Status: http.StatusPreconditionFailed, Detail: "the policy changed since it was read: read it again (GET /v1/policy)"}

func (s *Service) handleGetPolicy(w http.ResponseWriter, r *http.Request) {
	p, err := tenantPrincipal(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	rec, err := s.cfg.Store.PolicyRecord(r.Context(), p.Tenant)
	if err != nil {
		api.WriteProblem(w, r, storeErr("policy", err))
		return
	}
	w.Header().Set("ETag", etag(rec.Version))
	api.WriteJSON(w, http.StatusOK, policyResponse{PolicyBody: bodyOf(rec.Policy), Version: rec.Version,
		UpdatedBy: rec.UpdatedBy, UpdatedAt: rec.UpdatedAt.UTC()})
}

func (s *Service) handlePutPolicy(w http.ResponseWriter, r *http.Request) {
	p, err := tenantPrincipal(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	version, err := ifMatch(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	var body PolicyBody
	if err := api.DecodeJSON(w, r, &body); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	policy, err := body.policy(p.Tenant)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	ctx := r.Context()
	doc, err := identity.MarshalPolicy(policy)
	if err != nil {
		api.WriteProblem(w, r, storeErr("policy", err))
		return
	}
	now := s.cfg.Now()
	ev := event(r, p, auditlog.AdminPolicyChanged)
	ev.Details["from_version"], ev.Details["version"], ev.Details["policy"] = strconv.FormatInt(version, 10), strconv.FormatInt(version+1, 10), string(doc)
	ev.Policy = auditlog.Policy{Decision: "allow", Policy: "authz", Rule: string(authz.ActionPolicyAdmin)}
	// A stale version is refused before anything is recorded; the store's
	// compare-and-set still decides a race.
	if cur, err := s.cfg.Store.PolicyRecord(ctx, p.Tenant); err != nil {
		api.WriteProblem(w, r, storeErr("policy", err))
		return
	} else if cur.Version != version {
		api.WriteProblem(w, r, errStale)
		return
	}
	err = s.apply(ctx, ev, func() error { return s.cfg.Store.SetPolicy(ctx, policy, version, p.ID, now) })
	if errors.Is(err, identity.ErrConflict) {
		api.WriteProblem(w, r, errStale)
		return
	}
	if err != nil {
		api.WriteProblem(w, r, storeErr("policy", err))
		return
	}
	w.Header().Set("ETag", etag(version+1))
	api.WriteJSON(w, http.StatusOK, policyResponse{PolicyBody: bodyOf(policy), Version: version + 1, UpdatedBy: p.ID, UpdatedAt: now.UTC()})
}
