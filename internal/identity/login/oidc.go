package login

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/oidc"
)

// Cookies of an OIDC login.
const (
	// PendingCookieName names the cookie that carries a sealed
	// oidc.Pending from the start to the callback (with the __Secure-
	// prefix unless Config.Insecure).
	PendingCookieName = "signet_oidc"
	// CSRFCookieName names the short-lived cookie, readable by the
	// page's scripts, that hands the CSRF token of a session begun by a
	// redirect (an OIDC callback has no body to carry it) to the page
	// (with the __Host- prefix unless Config.Insecure).
	CSRFCookieName = "signet_csrf"
	// csrfCookieAge is how long the CSRF hand-over cookie lives.
	csrfCookieAge = 2 * time.Minute
)

// Bounds of what an OIDC session keeps of the provider's statement.
const (
	maxACR = 256
)

var errOIDC = &api.Error{Kind: api.KindUnauthorized, Type: "oidc-login-failed", Title: "Sign-in failed",
	Detail: "the sign-in at the identity provider could not be completed; start again"}

func (s *Service) pendingCookie() string {
	if s.cfg.Insecure {
		return PendingCookieName
	}
	return "__Secure-" + PendingCookieName
}

func (s *Service) csrfCookie() string {
	if s.cfg.Insecure {
		return CSRFCookieName
	}
	return "__Host-" + CSRFCookieName
}

// callbackPath is the path of a provider's callback, which the pending
// cookie is scoped to.
func callbackPath(provider string) string { return "/v1/auth/oidc/" + provider + "/callback" }

// pendingAAD binds a sealed pending login to its provider.
func pendingAAD(provider string) []byte { return []byte("signet oidc pending v1|" + provider) }

// oidcClient returns the client of the request's provider, or answers.
func (s *Service) oidcClient(w http.ResponseWriter, r *http.Request) (*oidc.Client, string, bool) {
	name := r.PathValue("provider")
	c, ok := s.cfg.OIDC[name]
	if !ok || !providerName(name) {
		api.WriteProblem(w, r, errNotConfigured)
		return nil, "", false
	}
	return c, name, true
}

