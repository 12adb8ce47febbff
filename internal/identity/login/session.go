package login

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
)

// CSRFHeader carries a session's CSRF token on unsafe requests.
const CSRFHeader = "X-CSRF-Token"

// tokenBytes is the entropy of session and CSRF tokens.
const tokenBytes = 32

// MFA states, as the login and session answers name them.
const (
	mfaNone     = "none"     // no second factor needed, or passed
	mfaRequired = "required" // the user has a factor and must pass it
	mfaEnrol    = "enrol"    // the user must enrol a first factor
)

// Session methods stored in identity.Session.StrongAuthMethod besides
// authz's strong methods: a recovery code completes a login but is no
// step-up.
const methodRecovery = "recovery"

var (
	errNoSession = &api.Error{Kind: api.KindUnauthorized, Detail: "a valid session is required"}
	errCSRF      = &api.Error{Kind: api.KindForbidden, Type: "csrf-token-invalid", Title: "CSRF token missing or wrong",
		Detail: "send the session's CSRF token in " + CSRFHeader}
)

var _ api.SessionVerifier = (*Service)(nil)

// tokenHash is what the store keeps of a session or CSRF token.
func tokenHash(token string) [32]byte { return sha256.Sum256([]byte(token)) }

// cookieToken returns the session token of r's cookie, if well-formed.
func (s *Service) cookieToken(r *http.Request) (string, bool) {
	c, err := r.Cookie(s.cookie)
	if err != nil {
		return "", false
	}
	if b, err := base64.RawURLEncoding.Strict().DecodeString(c.Value); err != nil || len(b) != tokenBytes {
		return "", false
	}
	return c.Value, true
}

// unsafe reports whether a request method changes state.
func unsafe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return false
	}
	return true
}

// VerifySession implements api.SessionVerifier: it returns the user
// principal of r's session cookie. A missing, malformed, unknown, expired
// (then deleted) or disabled user's session is api.ErrUnauthorized; a
// missing or wrong CSRF token on an unsafe method is a 403
// "csrf-token-invalid". The session's LastSeen is written at most once a
// minute.
func (s *Service) VerifySession(r *http.Request) (api.Principal, error) {
	ctx := r.Context()
	token, ok := s.cookieToken(r)
	if !ok {
		return api.Principal{}, errNoSession
	}
	sess, u, err := s.liveSession(ctx, tokenHash(token))
	if err != nil {
		return api.Principal{}, err
	}
	if unsafe(r.Method) {
		got := tokenHash(r.Header.Get(CSRFHeader))
		if r.Header.Get(CSRFHeader) == "" || subtle.ConstantTimeCompare(got[:], sess.CSRFHash[:]) != 1 {
			return api.Principal{}, errCSRF
		}
	}
	state := mfaNone
	if sess.StrongAuthMethod == "" {
		if state, err = s.mfaState(ctx, u); err != nil {
			return api.Principal{}, err
		}
	}
	now := s.cfg.Now()
	if now.Sub(sess.LastSeen) >= touchEvery {
		if err := s.cfg.Store.TouchSession(ctx, sess.Hash, now); err != nil && !errors.Is(err, identity.ErrNotFound) {
			return api.Principal{}, fmt.Errorf("login: touch session: %w", err)
		}
	}
	return principal(sess, state != mfaNone), nil
}

// liveSession returns the session under h and its user, after the
// timeouts and the user's status; a dead session is deleted.
func (s *Service) liveSession(ctx context.Context, h [32]byte) (identity.Session, identity.User, error) {
	sess, err := s.cfg.Store.SessionByHash(ctx, h)
	if errors.Is(err, identity.ErrNotFound) {
		return identity.Session{}, identity.User{}, errNoSession
	}
	if err != nil {
		return identity.Session{}, identity.User{}, fmt.Errorf("login: session: %w", err)
	}
	now := s.cfg.Now()
	dead := !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeen) >= sess.IdleTimeout
	u, err := s.cfg.Store.UserByID(ctx, sess.Tenant, sess.UserID)
	switch {
	case errors.Is(err, identity.ErrNotFound):
		dead = true
	case err != nil:
		return identity.Session{}, identity.User{}, fmt.Errorf("login: user: %w", err)
	case u.Status != identity.StatusActive:
		dead = true
	}
	if dead {
		if err := s.cfg.Store.DeleteSession(ctx, h); err != nil && !errors.Is(err, identity.ErrNotFound) {
			return identity.Session{}, identity.User{}, fmt.Errorf("login: delete session: %w", err)
		}
		return identity.Session{}, identity.User{}, errNoSession
	}
	return sess, u, nil
}

