package api

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
)

// An Authenticator is the API-key authentication middleware: it resolves
// "Authorization: Bearer sk_..." to a [Principal] in the request context.
type Authenticator struct {
	// Keys resolves secrets by their hash.
	Keys KeyStore
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
	secret = strings.TrimSpace(secret)
	if !wellFormedSecret(secret) {
		return Principal{}, errBadKey
	}
	sum := HashSecret(secret)
	k, err := a.Keys.KeyByHash(r.Context(), sum)
	if errors.Is(err, ErrNoRecord) {
		return Principal{}, errBadKey
	}
	if err != nil {
		return Principal{}, &Error{Kind: KindUnavailable, Detail: "cannot check the API key now", Err: err}
	}
	// The lookup is by hash; compare again in constant time so that a
	// store that matched loosely cannot authenticate a different secret.
	if subtle.ConstantTimeCompare(k.Hash[:], sum[:]) != 1 || k.RevokedAt != nil {
		return Principal{}, errBadKey
	}
	return Principal{Kind: PrincipalAPIKey, ID: k.ID, Tenant: k.Tenant, Scopes: k.Scopes}, nil
}
