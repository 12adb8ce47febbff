package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/password"
)

// A User is a user as the API shows it: never a password hash.
type User struct {
	ID          string    `json:"id"`
	Email       string    `json:"email"`
	Name        string    `json:"name"`
	Status      string    `json:"status"`
	CreatedAt   time.Time `json:"created_at"`
	DisabledAt  time.Time `json:"disabled_at,omitzero"`
	HasPassword bool      `json:"has_password"`
	MFARequired bool      `json:"mfa_required"`
	Grants      []Grant   `json:"grants,omitempty"`
}

func userOf(u identity.User) User {
	return User{ID: u.ID, Email: u.Email, Name: u.Name, Status: string(u.Status), CreatedAt: u.CreatedAt.UTC(),
		DisabledAt: u.DisabledAt.UTC(), HasPassword: u.PasswordHash != "", MFARequired: u.MFARequired}
}

// An Invitation is a new invitation token, shown once.
type Invitation struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// CreateUserRequest is the body of POST /v1/users.
type CreateUserRequest struct {
	Email string   `json:"email"`
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
}

type createUserResponse struct {
	User       User       `json:"user"`
	Invitation Invitation `json:"invitation"`
}

// standingRoles checks roles to be granted standing under policy: known,
// distinct, and not privileged unless the policy allows standing
// privileged grants.
func standingRoles(policy authz.TenantPolicy, roles []string) error {
	if len(roles) > MaxInviteRoles {
		return invalid("at most %d roles", MaxInviteRoles)
	}
	for i, name := range roles {
		r, ok := policy.Role(name)
		switch {
		case !ok:
			return invalid("unknown role %q", clip(name))
		case slices.Contains(roles[:i], name):
			return invalid("role %q listed twice", name)
		case r.Privileged() && !policy.StandingPrivileged:
			return &api.Error{Kind: api.KindInvalid, Type: "privileged-role",
				Detail: fmt.Sprintf("role %q is privileged: it comes only by just-in-time elevation (POST /v1/elevations)", name)}
		}
	}
	return nil
}

// clip shortens s for an error detail.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func (s *Service) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	p, err := tenantPrincipal(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	var req CreateUserRequest
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	u, tok, err := s.createUser(r, p, req)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/users/"+u.ID)
	api.WriteSecretJSON(w, r, http.StatusCreated, createUserResponse{User: u, Invitation: tok})
}