// principal returns the API principal of a live session.
func principal(sess identity.Session, pending bool) api.Principal {
	p := api.Principal{
		Kind: api.PrincipalUser, ID: sess.UserID, Tenant: sess.Tenant,
		Session: hex.EncodeToString(sess.Hash[:]), AuthMethods: authMethods(sess), Pending: pending,
	}
	if authz.Method(sess.StrongAuthMethod).Strong() {
		p.StrongAuth = api.Authentication{Method: sess.StrongAuthMethod, At: sess.StrongAuthAt}
	}
	return p
}

// authMethods returns a session's authentication methods: its first
// factor (identity.Session.Method: "pwd", the RFC 8176 value of a
// password, for a session that names none; "oidc" for a login at an
// OpenID Provider, followed by the amr values the provider stated), then
// the latest second factor ("otp" for TOTP, "hwk" for a passkey;
// "recovery", Signet's own, for a recovery code; "oidc-mfa" for a
// provider's multi-factor login).
func authMethods(sess identity.Session) []string {
	first := sess.Method
	if first == "" {
		first = identity.SessionPassword
	}
	m := append([]string{first}, sess.AMR...)
	switch sess.StrongAuthMethod {
	case "":
	case string(authz.MethodTOTP):
		m = append(m, "otp")
	case string(authz.MethodPasskey):
		m = append(m, "hwk")
	default:
		m = append(m, sess.StrongAuthMethod)
	}
	return m
}

// mfaState says whether u must pass a second factor before a session
// without one is complete, and which.
func (s *Service) mfaState(ctx context.Context, u identity.User) (string, error) {
	f, err := s.factors(ctx, u)
	if err != nil {
		return "", err
	}
	if f.any() {
		return mfaRequired, nil
	}
	applies, err := s.mfaApplies(ctx, u)
	switch {
	case err != nil:
		return "", err
	case applies:
		return mfaEnrol, nil
	}
	return mfaNone, nil
}

// factorSet is what second factors a user has.
type factorSet struct {
	totp     bool // a confirmed TOTP enrolment
	passkeys int  // registered passkeys
	recovery bool // unused recovery codes
}

func (f factorSet) any() bool { return f.totp || f.passkeys > 0 || f.recovery }

// factors returns u's second factors. Stored passkeys count whether or
// not the service serves passkeys (fail closed).
func (s *Service) factors(ctx context.Context, u identity.User) (factorSet, error) {
	var f factorSet
	e, err := s.cfg.Store.TOTP(ctx, u.Tenant, u.ID)
	switch {
	case err == nil:
		f.totp = !e.ConfirmedAt.IsZero()
	case !errors.Is(err, identity.ErrNotFound):
		return f, fmt.Errorf("login: TOTP enrolment: %w", err)
	}
	ps, err := s.cfg.Store.PasskeysOf(ctx, u.Tenant, u.ID)
	if err != nil {
		return f, fmt.Errorf("login: passkeys: %w", err)
	}
	f.passkeys = len(ps)
	codes, err := s.cfg.Store.RecoveryCodes(ctx, u.Tenant, u.ID)
	if err != nil {
		return f, fmt.Errorf("login: recovery codes: %w", err)
	}
	for _, c := range codes {
		if !c.Used() {
			f.recovery = true
		}
	}
	return f, nil
}

// mfaApplies reports whether u must have a second factor: their record
// says so, or they hold a current grant and their tenant's policy does
// not make MFA optional.
func (s *Service) mfaApplies(ctx context.Context, u identity.User) (bool, error) {
	if u.MFARequired {
		return true, nil
	}
	pol, err := s.cfg.Policy(ctx, u.Tenant)
	if err != nil {
		return false, fmt.Errorf("login: policy: %w", err)
	}
	if pol.MFAOptional {
		return false, nil
	}
	grants, err := s.cfg.Store.Grants(ctx, u.Tenant, u.ID)
	if err != nil {
		return false, fmt.Errorf("login: grants: %w", err)
	}
	now := s.cfg.Now()
	for _, g := range grants {
		if g.NotAfter.IsZero() || g.NotAfter.After(now) {
			return true, nil
		}
	}
	return false, nil
}

