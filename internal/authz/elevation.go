package authz

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Bounds of an elevation request.
const (
	// MaxReason bounds an elevation's reason, in bytes.
	MaxReason = 1000
	// PendingElevationTTL is how long a request waits for approval.
	PendingElevationTTL = 24 * time.Hour
)

// An ElevationRequest is a user's request for a role for a time.
type ElevationRequest struct {
	// Tenant is the requester's tenant.
	Tenant string
	// Role names the role asked for.
	Role string
	// RequestedBy is the requesting user, who would hold the grant.
	RequestedBy string
	// Reason says why; required.
	Reason string
	// Duration is how long the grant would last from its approval.
	Duration time.Duration
	// RequestedAt is when the request was made.
	RequestedAt time.Time
}

// Errors of the elevation workflow; the returned errors match one of
// these with [errors.Is].
var (
	// ErrInvalidElevation: the request is malformed or exceeds the cap.
	ErrInvalidElevation = errors.New("authz: invalid elevation request")
	// ErrElevationExpired: the request waited longer than
	// [PendingElevationTTL].
	ErrElevationExpired = errors.New("authz: elevation request expired")
	// ErrApprovalDenied: the approver may not approve this request.
	ErrApprovalDenied = errors.New("authz: elevation approval denied")
)

// Validate checks the request under policy at now: a tenant matching the
// policy's, a known role, a requester, a reason (valid UTF-8, not blank,
// at most [MaxReason] bytes), a positive duration within the tenant's cap
// (at most [ElevationCap]), and a request time not after now.
func (r ElevationRequest) Validate(policy TenantPolicy, now time.Time) error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidElevation}, a...)...)
	}
	if err := policy.Validate(); err != nil {
		return err
	}
	switch {
	case r.Tenant == "" || r.Tenant != policy.Tenant:
		return bad("tenant does not match the policy's")
	case r.RequestedBy == "":
		return bad("no requester")
	case blank(r.Reason):
		return bad("a reason is required")
	case len(r.Reason) > MaxReason || !utf8.ValidString(r.Reason):
		return bad("the reason must be UTF-8 of at most %d bytes", MaxReason)
	case r.Duration <= 0:
		return bad("duration must be positive")
	case r.Duration > policy.elevationCap():
		return bad("duration %v exceeds the cap of %v", r.Duration, policy.elevationCap())
	case r.RequestedAt.IsZero() || r.RequestedAt.After(now):
		return bad("request time missing or in the future")
	}
	if _, ok := policy.Role(r.Role); !ok {
		return bad("unknown role %q", r.Role)
	}
	return nil
}

// Expired reports whether the request has waited for approval too long:
// true from RequestedAt + [PendingElevationTTL] on.
func (r ElevationRequest) Expired(now time.Time) bool {
	return !now.Before(r.RequestedAt.Add(PendingElevationTTL))
}

func blank(s string) bool {
	for _, c := range s {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// ApproveElevation checks that approver may approve r at now under policy
// and returns the grant it creates, in force from now for r.Duration, and
// the decision that allowed it. The approver needs role.admin (with
// step-up) and must not be the requester, unless break-glass is enabled
// for the requester: then the decision has [Decision.Alert] set and the
// caller MUST alert and audit. A decision other than allow is returned
// with an error matching [ErrApprovalDenied]; its effect says whether a
// step-up would help.
func ApproveElevation(r ElevationRequest, approver Principal, policy TenantPolicy, now time.Time) (Grant, Decision, error) {
	if err := r.Validate(policy, now); err != nil {
		return Grant{}, deny(err.Error()), err
	}
	if r.Expired(now) {
		return Grant{}, deny("the request expired"), ErrElevationExpired
	}
	d := Decide(approver, Request{
		Action:    ActionRoleAdmin,
		Tenant:    r.Tenant,
		Subject:   r.RequestedBy,
		Elevation: true,
	}, policy, now)
	if !d.Allowed() {
		return Grant{}, d, fmt.Errorf("%w: %s", ErrApprovalDenied, d.Reason)
	}
	return Grant{
		Role:      r.Role,
		Tenant:    r.Tenant,
		GrantedBy: approver.ID,
		NotBefore: now,
		NotAfter:  now.Add(r.Duration),
		Elevation: &Elevation{
			RequestedBy: r.RequestedBy,
			ApprovedBy:  approver.ID,
			Reason:      r.Reason,
			BreakGlass:  d.Alert,
		},
	}, d, nil
}