// oidcStart begins a login at the provider: it seals the pending login
// into a cookie scoped to the callback and redirects the browser to the
// provider's authorization endpoint.
func (s *Service) oidcStart(w http.ResponseWriter, r *http.Request) {
	c, name, ok := s.oidcClient(w, r)
	if !ok {
		return
	}
	authURL, pd, err := c.Begin()
	if err != nil {
		s.problem(w, r, fmt.Errorf("login: OIDC begin: %w", err))
		return
	}
	b, err := pd.MarshalBinary()
	if err != nil {
		s.problem(w, r, fmt.Errorf("login: OIDC pending: %w", err))
		return
	}
	sealed, err := s.cfg.Sealer.Seal(b, pendingAAD(name))
	clear(b)
	if err != nil {
		s.problem(w, r, fmt.Errorf("login: seal OIDC pending: %w", err))
		return
	}
	// SameSite=Lax: the callback is a cross-site top-level GET, which a
	// Strict cookie would not reach.
	http.SetCookie(w, &http.Cookie{
		Name: s.pendingCookie(), Value: base64.RawURLEncoding.EncodeToString(sealed), Path: callbackPath(name),
		MaxAge: int(oidc.PendingLifetime / time.Second), Secure: !s.cfg.Insecure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, authURL, http.StatusFound)
}

// oidcCallback completes a login at the provider: the pending cookie is
// cleared first (single use), the provider's answer verified
// (oidc.Client.Finish: state, PKCE, nonce, ID token), the user found by
// the link of the provider's account (issuer, subject) in the provider's
// tenant, or else by the verified e-mail address and linked
// (oidcAccount), their roles reconciled with the provider's groups, and a
// session begun.
func (s *Service) oidcCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, name, ok := s.oidcClient(w, r)
	if !ok {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.SetCookie(w, &http.Cookie{
		Name: s.pendingCookie(), Value: "", Path: callbackPath(name), MaxAge: -1,
		Secure: !s.cfg.Insecure, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
	tenant := c.Tenant()
	pd, err := s.openPending(r, name)
	if err != nil {
		s.oidcFailed(w, r, tenant, name, "unknown", "", "no valid pending login", errOIDC)
		return
	}
	id, err := c.Finish(ctx, pd, r.URL.Query())
	if err != nil {
		slog.Default().InfoContext(ctx, "login: OIDC login refused", "provider", name, "error", err)
		s.oidcFailed(w, r, tenant, name, "unknown", "", oidcReason(err), errOIDC)
		return
	}
	u, linked, err := s.oidcAccount(ctx, tenant, id)
	var refused *oidcRefusal
	switch {
	case errors.As(err, &refused):
		s.oidcFailed(w, r, tenant, name, refused.actor, refused.email, refused.reason, errBadLogin)
		return
	case err != nil:
		s.problem(w, r, err)
		return
	}
	added, revoked, err := s.reconcileRoles(r, name, c, u, id)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	method, strong := oidc.Assurance(id)
	is, err := s.newSession(u, nil, "")
	if err != nil {
		s.problem(w, r, err)
		return
	}
	now := s.cfg.Now()
	is.sess.Method = identity.SessionOIDC
	is.sess.Provider, is.sess.AMR, is.sess.ACR, is.sess.AuthTime = name, keptAMR(id.AMR), keptACR(id.ACR), id.AuthTime
	if id.AuthTime.After(now) {
		is.sess.AuthTime = now
	}
	state := mfaNone
	if strong {
		// A provider's multi-factor login completes the login (the
		// session is not pending) but is no step-up: it is recorded as
		// "oidc-mfa", which authz does not count as strong.
		is.sess.StrongAuthMethod, is.sess.StrongAuthAt = method, now
	} else if state, err = s.mfaState(ctx, u); err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.cfg.Store.CreateSession(ctx, is.sess); err != nil {
		s.problem(w, r, fmt.Errorf("login: create session: %w", err))
		return
	}
	details := map[string]string{"method": method, "provider": name}
	if linked {
		details["linked"] = "true"
	}
	if len(added) > 0 {
		details["roles_added"] = strings.Join(added, ",")
	}
	if len(revoked) > 0 {
		details["roles_revoked"] = strings.Join(revoked, ",")
	}
	if state == mfaNone {
		if err := s.record(ctx, r, auditlog.UserLoggedIn, u, is.sess, details); err != nil {
			_ = s.cfg.Store.DeleteSession(ctx, is.sess.Hash)
			s.problem(w, r, err)
			return
		}
	}
	if old, ok := s.cookieToken(r); ok {
		if err := s.cfg.Store.DeleteSession(ctx, tokenHash(old)); err != nil && !errors.Is(err, identity.ErrNotFound) {
			slog.Default().WarnContext(ctx, "login: the previous session could not be deleted", "error", err)
		}
	}
	s.setCookie(w, is)
	http.SetCookie(w, &http.Cookie{
		Name: s.csrfCookie(), Value: is.csrf, Path: "/", MaxAge: int(csrfCookieAge / time.Second),
		Secure: !s.cfg.Insecure, HttpOnly: false, SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, s.cfg.PostLoginPath, http.StatusFound)
}

// openPending opens the request's pending-login cookie.
func (s *Service) openPending(r *http.Request, provider string) (oidc.Pending, error) {
	var pd oidc.Pending
	ck, err := r.Cookie(s.pendingCookie())
	if err != nil {
		return pd, err
	}
	if len(ck.Value) > 1024 {
		return pd, errors.New("login: pending cookie too long")
	}
	sealed, err := base64.RawURLEncoding.Strict().DecodeString(ck.Value)
	if err != nil {
		return pd, err
	}
	b, err := s.cfg.Sealer.Open(sealed, pendingAAD(provider))
	if err != nil {
		return pd, err
	}
	defer clear(b)
	err = pd.UnmarshalBinary(b)
	return pd, err
}

// oidcReason names an OIDC failure for the audit log, without the
// provider's words.
func oidcReason(err error) string {
	var er *oidc.ErrorResponse
	switch {
	case errors.As(err, &er):
		return "the provider refused the login"
	case errors.Is(err, oidc.ErrPending):
		return "invalid pending login"
	case errors.Is(err, oidc.ErrState):
		return "state mismatch"
	case errors.Is(err, oidc.ErrCallback):
		return "malformed callback"
	case errors.Is(err, oidc.ErrExchange):
		return "code exchange failed"
	case errors.Is(err, oidc.ErrIDToken):
		return "ID token refused"
	case errors.Is(err, oidc.ErrClaims):
		return "claims refused"
	}
	return "OIDC login failed"
}

// oidcFailed audits a refused OIDC login and answers with answer.
func (s *Service) oidcFailed(w http.ResponseWriter, r *http.Request, tenant, provider, actorID, email, reason string, answer error) {
	err := s.cfg.Recorder.Record(r.Context(), auditlog.Event{
		Type: auditlog.UserLoginFailed, Tenant: tenant, Request: api.AuditRequest(r), Outcome: auditlog.OutcomeFailure,
		Actor:  auditlog.Actor{Kind: auditlog.ActorUser, ID: actorID, Email: email},
		Reason: reason, Details: map[string]string{"method": identity.SessionOIDC, "provider": provider},
	})
	if err != nil {
		s.problem(w, r, fmt.Errorf("login: audit: %w", err))
		return
	}
	api.WriteProblem(w, r, answer)
}

// An oidcRefusal is a login the callback refuses with the answer of an
// unknown user, auditing reason.
type oidcRefusal struct {
	actor, email, reason string
}

func (e *oidcRefusal) Error() string { return "login: OIDC login refused: " + e.reason }

// oidcAccount returns the active user that the provider's account id
// signs in as, and whether this login linked them. The account's link
// (issuer, subject) in tenant decides first, whatever the e-mail address
// now says. An account without a link is matched by its verified e-mail
// address (or, when Config.OIDCCreateUsers allows, a new user is made for
// it) and linked in the same step; a user already linked to another
// subject of the issuer is refused, so that an address that changed
// owner at the provider cannot take over the account. A refusal is an
// *oidcRefusal.
func (s *Service) oidcAccount(ctx context.Context, tenant string, id oidc.Identity) (identity.User, bool, error) {
	l, err := s.cfg.Store.ExternalLink(ctx, tenant, id.Issuer, id.Subject)
	switch {
	case err == nil:
		u, err := s.linkedUser(ctx, l)
		return u, false, err
	case !errors.Is(err, identity.ErrNotFound):
		return identity.User{}, false, fmt.Errorf("login: external link: %w", err)
	}
	email, err := identity.NormalizeEmail(id.Email)
	if err != nil || !id.EmailVerified {
		return identity.User{}, false, &oidcRefusal{actor: "unknown", reason: "no verified e-mail address"}
	}
	u, err := s.oidcUser(ctx, tenant, email, id)
	if errors.Is(err, errUnknownUser) {
		return identity.User{}, false, &oidcRefusal{actor: "unknown", email: email, reason: "no active user with the address"}
	} else if err != nil {
		return identity.User{}, false, err
	}
	l = identity.ExternalLink{Tenant: tenant, UserID: u.ID, Issuer: id.Issuer, Subject: id.Subject, CreatedAt: s.cfg.Now()}
	err = s.cfg.Store.LinkExternal(ctx, l)
	switch {
	case err == nil:
		return u, true, nil
	case errors.Is(err, identity.ErrDisabled) || errors.Is(err, identity.ErrNotFound):
		// Disabled or deleted since it was read.
		return identity.User{}, false, &oidcRefusal{actor: "unknown", email: email, reason: "no active user with the address"}
	case errors.Is(err, identity.ErrInvalid):
		return identity.User{}, false, &oidcRefusal{actor: "unknown", email: email, reason: "the provider's subject cannot be linked"}
	case !errors.Is(err, identity.ErrExists):
		return identity.User{}, false, fmt.Errorf("login: link external account: %w", err)
	}
	// Either a concurrent first login of this account linked it, or
	// the user is linked to another subject of the issuer.
	l, err = s.cfg.Store.ExternalLink(ctx, tenant, id.Issuer, id.Subject)
	switch {
	case err == nil:
		u, err := s.linkedUser(ctx, l)
		return u, false, err
	case errors.Is(err, identity.ErrNotFound):
		return identity.User{}, false, &oidcRefusal{actor: u.ID, email: email,
			reason: "the user is linked to another account at the provider"}
	}
	return identity.User{}, false, fmt.Errorf("login: external link: %w", err)
}

// linkedUser returns the active user of l, or refuses.
func (s *Service) linkedUser(ctx context.Context, l identity.ExternalLink) (identity.User, error) {
	u, err := s.cfg.Store.UserByID(ctx, l.Tenant, l.UserID)
	switch {
	case err == nil && u.Status == identity.StatusActive:
		return u, nil
	case err == nil:
		return identity.User{}, &oidcRefusal{actor: u.ID, email: u.Email, reason: "the linked user is disabled"}
	case errors.Is(err, identity.ErrNotFound):
		return identity.User{}, &oidcRefusal{actor: l.UserID, reason: "the linked user does not exist"}
	}
	return identity.User{}, fmt.Errorf("login: linked user: %w", err)
}

var errUnknownUser = errors.New("login: no active user")

// oidcUser returns the active user of tenant with the address, creating
// one when Config.OIDCCreateUsers allows; errUnknownUser otherwise.
func (s *Service) oidcUser(ctx context.Context, tenant, email string, id oidc.Identity) (identity.User, error) {
	u, err := s.cfg.Store.UserByEmail(ctx, tenant, email)
	switch {
	case err == nil && u.Status == identity.StatusActive:
		return u, nil
	case err == nil:
		return identity.User{}, errUnknownUser
	case !errors.Is(err, identity.ErrNotFound):
		return identity.User{}, fmt.Errorf("login: user: %w", err)
	case !s.cfg.OIDCCreateUsers:
		return identity.User{}, errUnknownUser
	}
	uid, err := s.random(16)
	if err != nil {
		return identity.User{}, err
	}
	name := id.Name
	if len(name) > identity.MaxName {
		name = ""
	}
	u = identity.User{ID: "u-" + uid, Tenant: tenant, Email: email, Name: name, Status: identity.StatusActive, CreatedAt: s.cfg.Now()}
	if err := s.cfg.Store.CreateUser(ctx, u); errors.Is(err, identity.ErrExists) {
		// A concurrent first login created the user.
		return s.oidcUser(ctx, tenant, email, oidc.Identity{})
	} else if err != nil {
		return identity.User{}, fmt.Errorf("login: create user: %w", err)
	}
	return u, nil
}

// oidcGrantor is who a provider's grants are made by.
func oidcGrantor(provider string) string { return "oidc:" + provider }

// reconcileRoles makes u's standing grants made by the provider exactly
// the roles its groups map to (those the tenant knows): it adds the
// missing ones and revokes those no longer mapped, and never touches a
// grant made by a person or an elevation. A change is audited
// (user.roles_synced, with the login's request) before it is made; it
// returns the roles added and revoked.
func (s *Service) reconcileRoles(r *http.Request, provider string, c *oidc.Client, u identity.User, id oidc.Identity) (added, revoked []string, err error) {
	ctx := r.Context()
	pol, err := s.cfg.Policy(ctx, u.Tenant)
	if err != nil {
		return nil, nil, fmt.Errorf("login: policy: %w", err)
	}
	want := map[string]bool{}
	for _, role := range c.Roles(id) {
		if _, ok := pol.Role(role); ok {
			want[role] = true
		}
	}
	grants, err := s.cfg.Store.Grants(ctx, u.Tenant, u.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("login: grants: %w", err)
	}
	by, now := oidcGrantor(provider), s.cfg.Now()
	have := map[string]bool{}
	var stale []identity.Grant
	for _, g := range grants {
		if g.GrantedBy != by || g.ElevationID != "" {
			continue
		}
		if want[g.Role] && !have[g.Role] && g.NotAfter.IsZero() {
			have[g.Role] = true
			continue
		}
		stale = append(stale, g)
		revoked = append(revoked, g.Role)
	}
	for role := range want {
		if !have[role] {
			added = append(added, role)
		}
	}
	slices.Sort(added)
	slices.Sort(revoked)
	if len(added)+len(revoked) == 0 {
		return nil, nil, nil
	}
	err = s.cfg.Recorder.Record(ctx, auditlog.Event{
		Type: auditlog.UserRolesSynced, Tenant: u.Tenant, Outcome: auditlog.OutcomeSuccess, Request: api.AuditRequest(r),
		Actor:   auditlog.Actor{Kind: auditlog.ActorUser, ID: u.ID, Email: u.Email, AuthMethods: append([]string{identity.SessionOIDC}, keptAMR(id.AMR)...)},
		Details: map[string]string{"provider": provider, "granted_by": by, "added": strings.Join(added, ","), "revoked": strings.Join(revoked, ",")},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("login: audit: %w", err)
	}
	for _, g := range stale {
		if err := s.cfg.Store.RevokeGrant(ctx, u.Tenant, g.ID, by, now); err != nil && !errors.Is(err, identity.ErrNotFound) {
			return nil, nil, fmt.Errorf("login: revoke grant: %w", err)
		}
	}
	for _, role := range added {
		gid, err := s.random(16)
		if err != nil {
			return nil, nil, err
		}
		g := identity.Grant{ID: "g-" + gid, Tenant: u.Tenant, UserID: u.ID, Role: role, GrantedBy: by, GrantedAt: now}
		if err := s.cfg.Store.AddGrant(ctx, g); err != nil {
			return nil, nil, fmt.Errorf("login: add grant: %w", err)
		}
	}
	return added, revoked, nil
}

// keptAMR returns the amr values a session keeps: tokens of at most
// identity.MaxMethod lower-case letters, digits, "-" or "_", at most
// identity.MaxAMR of them; others are dropped.
func keptAMR(amr []string) []string {
	var out []string
	for _, v := range amr {
		if len(out) < identity.MaxAMR && identity.ValidMethodToken(v) {
			out = append(out, v)
		}
	}
	return out
}

// keptACR returns the acr a session keeps: "" if longer than maxACR or
// not printable ASCII.
func keptACR(acr string) string {
	if len(acr) > maxACR {
		return ""
	}
	for i := 0; i < len(acr); i++ {
		if acr[i] < 0x20 || acr[i] >= 0x7f {
			return ""
		}
	}
	return acr
}