// PendingAllowed reports whether a route is open to a pending principal
// (api.Principal.Pending): the second factor (/v1/auth/mfa/...), the
// enrolment of a first factor (/v1/me/mfa/..., not DELETE, and the
// registration of a passkey, POST /v1/me/passkeys/begin and /finish),
// the session and logout. Set it as api.Gate.PendingAllowed. Handlers under
// /v1/me/mfa/ and the passkey registration MUST refuse a pending principal's enrolment when the user
// already has a second factor, which would otherwise be bypassed.
func PendingAllowed(r *http.Request) bool {
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/v1/auth/mfa/"):
		return true
	case strings.HasPrefix(p, "/v1/me/mfa/"):
		return r.Method != http.MethodDelete
	case p == "/v1/me/passkeys/begin" || p == "/v1/me/passkeys/finish":
		return r.Method == http.MethodPost
	case p == "/v1/auth/logout":
		return r.Method == http.MethodPost
	case p == "/v1/auth/session":
		return r.Method == http.MethodGet
	}
	return false
}

// issued is a new session with its clear tokens.
type issued struct {
	sess        identity.Session
	token, csrf string
}

// newSession makes a session for u beginning now, or, when prev is not
// nil, the rotation of prev: same user, creation and absolute end.
func (s *Service) newSession(u identity.User, prev *identity.Session, method string) (issued, error) {
	token, err := s.random(tokenBytes)
	if err != nil {
		return issued{}, err
	}
	csrf, err := s.random(tokenBytes)
	if err != nil {
		return issued{}, err
	}
	now := s.cfg.Now()
	sess := identity.Session{
		Hash: tokenHash(token), UserID: u.ID, Tenant: u.Tenant, CreatedAt: now, LastSeen: now,
		ExpiresAt: now.Add(s.cfg.AbsoluteTimeout), IdleTimeout: s.cfg.IdleTimeout, CSRFHash: tokenHash(csrf),
		Method: identity.SessionPassword,
	}
	if prev != nil {
		sess.CreatedAt, sess.ExpiresAt = prev.CreatedAt, prev.ExpiresAt
		sess.StrongAuthMethod, sess.StrongAuthAt = prev.StrongAuthMethod, prev.StrongAuthAt
		sess.Method, sess.Provider, sess.AMR, sess.ACR, sess.AuthTime = prev.Method, prev.Provider, prev.AMR, prev.ACR, prev.AuthTime
	}
	if method != "" {
		sess.StrongAuthMethod, sess.StrongAuthAt = method, now
	}
	return issued{sess: sess, token: token, csrf: csrf}, nil
}

// setCookie sends the session cookie for is.
func (s *Service) setCookie(w http.ResponseWriter, is issued) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookie, Value: is.token, Path: "/", Expires: is.sess.ExpiresAt,
		Secure: !s.cfg.Insecure, HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
}

// clearCookie tells the browser to drop the session cookie.
func (s *Service) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: s.cookie, Value: "", Path: "/", MaxAge: -1,
		Secure: !s.cfg.Insecure, HttpOnly: true, SameSite: http.SameSiteStrictMode,
	})
}

// sessionBody is the answer that hands out a new session's CSRF token.
type sessionBody struct {
	CSRFToken  string      `json:"csrf_token"`
	User       userBody    `json:"user"`
	MFA        string      `json:"mfa"`
	ExpiresAt  time.Time   `json:"expires_at"`
	StrongAuth *strongBody `json:"strong_auth,omitempty"`
}

type userBody struct {
	ID     string `json:"id"`
	Tenant string `json:"tenant"`
	Email  string `json:"email"`
	Name   string `json:"name,omitempty"`
}

type strongBody struct {
	Method string    `json:"method"`
	At     time.Time `json:"at"`
}

func userOf(u identity.User) userBody {
	return userBody{ID: u.ID, Tenant: u.Tenant, Email: u.Email, Name: u.Name}
}

func strongOf(sess identity.Session) *strongBody {
	if sess.StrongAuthMethod == "" {
		return nil
	}
	return &strongBody{Method: sess.StrongAuthMethod, At: sess.StrongAuthAt.UTC()}
}

// writeSession sets the cookie of is and answers with its CSRF token.
func (s *Service) writeSession(w http.ResponseWriter, r *http.Request, status int, is issued, u identity.User, mfa string) {
	s.setCookie(w, is)
	api.WriteSecretJSON(w, r, status, sessionBody{
		CSRFToken: is.csrf, User: userOf(u), MFA: mfa, ExpiresAt: is.sess.ExpiresAt.UTC(), StrongAuth: strongOf(is.sess),
	})
}