func (s *Service) createUser(r *http.Request, p api.Principal, req CreateUserRequest) (User, Invitation, error) {
	ctx := r.Context()
	email, err := identity.NormalizeEmail(req.Email)
	if err != nil {
		return User{}, Invitation{}, invalid("the e-mail address is not valid")
	}
	policy, err := s.cfg.Store.Policy(ctx, p.Tenant)
	if err != nil {
		return User{}, Invitation{}, storeErr("policy", err)
	}
	if err := standingRoles(policy, req.Roles); err != nil {
		return User{}, Invitation{}, err
	}
	if _, err := s.cfg.Store.UserByEmail(ctx, p.Tenant, email); err == nil {
		return User{}, Invitation{}, &api.Error{Kind: api.KindConflict, Detail: "a user with this e-mail address exists"}
	} else if !errors.Is(err, identity.ErrNotFound) {
		return User{}, Invitation{}, storeErr("user", err)
	}
	uid, err := s.newID("usr_")
	if err != nil {
		return User{}, Invitation{}, err
	}
	if len(req.Roles) > 0 {
		if err := api.Authorize(ctx, api.AccessCheck{Action: string(authz.ActionRoleAdmin), Subject: uid}); err != nil {
			return User{}, Invitation{}, err
		}
	}
	now := s.cfg.Now()
	u := identity.User{ID: uid, Tenant: p.Tenant, Email: email, Name: req.Name, Status: identity.StatusActive,
		CreatedAt: now, MFARequired: !policy.MFAOptional}
	if err := u.Validate(); err != nil {
		return User{}, Invitation{}, storeErr("user", err)
	}
	var grants []identity.Grant
	events := []auditlog.Event{}
	for _, role := range req.Roles {
		gid, err := s.newID("grt_")
		if err != nil {
			return User{}, Invitation{}, err
		}
		g := identity.Grant{ID: gid, Tenant: p.Tenant, UserID: uid, Role: role, GrantedBy: p.ID, GrantedAt: now}
		grants = append(grants, g)
		ev := event(r, p, auditlog.RoleGranted)
		grantDetails(ev.Details, g)
		events = append(events, ev)
	}
	tok, hash, err := s.newToken()
	if err != nil {
		return User{}, Invitation{}, err
	}
	inv := identity.Invitation{Hash: hash, Tenant: p.Tenant, UserID: uid, CreatedBy: p.ID, CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.InvitationTTL)}
	ev := event(r, p, auditlog.UserCreated)
	ev.Details["user_id"], ev.Details["roles"] = uid, strings.Join(req.Roles, " ")
	ev.Details["invitation_expires_at"] = formatTime(inv.ExpiresAt)
	ev.Sensitive = map[string]string{"email": email}
	events = append([]auditlog.Event{ev}, events...)
	if err := s.applyAll(ctx, events, func() error { return s.cfg.Store.InviteUser(ctx, u, grants, inv) }); err != nil {
		return User{}, Invitation{}, storeErr("user", err)
	}
	out := userOf(u)
	for _, g := range grants {
		out.Grants = append(out.Grants, grantOf(g, policy, now))
	}
	return out, Invitation{Token: tok, ExpiresAt: inv.ExpiresAt.UTC()}, nil
}

// applyAll records every event of evs (at least one), in order, then
// runs fn (see [Service.apply]; a failure is recorded after the last).
func (s *Service) applyAll(ctx context.Context, evs []auditlog.Event, fn func() error) error {
	last := len(evs) - 1
	for _, ev := range evs[:last] {
		if err := s.cfg.Recorder.Record(ctx, ev); err != nil {
			return &api.Error{Kind: api.KindUnavailable, Detail: "the audit log is unavailable; nothing was changed", Err: err}
		}
	}
	return s.apply(ctx, evs[last], fn)
}

