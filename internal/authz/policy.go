package authz

import (
	"errors"
	"fmt"
	"time"
)

// Bounds of a tenant's policy.
const (
	// DefaultStepUpWindow is how long a strong authentication counts for
	// step-up when the policy names no window.
	DefaultStepUpWindow = 10 * time.Minute
	// MaxStepUpWindow is the longest step-up window a tenant may set.
	MaxStepUpWindow = time.Hour
	// ElevationCap is the longest an elevation may last; a tenant may
	// set a shorter cap.
	ElevationCap = 4 * time.Hour
	// MaxBreakGlassUsers bounds [TenantPolicy.BreakGlass].
	MaxBreakGlassUsers = 16
	// MaxCustomRoles bounds [TenantPolicy.Roles].
	MaxCustomRoles = 64
)

// A TenantPolicy is one tenant's authorization settings. Its zero value
// (with Tenant set) is the strictest: every separation-of-duties rule on,
// no standing privileged grants, no break-glass, the default windows.
type TenantPolicy struct {
	// Tenant is the tenant the policy belongs to.
	Tenant string
	// Roles are the tenant's custom roles ([ValidateRole]).
	Roles []Role
	// StepUpWindow is how long a strong authentication counts for a
	// risky action; 0 means [DefaultStepUpWindow].
	StepUpWindow time.Duration
	// MaxElevation caps an elevation's duration; 0 means [ElevationCap],
	// more than [ElevationCap] is invalid.
	MaxElevation time.Duration
	// StandingPrivileged lets standing grants of privileged roles count.
	// Off, privileged roles come only by elevation.
	StandingPrivileged bool
	// Separation relaxes separation-of-duties rules.
	Separation Separation
	// MFAOptional lets users who hold roles log in without a second
	// factor. Off (the default), every user with any grant must pass
	// TOTP or a passkey at login and is sent to enrol one first.
	MFAOptional bool
	// BreakGlass lists the users who may approve their own elevation in
	// an emergency; every such decision carries [Decision.Alert]. Empty,
	// break-glass is disabled.
	BreakGlass []string
}

// Separation holds the separation-of-duties rules a tenant may relax. The
// zero value enforces them all. Two rules cannot be relaxed: nobody grants
// a role to themselves, and nobody approves their own elevation outside
// break-glass.
type Separation struct {
	// SenderMayApprove lets the sender of an envelope approve it.
	SenderMayApprove bool
	// AuditReaderMayConfigure lets a principal who holds audit.read
	// change audit configuration.
	AuditReaderMayConfigure bool
}

// ErrInvalidPolicy is matched by every error of [TenantPolicy.Validate].
var ErrInvalidPolicy = errors.New("authz: invalid tenant policy")

// Validate checks the policy: a tenant, valid custom roles with distinct
// names, windows within their bounds, and at most [MaxBreakGlassUsers]
// non-empty break-glass user ids.
func (p TenantPolicy) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidPolicy}, a...)...)
	}
	switch {
	case p.Tenant == "":
		return bad("no tenant")
	case p.StepUpWindow < 0 || p.StepUpWindow > MaxStepUpWindow:
		return bad("step-up window %v outside 0..%v", p.StepUpWindow, MaxStepUpWindow)
	case p.MaxElevation < 0 || p.MaxElevation > ElevationCap:
		return bad("elevation cap %v outside 0..%v", p.MaxElevation, ElevationCap)
	case len(p.Roles) > MaxCustomRoles:
		return bad("%d custom roles, at most %d", len(p.Roles), MaxCustomRoles)
	case len(p.BreakGlass) > MaxBreakGlassUsers:
		return bad("%d break-glass users, at most %d", len(p.BreakGlass), MaxBreakGlassUsers)
	}
	for i, r := range p.Roles {
		if err := ValidateRole(r); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
		}
		for _, q := range p.Roles[:i] {
			if q.Name == r.Name {
				return bad("role %q defined twice", r.Name)
			}
		}
	}
	for _, u := range p.BreakGlass {
		if u == "" {
			return bad("empty break-glass user")
		}
	}
	return nil
}

// stepUpWindow returns the effective step-up window.
func (p TenantPolicy) stepUpWindow() time.Duration {
	if p.StepUpWindow == 0 {
		return DefaultStepUpWindow
	}
	return p.StepUpWindow
}

// elevationCap returns the effective elevation cap.
func (p TenantPolicy) elevationCap() time.Duration {
	if p.MaxElevation == 0 {
		return ElevationCap
	}
	return p.MaxElevation
}

// Role returns the role named name: a built-in role or one of the
// tenant's custom roles.
func (p TenantPolicy) Role(name string) (Role, bool) {
	if r, ok := builtin(name); ok {
		return r, true
	}
	for _, r := range p.Roles {
		if r.Name == name {
			return r, true
		}
	}
	return Role{}, false
}
