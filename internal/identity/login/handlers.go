package login

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/password"
)

// maxBody bounds the JSON bodies of these routes.
const maxBody = 8 << 10

// Register adds the routes of [OpenAPI] to mux. The one-time-code and
// password routes are marked api.Sensitive.
func (s *Service) Register(mux api.Mux) {
	sensitive := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, api.Sensitive(h)) }
	sensitive("POST /v1/auth/login", s.login)
	sensitive("POST /v1/auth/mfa/totp", s.mfaTOTP)
	sensitive("POST /v1/auth/mfa/recovery", s.mfaRecovery)
	sensitive("POST /v1/auth/step-up/totp", s.stepUpTOTP)
	mux.HandleFunc("POST /v1/auth/logout", s.logout)
	mux.HandleFunc("GET /v1/auth/session", s.session)
	mux.HandleFunc("POST /v1/me/mfa/totp", s.beginTOTP)
	sensitive("POST /v1/me/mfa/totp/confirm", s.confirmTOTP)
	mux.HandleFunc("DELETE /v1/me/mfa/totp", s.deleteTOTP)
	mux.HandleFunc("POST /v1/me/recovery-codes", s.recoveryCodes)
	sensitive("PUT /v1/me/password", s.changePassword)

	mux.HandleFunc("POST /v1/me/passkeys/begin", s.beginPasskey)
	sensitive("POST /v1/me/passkeys/finish", s.finishPasskey)
	mux.HandleFunc("GET /v1/me/passkeys", s.listPasskeys)
	mux.HandleFunc("DELETE /v1/me/passkeys/{id}", s.deletePasskey)
	mux.HandleFunc("POST /v1/auth/mfa/passkey/begin", s.mfaPasskeyBegin)
	sensitive("POST /v1/auth/mfa/passkey/finish", s.mfaPasskeyFinish)
	mux.HandleFunc("POST /v1/auth/step-up/passkey/begin", s.stepUpPasskeyBegin)
	sensitive("POST /v1/auth/step-up/passkey/finish", s.stepUpPasskeyFinish)
	mux.HandleFunc("GET /v1/auth/oidc/{provider}/start", s.oidcStart)
	sensitive("GET /v1/auth/oidc/{provider}/callback", s.oidcCallback)
}

// lockedError is a refusal because a key is locked until a time.
type lockedError struct{ until time.Time }

func (e *lockedError) Error() string { return "login: locked out" }

// problem answers r with err.
func (s *Service) problem(w http.ResponseWriter, r *http.Request, err error) {
	var le *lockedError
	if errors.As(err, &le) {
		s.writeLocked(w, r, le.until)
		return
	}
	api.WriteProblem(w, r, err)
}

var (
	errBadLogin = &api.Error{Kind: api.KindUnauthorized, Type: "invalid-credentials", Title: "Invalid credentials",
		Detail: "the tenant, e-mail address or password is wrong"}
	errBadCode = &api.Error{Kind: api.KindUnauthorized, Type: "invalid-code", Title: "Invalid code",
		Detail: "the code is wrong, expired or already used"}
	errNotUser = &api.Error{Kind: api.KindForbidden, Detail: "this route needs a user's session"}
)