// CreateFirstAdmin creates the first administrator of a new tenant
// (which has no user yet), on behalf of by (the platform administrator,
// or the command line): a user with a standing tenant-admin grant, put on
// the tenant policy's break-glass list, and an invitation token to set
// their password. A standing privileged grant counts only if the tenant
// allows them, so by default the administrator acts by elevating
// themselves through break-glass (which alerts), typically to invite and
// grant a second administrator who can then approve elevations; see
// docs/DECISIONS.md.
func (s *Service) CreateFirstAdmin(ctx context.Context, tenant, email, name string, by string) (userID, invitationToken string, err error) {
	if tenant == "" || by == "" {
		return "", "", errors.New("admin: first administrator: a tenant and who creates it are required")
	}
	norm, err := identity.NormalizeEmail(email)
	if err != nil {
		return "", "", fmt.Errorf("admin: first administrator: %w", err)
	}
	if us, err := s.cfg.Store.ListUsers(ctx, tenant, "", 1); err != nil {
		return "", "", fmt.Errorf("admin: first administrator: %w", err)
	} else if len(us) > 0 {
		return "", "", fmt.Errorf("admin: first administrator: tenant %s already has users: %w", tenant, identity.ErrExists)
	}
	rec, err := s.cfg.Store.PolicyRecord(ctx, tenant)
	if err != nil {
		return "", "", fmt.Errorf("admin: first administrator: %w", err)
	}
	uid, err := s.newID("usr_")
	if err != nil {
		return "", "", err
	}
	gid, err := s.newID("grt_")
	if err != nil {
		return "", "", err
	}
	tok, hash, err := s.newToken()
	if err != nil {
		return "", "", err
	}
	now := s.cfg.Now()
	policy := rec.Policy
	policy.BreakGlass = append(slices.Clone(policy.BreakGlass), uid)
	doc, err := identity.MarshalPolicy(policy)
	if err != nil {
		return "", "", fmt.Errorf("admin: first administrator: %w", err)
	}
	u := identity.User{ID: uid, Tenant: tenant, Email: norm, Name: name, Status: identity.StatusActive, CreatedAt: now,
		MFARequired: !policy.MFAOptional}
	g := identity.Grant{ID: gid, Tenant: tenant, UserID: uid, Role: authz.RoleTenantAdmin, GrantedBy: by, GrantedAt: now}
	inv := identity.Invitation{Hash: hash, Tenant: tenant, UserID: uid, CreatedBy: by, CreatedAt: now, ExpiresAt: now.Add(s.cfg.InvitationTTL)}
	if err := u.Validate(); err != nil {
		return "", "", fmt.Errorf("admin: first administrator: %w", err)
	}
	sys := auditlog.Actor{Kind: auditlog.ActorSystem, ID: by}
	mk := func(t auditlog.EventType) auditlog.Event {
		return auditlog.Event{Type: t, Tenant: tenant, Actor: sys, Outcome: auditlog.OutcomeSuccess,
			Details: map[string]string{"first_admin": "true"}}
	}
	pev := mk(auditlog.AdminPolicyChanged)
	pev.Details["version"], pev.Details["policy"], pev.Details["break_glass_added"] = strconv.FormatInt(rec.Version+1, 10), string(doc), uid
	// The policy first: an administrator created without their
	// break-glass entry could not bootstrap; an entry without its user
	// names nobody.
	if err := s.apply(ctx, pev, func() error { return s.cfg.Store.SetPolicy(ctx, policy, rec.Version, by, now) }); err != nil {
		return "", "", fmt.Errorf("admin: first administrator: %w", err)
	}
	uev := mk(auditlog.UserCreated)
	uev.Details["user_id"], uev.Details["roles"], uev.Details["invitation_expires_at"] = uid, g.Role, formatTime(inv.ExpiresAt)
	uev.Sensitive = map[string]string{"email": norm}
	gev := mk(auditlog.RoleGranted)
	grantDetails(gev.Details, g)
	if err := s.applyAll(ctx, []auditlog.Event{uev, gev}, func() error {
		return s.cfg.Store.InviteUser(ctx, u, []identity.Grant{g}, inv)
	}); err != nil {
		return "", "", fmt.Errorf("admin: first administrator: %w", err)
	}
	return uid, tok, nil
}

// maxPage is the default and largest page of GET /v1/users.
const maxPage = 200

func (s *Service) handleListUsers(w http.ResponseWriter, r *http.Request) {
	p, err := tenantPrincipal(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	q := r.URL.Query()
	limit := maxPage
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			api.WriteProblem(w, r, invalid("limit must be 1..%d", maxPage))
			return
		}
		limit = n
	}
	after := q.Get("after")
	if len(after) > identity.MaxID {
		api.WriteProblem(w, r, invalid("after is too long"))
		return
	}
	us, err := s.cfg.Store.ListUsers(r.Context(), p.Tenant, after, limit)
	if err != nil {
		api.WriteProblem(w, r, storeErr("users", err))
		return
	}
	out := struct {
		Users []User `json:"users"`
		Next  string `json:"next,omitempty"`
	}{Users: []User{}}
	for _, u := range us {
		out.Users = append(out.Users, userOf(u))
	}
	if len(us) == limit {
		out.Next = us[len(us)-1].ID
	}
	api.WriteJSON(w, http.StatusOK, out)
}

