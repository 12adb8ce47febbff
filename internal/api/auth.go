package api

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
)

// A CredentialVerifier resolves the bearer credential of a request (an API
// key secret or an access token) to the principal it authenticates.
// Package internal/accounts implements it over the stored API keys.
type CredentialVerifier interface {
	// VerifyCredential returns the principal that secret authenticates
	// for a request from remote (the zero Addr when the client address
	// is not an IP address). A malformed, unknown, revoked or expired
	// credential, or one not allowed from remote, is an error matching
	// [ErrUnauthorized]; any other error means the credential cannot be
	// checked now.
	VerifyCredential(ctx context.Context, secret string, remote netip.Addr) (Principal, error)
}

// RemoteAddr returns the client address of r (its RemoteAddr's host), or
// the zero Addr when that is not an IP address.
func RemoteAddr(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	a, _ := netip.ParseAddr(r.RemoteAddr)
	return a.Unmap()
}

// A SessionVerifier resolves a user's session cookie to the user's
// principal. Package internal/identity/login implements it.
type SessionVerifier interface {
	// VerifySession returns the principal of r's session cookie, after
	// the session's timeouts, its user's status and, on an unsafe method
	// (POST, PUT, PATCH, DELETE), its CSRF token. A request without the
	// cookie, and an unknown, expired or refused session, is an error
	// matching [ErrUnauthorized]; a refused CSRF token is an [*Error] of
	// kind [KindForbidden]; any other error means the session cannot be
	// checked now.
	VerifySession(r *http.Request) (Principal, error)
}

// An Authenticator is the authentication middleware: it resolves
// "Authorization: Bearer <credential>", or without that header a session
// cookie, to a [Principal] in the request context.
type Authenticator struct {
	// Credentials verifies bearer credentials.
	Credentials CredentialVerifier
	// Sessions, if set, verifies the session cookie of a request that
	// carries no Authorization header.
	Sessions SessionVerifier
	// Public reports whether a request needs no API key (health probes,
	// the OpenAPI document, recipient routes, PKI endpoints). nil means
	// [DefaultPublic].
	Public func(r *http.Request) bool
}

// DefaultPublic lets through /healthz, /readyz, /v1/openapi.json, the
// password login (POST /v1/auth/login, which starts a session), the OIDC
// login's start and callback (GET /v1/auth/oidc/{provider}/start and
// /callback) and everything under /v1/recipient/ (authenticated by link
// tokens).
func DefaultPublic(r *http.Request) bool {
	p := r.URL.Path
	return p == "/healthz" || p == "/readyz" || p == "/v1/openapi.json" || strings.HasPrefix(p, "/v1/recipient/") ||
		(p == "/v1/auth/login" && r.Method == http.MethodPost) || (r.Method == http.MethodGet && oidcLoginPath(p))
}

// oidcLoginPath reports whether p is /v1/auth/oidc/{provider}/start or
// /callback, with one non-empty provider segment.
func oidcLoginPath(p string) bool {
	rest, ok := strings.CutPrefix(p, "/v1/auth/oidc/")
	if !ok {
		return false
	}
	provider, step, ok := strings.Cut(rest, "/")
	return ok && provider != "" && (step == "start" || step == "callback")
}

// Middleware returns next wrapped with authentication. Requests to
// non-public paths without a valid, unrevoked key are answered 401.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	public := a.Public
	if public == nil {
		public = DefaultPublic
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if public(r) {
			next.ServeHTTP(w, r)
			return
		}
		p, err := a.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="signet"`)
			WriteProblem(w, r, err)
			return
		}
		ctx := WithPrincipal(r.Context(), p)
		ctx = WithLogger(ctx, Logger(ctx).With("principal", p.ID))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

var (
	errBadKey        = &Error{Kind: KindUnauthorized, Detail: "a valid API key is required"}
	errNoCredentials = &Error{Kind: KindUnauthorized, Detail: "a valid session or API key is required"}
)

func (a *Authenticator) authenticate(r *http.Request) (Principal, error) {
	h := r.Header.Get("Authorization")
	if h == "" && a.Sessions != nil {
		return a.session(r)
	}
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return Principal{}, errBadKey
	}
	p, err := a.Credentials.VerifyCredential(r.Context(), strings.TrimSpace(secret), RemoteAddr(r))
	if errors.Is(err, ErrUnauthorized) {
		// Every refused credential gets the same answer.
		return Principal{}, errBadKey
	}
	if err != nil {
		return Principal{}, &Error{Kind: KindUnavailable, Detail: "cannot check the API key now", Err: err}
	}
	return p, nil
}

// session authenticates r by its session cookie.
func (a *Authenticator) session(r *http.Request) (Principal, error) {
	p, err := a.Sessions.VerifySession(r)
	var e *Error
	switch {
	case err == nil:
		return p, nil
	case errors.Is(err, ErrUnauthorized):
		// Every refused session gets the same answer.
		return Principal{}, errNoCredentials
	case errors.As(err, &e) && e.Kind == KindForbidden:
		return Principal{}, e
	}
	return Principal{}, &Error{Kind: KindUnavailable, Detail: "cannot check the session now", Err: err}
}
