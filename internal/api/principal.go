package api

import (
	"context"
	"time"
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
	// PrincipalUser is a person with an account, authenticated by a
	// session cookie.
	PrincipalUser PrincipalKind = "user"
	// PrincipalSystem is Signet itself (schedulers).
	PrincipalSystem PrincipalKind = "system"
)

// A Principal is who acts in a request. Handlers MUST take the tenant from
// the principal, never from the request.
type Principal struct {
	Kind PrincipalKind
	// ID identifies the principal: the API key id, or the recipient id.
	ID string
	// Tenant is the tenant the principal belongs to; "" only for the
	// platform administrator.
	Tenant string
	// Platform marks the platform administrator (no tenant).
	Platform bool
	// Roles are, for a service account, the roles its API key was
	// granted (standing grants); a user's grants are loaded from the
	// identity store by the [Authorizer].
	Roles []string
	// Actions are, for a service account, the actions its API key is
	// bound to: it acts only within them.
	Actions []string
	// GrantedBy and GrantedAt are, for a service account, who created
	// its key and when (the grant of Roles).
	GrantedBy string
	GrantedAt time.Time
	// Envelope is, for a recipient, the envelope its link names.
	Envelope string
	// Session is, for a user, the id of the session (the hex SHA-256 of
	// its cookie token); "" otherwise.
	Session string
	// AuthMethods are how the principal authenticated, as RFC 8176 amr
	// values ("pwd", "otp", "hwk", ...) or Signet's method names.
	AuthMethods []string
	// StrongAuth is the principal's latest strong authentication
	// ("totp" or "passkey") and when; zero if none.
	StrongAuth Authentication
	// Pending marks a user authenticated by password only while a second
	// factor is required: only enrolment and the second factor are open
	// ([Gate.PendingAllowed]).
	Pending bool
}

// An Authentication is one proof of identity: its method and when.
type Authentication struct {
	Method string
	At     time.Time
}

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