// loadUser loads the tenant's user named in the path and asks the
// authorizer whether p may perform action on them.
func (s *Service) loadUser(r *http.Request, p api.Principal, action authz.Action) (identity.User, error) {
	id := r.PathValue("id")
	u, err := s.cfg.Store.UserByID(r.Context(), p.Tenant, id)
	if err != nil {
		return u, storeErr("user", err)
	}
	if err := api.Authorize(r.Context(), api.AccessCheck{Action: string(action), Subject: u.ID}); err != nil {
		return u, err
	}
	return u, nil
}

func (s *Service) handleGetUser(w http.ResponseWriter, r *http.Request) {
	p, err := tenantPrincipal(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	u, err := s.loadUser(r, p, authz.ActionUserAdmin)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	gs, err := s.cfg.Store.Grants(r.Context(), p.Tenant, u.ID)
	if err != nil {
		api.WriteProblem(w, r, storeErr("grants", err))
		return
	}
	policy, err := s.cfg.Store.Policy(r.Context(), p.Tenant)
	if err != nil {
		api.WriteProblem(w, r, storeErr("policy", err))
		return
	}
	out := userOf(u)
	now := s.cfg.Now()
	out.Grants = []Grant{}
	for _, g := range gs {
		out.Grants = append(out.Grants, grantOf(g, policy, now))
	}
	api.WriteJSON(w, http.StatusOK, out)
}

// An Offboarding is what disabling a user revoked.
type Offboarding struct {
	UserID string `json:"user_id"`
	// Sessions counts the deleted sessions.
	Sessions int `json:"sessions"`
	// Elevations are the revoked pending requests.
	Elevations []string `json:"elevations"`
	// Grants are the revoked elevation grants that had not ended.
	Grants []string `json:"grants"`
	// Invitations counts the deleted unused invitations.
	Invitations int `json:"invitations"`
	// Credentials are the API keys and tokens [Config.Offboard] revoked.
	Credentials []string `json:"credentials"`
}

func (s *Service) handleDisableUser(w http.ResponseWriter, r *http.Request) {
	p, err := tenantPrincipal(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if r.PathValue("id") == p.ID {
		api.WriteProblem(w, r, &api.Error{Kind: api.KindForbidden, Detail: "nobody disables their own account: another administrator does"})
		return
	}
	u, err := s.loadUser(r, p, authz.ActionUserAdmin)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	off, err := s.offboard(r, p, u)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, off)
}

// offboard disables u and revokes everything they hold. The intent is
// recorded before anything changes (user.disabled); what was revoked is
// recorded after, in one user.offboarded event (outcome failure if a step
// failed: disabling again retries every step).
func (s *Service) offboard(r *http.Request, p api.Principal, u identity.User) (Offboarding, error) {
	ctx := r.Context()
	now := s.cfg.Now()
	ev := event(r, p, auditlog.UserDisabled)
	ev.Details["user_id"] = u.ID
	ev.Details["revokes"] = "sessions invitations pending-elevations elevation-grants api-keys tokens"
	off := Offboarding{UserID: u.ID, Elevations: []string{}, Grants: []string{}, Credentials: []string{}}
	var stepErr error
	err := s.apply(ctx, ev, func() error {
		rev, err := s.cfg.Store.DisableUser(ctx, p.Tenant, u.ID, now)
		if err != nil {
			return err
		}
		off.Sessions, off.Invitations = len(rev.Sessions), rev.Invitations
		off.Elevations = append(off.Elevations, rev.Elevations...)
		off.Grants = append(off.Grants, rev.Grants...)
		if s.cfg.Offboard != nil {
			ids, err := s.cfg.Offboard(ctx, p.Tenant, u.ID, now)
			off.Credentials = append(off.Credentials, ids...)
			if err != nil {
				stepErr = fmt.Errorf("admin: revoke API keys and tokens: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return off, storeErr("user", err)
	}
	done := event(r, p, auditlog.UserOffboarded)
	done.Details["user_id"] = u.ID
	done.Details["sessions"] = strconv.Itoa(off.Sessions)
	done.Details["invitations"] = strconv.Itoa(off.Invitations)
	done.Details["elevations"] = strings.Join(off.Elevations, " ")
	done.Details["grants"] = strings.Join(off.Grants, " ")
	done.Details["credentials"] = strings.Join(off.Credentials, " ")
	if stepErr != nil {
		done.Outcome, done.Reason = auditlog.OutcomeFailure, "API keys and tokens could not all be revoked"
	}
	if err := s.cfg.Recorder.Record(ctx, done); err != nil {
		s.cfg.Logger.ErrorContext(ctx, "admin: cannot record an offboarding", "user", u.ID, "error", err.Error())
	}
	if stepErr != nil {
		return off, &api.Error{Kind: api.KindUnavailable,
			Detail: "the user is disabled, but their API keys and tokens could not all be revoked; disable again to retry", Err: stepErr}
	}
	return off, nil
}

func (s *Service) handleReinvite(w http.ResponseWriter, r *http.Request) {
	p, err := tenantPrincipal(r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	u, err := s.loadUser(r, p, authz.ActionUserAdmin)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	switch {
	case u.Status != identity.StatusActive:
		api.WriteProblem(w, r, &api.Error{Kind: api.KindConflict, Type: "user-disabled", Detail: "the user is disabled"})
		return
	case u.PasswordHash != "":
		// An invitation sets the password: for a user who has one it
		// would be an administrator's takeover of the account.
		api.WriteProblem(w, r, &api.Error{Kind: api.KindConflict, Detail: "the user has set a password; an invitation is only for a first one"})
		return
	}
	tok, hash, err := s.newToken()
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	now := s.cfg.Now()
	inv := identity.Invitation{Hash: hash, Tenant: p.Tenant, UserID: u.ID, CreatedBy: p.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.InvitationTTL)}
	ev := event(r, p, auditlog.UserInvited)
	ev.Details["user_id"], ev.Details["invitation_expires_at"] = u.ID, formatTime(inv.ExpiresAt)
	if err := s.apply(r.Context(), ev, func() error { return s.cfg.Store.CreateInvitation(r.Context(), inv) }); err != nil {
		api.WriteProblem(w, r, storeErr("invitation", err))
		return
	}
	api.WriteSecretJSON(w, r, http.StatusCreated, Invitation{Token: tok, ExpiresAt: inv.ExpiresAt.UTC()})
}

// RedeemRequest is the body of POST /v1/invitations/redeem.
type RedeemRequest struct {
	Token    string `json:"token"`
	Password string `json:"password"`
}

// maxToken bounds an invitation token as received.
const maxToken = 128

// errNoInvitation is the one answer to every unusable token: unknown,
// used, expired, or its user disabled.
var errNoInvitation = &api.Error{Kind: api.KindNotFound, Type: "invitation-invalid",
	Detail: "the invitation is unknown, used or expired"}

func (s *Service) handleRedeem(w http.ResponseWriter, r *http.Request) {
	var req RedeemRequest
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if req.Token == "" || len(req.Token) > maxToken || !strings.HasPrefix(req.Token, invitationPrefix) {
		api.WriteProblem(w, r, errNoInvitation)
		return
	}
	if err := s.redeem(r, req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Service) redeem(r *http.Request, req RedeemRequest) error {
	ctx := r.Context()
	hash := tokenHash(req.Token)
	now := s.cfg.Now()
	inv, err := s.cfg.Store.Invitation(ctx, hash)
	if errors.Is(err, identity.ErrNotFound) || err == nil && (!inv.UsedAt.IsZero() || !now.Before(inv.ExpiresAt)) {
		return errNoInvitation
	}
	if err != nil {
		return storeErr("invitation", err)
	}
	u, err := s.cfg.Store.UserByID(ctx, inv.Tenant, inv.UserID)
	if errors.Is(err, identity.ErrNotFound) || err == nil && u.Status != identity.StatusActive {
		return errNoInvitation
	}
	if err != nil {
		return storeErr("user", err)
	}
	pol := password.Policy{SingleFactor: !u.MFARequired, Context: []string{u.Email, u.Name}}
	if err := pol.Check(req.Password); err != nil {
		return &api.Error{Kind: api.KindInvalid, Type: "weak-password", Detail: weakReason(err)}
	}
	phc, err := password.Hash(req.Password)
	if err != nil {
		return &api.Error{Kind: api.KindInvalid, Type: "weak-password", Detail: "the password cannot be used", Err: err}
	}
	ev := auditlog.Event{Type: auditlog.UserInvitationRedeemed, Tenant: inv.Tenant, Outcome: auditlog.OutcomeSuccess,
		Actor:   auditlog.Actor{Kind: auditlog.ActorUser, ID: u.ID, AuthMethods: []string{"invitation"}},
		Request: api.AuditRequest(r), Details: map[string]string{"user_id": u.ID, "invited_by": inv.CreatedBy}}
	err = s.apply(ctx, ev, func() error {
		_, err := s.cfg.Store.RedeemInvitation(ctx, hash, now, phc)
		return err
	})
	if errors.Is(err, identity.ErrNotFound) || errors.Is(err, identity.ErrDisabled) {
		return errNoInvitation
	}
	return storeErr("invitation", err)
}

// weakReason names the NIST SP 800-63B check a password failed.
func weakReason(err error) string {
	switch {
	case errors.Is(err, password.ErrTooShort):
		return "the password is too short"
	case errors.Is(err, password.ErrTooLong):
		return "the password is too long"
	case errors.Is(err, password.ErrCommon):
		return "the password is too common"
	case errors.Is(err, password.ErrContext):
		return "the password is built on the user's or the service's name"
	case errors.Is(err, password.ErrCharacters):
		return "the password holds invalid characters"
	}
	return "the password cannot be used"
}

// FirstAdminRequest is the body of POST /v1/tenants/{id}/first-admin.
type FirstAdminRequest struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// FirstAdminResponse answers it: the administrator's user id and the
// invitation that sets their password, shown once.
type FirstAdminResponse struct {
	UserID     string     `json:"user_id"`
	Invitation Invitation `json:"invitation"`
}

// handleFirstAdmin creates a new tenant's first administrator for the
// platform administrator ([Service.CreateFirstAdmin]).
func (s *Service) handleFirstAdmin(w http.ResponseWriter, r *http.Request) {
	p, ok := api.PrincipalFrom(r.Context())
	if !ok || !p.Platform || p.Tenant != "" {
		api.WriteProblem(w, r, &api.Error{Kind: api.KindForbidden, Detail: "only the platform administrator creates a tenant's first administrator"})
		return
	}
	if s.cfg.TenantExists == nil {
		api.WriteProblem(w, r, &api.Error{Kind: api.KindNotFound, Type: "not-configured", Detail: "tenants are not known to this service"})
		return
	}
	var req FirstAdminRequest
	if err := api.DecodeJSON(w, r, &req); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	tenant := r.PathValue("id")
	if err := s.cfg.TenantExists(r.Context(), tenant); err != nil {
		api.WriteProblem(w, r, storeErr("tenant", err))
		return
	}
	uid, tok, err := s.CreateFirstAdmin(r.Context(), tenant, req.Email, req.Name, p.ID)
	switch {
	case errors.Is(err, identity.ErrInvalid):
		api.WriteProblem(w, r, &api.Error{Kind: api.KindInvalid, Detail: "email must be an e-mail address and name at most 200 bytes of UTF-8", Err: err})
		return
	case err != nil:
		api.WriteProblem(w, r, storeErr("the tenant's first administrator", err))
		return
	}
	api.WriteSecretJSON(w, r, http.StatusCreated, FirstAdminResponse{UserID: uid,
		Invitation: Invitation{Token: tok, ExpiresAt: s.cfg.Now().Add(s.cfg.InvitationTTL).UTC()}})
}