// loginRequest is the body of POST /v1/auth/login.
type loginRequest struct {
	Tenant   string `json:"tenant"`
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (s *Service) login(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	var req loginRequest
	if err := api.DecodeJSONLimit(w, r, &req, maxBody); err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if req.Tenant == "" || len(req.Tenant) > identity.MaxID || req.Email == "" || req.Password == "" {
		api.WriteProblem(w, r, &api.Error{Kind: api.KindInvalid, Detail: "tenant, email and password are required"})
		return
	}
	email, err := identity.NormalizeEmail(req.Email)
	if err != nil {
		// No account has a malformed address; answered like any other
		// unknown one, without counting (nothing can be guessed).
		api.WriteProblem(w, r, errBadLogin)
		return
	}
	keys := []string{accountKey(req.Tenant, email), ipKey(api.ClientIP(r))}
	if until, err := s.locked(ctx, keys...); err != nil || !until.IsZero() {
		s.problem(w, r, lockedOr(until, err))
		return
	}
	u, ok, err := s.checkPassword(ctx, req.Tenant, email, req.Password)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if !ok {
		actor := auditlog.Actor{Kind: auditlog.ActorUser, ID: "unknown", Email: email}
		if u.ID != "" {
			actor.ID = u.ID
		}
		if _, err := s.fail(ctx, r, failure{tenant: req.Tenant, actor: actor, method: "password", keys: keys}); err != nil {
			s.problem(w, r, err)
			return
		}
		api.WriteProblem(w, r, errBadLogin)
		return
	}
	if err := s.lockouts.ClearFailures(ctx, keys[0]); err != nil {
		s.problem(w, r, fmt.Errorf("login: lockout: %w", err))
		return
	}
	s.rehash(ctx, u, req.Password)
	state, err := s.mfaState(ctx, u)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	is, err := s.newSession(u, nil, "")
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.cfg.Store.CreateSession(ctx, is.sess); err != nil {
		s.problem(w, r, fmt.Errorf("login: create session: %w", err))
		return
	}
	if state == mfaNone {
		if err := s.record(ctx, r, auditlog.UserLoggedIn, u, is.sess, nil); err != nil {
			// A login that cannot be audited does not happen.
			_ = s.cfg.Store.DeleteSession(ctx, is.sess.Hash)
			s.problem(w, r, err)
			return
		}
	}
	// A session the browser brought along is not adopted; it ends.
	if old, ok := s.cookieToken(r); ok {
		if err := s.cfg.Store.DeleteSession(ctx, tokenHash(old)); err != nil && !errors.Is(err, identity.ErrNotFound) {
			slog.Default().WarnContext(ctx, "login: the previous session could not be deleted", "error", err)
		}
	}
	s.writeSession(w, r, http.StatusOK, is, u, state)
}

func lockedOr(until time.Time, err error) error {
	if err != nil {
		return err
	}
	return &lockedError{until: until}
}

// checkPassword looks the user up and checks pw, against a dummy hash
// when there is no active user with a password, so that both cases cost
// one argon2id computation. It returns the user found (zero if none) and
// whether pw is theirs.
func (s *Service) checkPassword(ctx context.Context, tenant, email, pw string) (identity.User, bool, error) {
	u, err := s.cfg.Store.UserByEmail(ctx, tenant, email)
	if err != nil && !errors.Is(err, identity.ErrNotFound) {
		return identity.User{}, false, fmt.Errorf("login: user: %w", err)
	}
	hash, usable := s.dummy, err == nil && u.Status == identity.StatusActive && u.PasswordHash != ""
	if usable {
		hash = u.PasswordHash
	}
	ok, verr := password.Verify(pw, hash)
	if verr != nil && !errors.Is(verr, password.ErrInputTooLong) {
		slog.Default().ErrorContext(ctx, "login: stored password hash unusable", "user", u.ID, "error", verr)
	}
	return u, ok && verr == nil && usable, nil
}

// rehash replaces a hash made with other parameters, the password in
// hand; a failure leaves the old, still valid hash.
func (s *Service) rehash(ctx context.Context, u identity.User, pw string) {
	if old, err := password.NeedsRehash(u.PasswordHash, password.Default); err != nil || !old {
		return
	}
	h, err := password.Hash(pw)
	if err == nil {
		err = s.cfg.Store.SetPasswordHash(ctx, u.Tenant, u.ID, h)
	}
	if err != nil {
		slog.Default().WarnContext(ctx, "login: password rehash failed", "user", u.ID, "error", err)
	}
}

// record records one successful event of u's session.
func (s *Service) record(ctx context.Context, r *http.Request, typ auditlog.EventType, u identity.User, sess identity.Session, details map[string]string) error {
	strength := "aal1"
	if sess.StrongAuthMethod != "" {
		strength = "aal2"
	}
	err := s.cfg.Recorder.Record(ctx, auditlog.Event{
		Type: typ, Tenant: u.Tenant, Outcome: auditlog.OutcomeSuccess, Request: api.AuditRequest(r), Details: details,
		Actor: auditlog.Actor{Kind: auditlog.ActorUser, ID: u.ID, Email: u.Email, AuthStrength: strength, AuthMethods: authMethods(sess)},
	})
	if err != nil {
		return fmt.Errorf("login: audit: %w", err)
	}
	return nil
}

// current returns the request's user principal, its session and user.
func (s *Service) current(r *http.Request) (api.Principal, identity.Session, identity.User, error) {
	p, ok := api.PrincipalFrom(r.Context())
	if !ok || p.Kind != api.PrincipalUser || p.Session == "" {
		return api.Principal{}, identity.Session{}, identity.User{}, errNotUser
	}
	var h [32]byte
	if b, err := hex.DecodeString(p.Session); err != nil || len(b) != len(h) {
		return api.Principal{}, identity.Session{}, identity.User{}, errNotUser
	} else {
		copy(h[:], b)
	}
	sess, u, err := s.liveSession(r.Context(), h)
	if err != nil {
		return api.Principal{}, identity.Session{}, identity.User{}, err
	}
	if sess.UserID != p.ID || sess.Tenant != p.Tenant {
		return api.Principal{}, identity.Session{}, identity.User{}, errNoSession
	}
	return p, sess, u, nil
}

// codeRequest is the body of the one-time-code routes.
type codeRequest struct {
	Code string `json:"code"`
}

func decodeCode(w http.ResponseWriter, r *http.Request) (string, error) {
	var req codeRequest
	if err := api.DecodeJSONLimit(w, r, &req, maxBody); err != nil {
		return "", err
	}
	if req.Code == "" {
		return "", &api.Error{Kind: api.KindInvalid, Detail: "code is required"}
	}
	return req.Code, nil
}

// rotate replaces sess by a new session of u that records method (if
// any) as its latest strong authentication, and answers with it.
func (s *Service) rotate(w http.ResponseWriter, r *http.Request, u identity.User, sess identity.Session, method string) (issued, error) {
	is, err := s.newSession(u, &sess, method)
	if err != nil {
		return issued{}, err
	}
	if err := s.cfg.Store.RotateSession(r.Context(), sess.Hash, is.sess); errors.Is(err, identity.ErrNotFound) {
		return issued{}, errNoSession
	} else if err != nil {
		return issued{}, fmt.Errorf("login: rotate session: %w", err)
	}
	return is, nil
}

// mfaTOTP completes a pending login (or steps up a full session) with a
// TOTP code.
func (s *Service) mfaTOTP(w http.ResponseWriter, r *http.Request) { s.strongTOTP(w, r, false) }

// stepUpTOTP records a strong authentication on a full session.
func (s *Service) stepUpTOTP(w http.ResponseWriter, r *http.Request) { s.strongTOTP(w, r, true) }

func (s *Service) strongTOTP(w http.ResponseWriter, r *http.Request, stepUp bool) {
	p, sess, u, err := s.current(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if stepUp && p.Pending {
		api.WriteProblem(w, r, errMFARequired)
		return
	}
	code, err := decodeCode(w, r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if err := s.checkTOTP(r, u, code, false); err != nil {
		s.problem(w, r, err)
		return
	}
	s.finishStrong(w, r, p, u, sess, string(methodTOTP))
}

// finishStrong rotates the session after a passed second factor, records
// the login (for a pending session) or the step-up, and answers.
func (s *Service) finishStrong(w http.ResponseWriter, r *http.Request, p api.Principal, u identity.User, sess identity.Session, method string) {
	is, err := s.rotate(w, r, u, sess, method)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	typ := auditlog.UserSteppedUp
	if p.Pending {
		typ = auditlog.UserLoggedIn
	}
	if err := s.record(r.Context(), r, typ, u, is.sess, map[string]string{"method": method}); err != nil {
		// The rotation stands, but the action that could not be
		// audited is refused: the new session ends too.
		_ = s.cfg.Store.DeleteSession(r.Context(), is.sess.Hash)
		s.problem(w, r, err)
		return
	}
	s.writeSession(w, r, http.StatusOK, is, u, mfaNone)
}

// mfaRecovery completes a pending login with a recovery code.
func (s *Service) mfaRecovery(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, sess, u, err := s.current(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	code, err := decodeCode(w, r)
	if err != nil {
		api.WriteProblem(w, r, err)
		return
	}
	if !p.Pending {
		api.WriteProblem(w, r, &api.Error{Kind: api.KindConflict, Detail: "the session needs no second factor; a recovery code is no step-up"})
		return
	}
	key := factorKey(u.Tenant, u.ID)
	if until, err := s.locked(ctx, key); err != nil || !until.IsZero() {
		s.problem(w, r, lockedOr(until, err))
		return
	}
	h, err := s.codes.Hash(subject(u), code)
	if err != nil { // malformed: a wrong code
		s.factorFailed(w, r, u, methodRecovery)
		return
	}
	err = s.cfg.Store.RedeemRecoveryCode(ctx, u.Tenant, u.ID, h, s.cfg.Now())
	if errors.Is(err, identity.ErrNotFound) { // unknown or used
		s.factorFailed(w, r, u, methodRecovery)
		return
	}
	if err != nil {
		s.problem(w, r, fmt.Errorf("login: redeem recovery code: %w", err))
		return
	}
	if err := s.lockouts.ClearFailures(ctx, key); err != nil {
		s.problem(w, r, fmt.Errorf("login: lockout: %w", err))
		return
	}
	s.finishStrong(w, r, p, u, sess, methodRecovery)
}

// factorFailed counts and audits a wrong second factor and answers.
func (s *Service) factorFailed(w http.ResponseWriter, r *http.Request, u identity.User, method string) {
	actor := auditlog.Actor{Kind: auditlog.ActorUser, ID: u.ID, Email: u.Email}
	if _, err := s.fail(r.Context(), r, failure{tenant: u.Tenant, actor: actor, method: method, keys: []string{factorKey(u.Tenant, u.ID)}}); err != nil {
		s.problem(w, r, err)
		return
	}
	api.WriteProblem(w, r, errBadCode)
}

// subject binds recovery codes to their user.
func subject(u identity.User) string { return u.Tenant + "\x00" + u.ID }

func (s *Service) logout(w http.ResponseWriter, r *http.Request) {
	_, sess, u, err := s.current(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.record(r.Context(), r, auditlog.UserLoggedOut, u, sess, nil); err != nil {
		s.problem(w, r, err)
		return
	}
	if err := s.cfg.Store.DeleteSession(r.Context(), sess.Hash); err != nil && !errors.Is(err, identity.ErrNotFound) {
		s.problem(w, r, fmt.Errorf("login: delete session: %w", err))
		return
	}
	s.clearCookie(w)
	w.WriteHeader(http.StatusNoContent)
}

// sessionInfo is the answer of GET /v1/auth/session.
type sessionInfo struct {
	User        userBody    `json:"user"`
	MFA         string      `json:"mfa"`
	Factors     []string    `json:"factors"`
	Pending     bool        `json:"pending"`
	AuthMethods []string    `json:"auth_methods"`
	StrongAuth  *strongBody `json:"strong_auth,omitempty"`
	// Roles are the roles of the user's grants in force now (standing or
	// elevated), so that a page can offer what they may use; the server
	// still decides every request.
	Roles         []string  `json:"roles"`
	CreatedAt     time.Time `json:"created_at"`
	ExpiresAt     time.Time `json:"expires_at"`
	IdleExpiresAt time.Time `json:"idle_expires_at"`
}

func (s *Service) session(w http.ResponseWriter, r *http.Request) {
	p, sess, u, err := s.current(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	state := mfaNone
	if p.Pending {
		if state, err = s.mfaState(r.Context(), u); err != nil {
			s.problem(w, r, err)
			return
		}
	}
	f, err := s.factors(r.Context(), u)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	factors := []string{}
	if f.totp {
		factors = append(factors, string(methodTOTP))
	}
	if f.passkeys > 0 {
		factors = append(factors, methodPasskey)
	}
	if f.recovery {
		factors = append(factors, methodRecovery)
	}
	roles, err := s.currentRoles(r.Context(), u)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	last := sess.LastSeen
	if now := s.cfg.Now(); now.After(last) {
		last = now // this request counts as activity
	}
	w.Header().Set("Cache-Control", "no-store")
	api.WriteJSON(w, http.StatusOK, sessionInfo{
		User: userOf(u), MFA: state, Factors: factors, Pending: p.Pending, AuthMethods: authMethods(sess), StrongAuth: strongOf(sess),
		Roles: roles, CreatedAt: sess.CreatedAt.UTC(), ExpiresAt: sess.ExpiresAt.UTC(), IdleExpiresAt: minTime(last.Add(sess.IdleTimeout), sess.ExpiresAt).UTC(),
	})
}

// currentRoles returns the roles of u's grants in force now, sorted,
// each once.
func (s *Service) currentRoles(ctx context.Context, u identity.User) ([]string, error) {
	grants, err := s.cfg.Store.Grants(ctx, u.Tenant, u.ID)
	if err != nil {
		return nil, fmt.Errorf("login: grants: %w", err)
	}
	now := s.cfg.Now()
	roles := []string{}
	for _, g := range grants {
		if (g.NotBefore.IsZero() || !now.Before(g.NotBefore)) && (g.NotAfter.IsZero() || now.Before(g.NotAfter)) && !slices.Contains(roles, g.Role) {
			roles = append(roles, g.Role)
		}
	}
	slices.Sort(roles)
	return roles, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
