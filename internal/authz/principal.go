package authz

import "time"

// A Kind says what kind of principal acts.
type Kind string

// Principal kinds.
const (
	// KindUser is a person with an account.
	KindUser Kind = "user"
	// KindServiceAccount is a system calling the API with an API key.
	KindServiceAccount Kind = "service-account"
	// KindRecipient is a recipient authenticated by a link and a proof
	// (an e-mailed code, a passkey, ...).
	KindRecipient Kind = "recipient"
)

// A Method is how a principal authenticated.
type Method string

// Authentication methods.
const (
	MethodPassword  Method = "password"
	MethodEmailCode Method = "email-code"
	MethodAPIKey    Method = "api-key"
	MethodTOTP      Method = "totp"
	MethodPasskey   Method = "passkey"
)

// Strong reports whether m counts for step-up: TOTP or a passkey.
func (m Method) Strong() bool { return m == MethodTOTP || m == MethodPasskey }

// StrongMethods returns the methods that satisfy a step-up.
func StrongMethods() []Method { return []Method{MethodPasskey, MethodTOTP} }

// An Authentication is one proof of identity: its method and when it was
// made.
type Authentication struct {
	Method Method
	At     time.Time
}

// A Principal is who acts, as the caller loaded it for one decision.
type Principal struct {
	// Kind is the kind of principal.
	Kind Kind
	// ID identifies the principal within its tenant.
	ID string
	// Tenant is the principal's tenant; "" only for the platform
	// administrator.
	Tenant string
	// Platform marks the platform administrator: no tenant, only the
	// platform actions. Never set for a tenant principal.
	Platform bool
	// Grants are the principal's grants of roles, active or not.
	Grants []Grant
	// KeyActions are, for a service account, the actions its API key is
	// bound to; a service account acts only within them.
	KeyActions []Action
	// Envelope is, for a recipient, the envelope its link names.
	Envelope string
	// StrongAuth is the principal's latest strong authentication (zero if
	// none in this session).
	StrongAuth Authentication
}

// A Grant gives a principal a role for a time: standing (no end) or a
// just-in-time elevation (an end, and who asked and approved).
type Grant struct {
	// Role names the role granted.
	Role string
	// Tenant is the tenant the grant belongs to.
	Tenant string
	// GrantedBy is who made the grant (for an elevation, the approver).
	GrantedBy string
	// NotBefore is when the grant starts; zero means at once.
	NotBefore time.Time
	// NotAfter is when the grant ends, exclusive; zero means standing.
	// An elevation always has one.
	NotAfter time.Time
	// Elevation is set for a just-in-time elevation.
	Elevation *Elevation
}

// An Elevation records how a just-in-time grant came about.
type Elevation struct {
	// RequestedBy is the user who asked (and holds the grant).
	RequestedBy string
	// ApprovedBy is the user who approved; RequestedBy under break-glass.
	ApprovedBy string
	// Reason is the requester's reason.
	Reason string
	// BreakGlass marks a self-approved emergency elevation.
	BreakGlass bool
}

// Active reports whether g is in force at now by its time bounds: from
// NotBefore (inclusive) until NotAfter (exclusive). An elevation without
// NotAfter is never active.
func (g Grant) Active(now time.Time) bool {
	if !g.NotBefore.IsZero() && now.Before(g.NotBefore) {
		return false
	}
	if g.NotAfter.IsZero() {
		return g.Elevation == nil
	}
	return now.Before(g.NotAfter)
}
