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

// An Authenticator is the authentication middleware: it resolves
// "Authorization: Bearer <credential>" to a [Principal] in the request
// context.
type Authenticator struct {
	// Credentials verifies bearer credentials.
	Credentials CredentialVerifier
	// Public reports whether a request needs no API key (health probes,
	// the OpenAPI document, recipient routes, PKI endpoints). nil means
	// [DefaultPublic].
	Public func(r *http.Request) bool
}

// DefaultPublic lets through /healthz, /readyz, /v1/openapi.json and
// everything under /v1/recipient/ (authenticated by link tokens).
func DefaultPublic(r *http.Request) bool {
	p := r.URL.Path
	return p == "/healthz" || p == "/readyz" || p == "/v1/openapi.json" || strings.HasPrefix(p, "/v1/recipient/")
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

var errBadKey = &Error{Kind: KindUnauthorized, Detail: "a valid API key is required"}

func (a *Authenticator) authenticate(r *http.Request) (Principal, error) {
	h := r.Header.Get("Authorization")
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
