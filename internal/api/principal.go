package api

import (
	"context"
	"net/http"
	"slices"
)

// A PrincipalKind says what kind of principal acts.
type PrincipalKind string

// Principal kinds.
const (
	// PrincipalAPIKey is a service account authenticated by an API key.
	PrincipalAPIKey PrincipalKind = "api_key"
	// PrincipalRecipient is a recipient authenticated by a link token and
	// proof of email control.
	PrincipalRecipient PrincipalKind = "recipient"
	// PrincipalSystem is Signet itself (schedulers).
	PrincipalSystem PrincipalKind = "system"
)

// Scopes granted to API keys. A key holds only the scopes it was created
// with; no scope implies another.
const (
	// ScopeAdmin is the platform administrator's scope: create tenants and
	// API keys of any tenant. Only keys without a tenant hold it.
	ScopeAdmin          = "admin"
	ScopeAPIKeysRead    = "api-keys:read"
	ScopeAPIKeysWrite   = "api-keys:write"
	ScopeDocumentsRead  = "documents:read"
	ScopeDocumentsWrite = "documents:write"
	ScopeEnvelopesRead  = "envelopes:read"
	ScopeEnvelopesWrite = "envelopes:write"
	ScopeEnvelopesSend  = "envelopes:send"
)

// TenantScopes lists the scopes a tenant API key may hold.
var TenantScopes = []string{
	ScopeAPIKeysRead, ScopeAPIKeysWrite,
	ScopeDocumentsRead, ScopeDocumentsWrite,
	ScopeEnvelopesRead, ScopeEnvelopesWrite, ScopeEnvelopesSend,
}

// A Principal is who acts in a request. Handlers MUST take the tenant from
// the principal, never from the request.
type Principal struct {
	Kind PrincipalKind
	// ID identifies the principal: the API key id, or the recipient id.
	ID string
	// Tenant is the tenant the principal belongs to; "" only for the
	// platform administrator.
	Tenant string
	// Scopes are the scopes granted.
	Scopes []string
}

// HasScope reports whether p was granted scope.
func (p Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

type principalKey struct{}

// WithPrincipal returns a copy of ctx carrying p, and names p (kind, id,
// tenant) in the request's access log line ([AccessLog]). The
// authentication middleware calls it; recipient token authentication may
// too.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	notePrincipal(ctx, p)
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal of a request context.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// RequireScope returns middleware that answers 401 when the request has no
// principal and 403 when the principal lacks scope. Tenant-scoped scopes
// also require a tenant principal.
func RequireScope(scope string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, ok := PrincipalFrom(r.Context())
			if !ok {
				WriteProblem(w, r, &Error{Kind: KindUnauthorized, Detail: "an API key is required"})
				return
			}
			if !p.HasScope(scope) || (scope != ScopeAdmin && p.Tenant == "") {
				WriteProblem(w, r, &Error{Kind: KindForbidden, Type: "insufficient-scope", Detail: "the API key lacks scope " + scope})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
