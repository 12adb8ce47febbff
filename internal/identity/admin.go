package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/signet-pki/signet/internal/authz"
)

// ElevationDenied is the state of a request an administrator refused
// ([Decisions.DenyElevation]).
const ElevationDenied ElevationStatus = "denied"

// MaxPolicyJSON bounds a stored tenant policy, in bytes.
const MaxPolicyJSON = 64 << 10

// Directory lists a tenant's users and when they were last seen.
// Every method sees only the named tenant's records.
type Directory interface {
	// ListUsers returns at most limit (1..[MaxList]) of the tenant's
	// users whose id sorts after after ("" for the first page), ordered
	// by id; a shorter page is the last. A limit outside 1..MaxList is
	// [ErrInvalid].
	ListUsers(ctx context.Context, tenant, after string, limit int) ([]User, error)
	// LastSeen returns the latest LastSeen of the user's stored sessions;
	// the zero time if the user has none (never logged in, or every
	// session ended).
	LastSeen(ctx context.Context, tenant, userID string) (time.Time, error)
}

// A PolicyRecord is a tenant's stored policy with its version.
type PolicyRecord struct {
	// Policy is the tenant's policy.
	Policy authz.TenantPolicy
	// Version counts the policy's updates: 0 when none was stored (the
	// strict default), then 1, 2, ...
	Version int64
	// UpdatedBy and UpdatedAt record the last update; empty and zero for
	// the default.
	UpdatedBy string
	UpdatedAt time.Time
}

// Policies keeps each tenant's authorization policy ([authz.TenantPolicy])
// as canonical JSON ([MarshalPolicy]), with a version for optimistic
// concurrency.
type Policies interface {
	// Policy returns the tenant's policy; with none stored, the strict
	// default authz.TenantPolicy{Tenant: tenant}.
	Policy(ctx context.Context, tenant string) (authz.TenantPolicy, error)
	// PolicyRecord returns the tenant's policy with its version (0 and
	// the default when none is stored).
	PolicyRecord(ctx context.Context, tenant string) (PolicyRecord, error)
	// SetPolicy stores p ([authz.TenantPolicy.Validate]) as version+1 of
	// p.Tenant's policy, updated by by at at, if the stored version is
	// version (0: none stored yet); else [ErrConflict] and nothing
	// changes (compare-and-set: of two updates from one version exactly
	// one succeeds).
	SetPolicy(ctx context.Context, p authz.TenantPolicy, version int64, by string, at time.Time) error
}

// An Invitation lets an invited user set their first password once: a
// random token given to them, stored only as its SHA-256.
type Invitation struct {
	// Hash is the SHA-256 of the token; the token is not stored.
	Hash [32]byte
	// Tenant and UserID name the invited user.
	Tenant, UserID string
	// CreatedBy and CreatedAt record who invited and when.
	CreatedBy string
	CreatedAt time.Time
	// ExpiresAt is when the token stops working (exclusive).
	ExpiresAt time.Time
	// UsedAt is when it was redeemed; zero while unused.
	UsedAt time.Time
}

// Validate checks a new invitation before it is stored.
func (i Invitation) Validate() error {
	if err := errors.Join(
		text("tenant", i.Tenant, MaxID, true),
		text("user id", i.UserID, MaxID, true),
		text("invited by", i.CreatedBy, MaxID, true),
	); err != nil {
		return err
	}
	switch {
	case i.Hash == [32]byte{}:
		return fmt.Errorf("%w: invitation without a token hash", ErrInvalid)
	case i.CreatedAt.IsZero() || !i.ExpiresAt.After(i.CreatedAt):
		return fmt.Errorf("%w: invitation times", ErrInvalid)
	case !i.UsedAt.IsZero():
		return fmt.Errorf("%w: a new invitation is unused", ErrInvalid)
	}
	return nil
}

// Invitations keeps one-time invitation tokens.
type Invitations interface {
	// InviteUser stores, in one transaction, a new user u
	// ([User.Validate]), their grants (each [Grant.Validate], for u) and
	// the invitation inv (for u): all or nothing. ErrExists if the user's
	// id or e-mail, a grant id or the invitation hash is taken.
	InviteUser(ctx context.Context, u User, grants []Grant, inv Invitation) error
	// CreateInvitation stores a new invitation for an existing active user
	// of the tenant (ErrDisabled, ErrNotFound otherwise), e.g. when an
	// earlier one expired.
	CreateInvitation(ctx context.Context, inv Invitation) error
	// Invitation returns the invitation under hash, used or not.
	Invitation(ctx context.Context, hash [32]byte) (Invitation, error)
	// RedeemInvitation marks the invitation under hash used at at and sets
	// its user's password hash, in one transaction, if the invitation is
	// unused and at is before its expiry and the user is active:
	// ErrNotFound if there is no such usable invitation (unknown, used or
	// expired: of two requests with one token exactly one succeeds),
	// ErrDisabled if the user is disabled. It returns the invitation as
	// redeemed.
	RedeemInvitation(ctx context.Context, hash [32]byte, at time.Time, passwordHash string) (Invitation, error)
}

// Decisions ends pending elevation requests by refusal.
type Decisions interface {
	// DenyElevation marks the tenant's pending request id denied by by at
	// at; ErrConflict if it is no longer pending, ErrNotFound if unknown.
	DenyElevation(ctx context.Context, tenant, id, by string, at time.Time) error
}

// Admin is what the administration of a tenant (users, invitations,
// policy, elevation decisions, access review) needs beyond the login
// records.
type Admin interface {
	Directory
	Policies
	Invitations
	Decisions
}

// policyJSON is the stored form of an [authz.TenantPolicy]: fixed key
// order, durations in integer nanoseconds, lists in the policy's order.
type policyJSON struct {
	Tenant             string         `json:"tenant"`
	Roles              []roleJSON     `json:"roles"`
	StepUpWindow       int64          `json:"step_up_window_ns"`
	MaxElevation       int64          `json:"max_elevation_ns"`
	StandingPrivileged bool           `json:"standing_privileged"`
	Separation         separationJSON `json:"separation"`
	MFAOptional        bool           `json:"mfa_optional"`
	BreakGlass         []string       `json:"break_glass"`
}

type roleJSON struct {
	Name    string   `json:"name"`
	Actions []string `json:"actions"`
}

type separationJSON struct {
	SenderMayApprove        bool `json:"sender_may_approve"`
	AuditReaderMayConfigure bool `json:"audit_reader_may_configure"`
}

// MarshalPolicy returns the canonical JSON of a valid policy: the same
// policy always gives the same bytes (keys in a fixed order, empty lists
// as [], durations in nanoseconds, no insignificant white space).
func MarshalPolicy(p authz.TenantPolicy) ([]byte, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	j := policyJSON{
		Tenant: p.Tenant, Roles: []roleJSON{}, StepUpWindow: int64(p.StepUpWindow), MaxElevation: int64(p.MaxElevation),
		StandingPrivileged: p.StandingPrivileged, MFAOptional: p.MFAOptional, BreakGlass: []string{},
		Separation: separationJSON{p.Separation.SenderMayApprove, p.Separation.AuditReaderMayConfigure},
	}
	for _, r := range p.Roles {
		rj := roleJSON{Name: r.Name, Actions: make([]string, len(r.Actions))}
		for i, a := range r.Actions {
			rj.Actions[i] = string(a)
		}
		j.Roles = append(j.Roles, rj)
	}
	j.BreakGlass = append(j.BreakGlass, p.BreakGlass...)
	b, err := json.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("identity: policy: %w", err)
	}
	if len(b) > MaxPolicyJSON {
		return nil, fmt.Errorf("%w: policy of %d bytes, at most %d", ErrInvalid, len(b), MaxPolicyJSON)
	}
	return b, nil
}

// UnmarshalPolicy reads what [MarshalPolicy] wrote, strictly: unknown
// fields, trailing data and an invalid policy are [ErrInvalid].
func UnmarshalPolicy(b []byte) (authz.TenantPolicy, error) {
	if len(b) > MaxPolicyJSON {
		return authz.TenantPolicy{}, fmt.Errorf("%w: stored policy too large", ErrInvalid)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var j policyJSON
	if err := dec.Decode(&j); err != nil {
		return authz.TenantPolicy{}, fmt.Errorf("%w: stored policy: %w", ErrInvalid, err)
	}
	if dec.More() {
		return authz.TenantPolicy{}, fmt.Errorf("%w: stored policy: trailing data", ErrInvalid)
	}
	p := authz.TenantPolicy{
		Tenant: j.Tenant, StepUpWindow: time.Duration(j.StepUpWindow), MaxElevation: time.Duration(j.MaxElevation),
		StandingPrivileged: j.StandingPrivileged, MFAOptional: j.MFAOptional,
		Separation: authz.Separation{SenderMayApprove: j.Separation.SenderMayApprove, AuditReaderMayConfigure: j.Separation.AuditReaderMayConfigure},
	}
	for _, r := range j.Roles {
		role := authz.Role{Name: r.Name, Actions: make([]authz.Action, len(r.Actions))}
		for i, a := range r.Actions {
			role.Actions[i] = authz.Action(a)
		}
		p.Roles = append(p.Roles, role)
	}
	if len(j.BreakGlass) > 0 {
		p.BreakGlass = j.BreakGlass
	}
	if err := p.Validate(); err != nil {
		return authz.TenantPolicy{}, fmt.Errorf("%w: stored policy: %w", ErrInvalid, err)
	}
	return p, nil
}

// CheckPage checks a page size of [Directory.ListUsers].
func CheckPage(limit int) error {
	if limit < 1 || limit > MaxList {
		return fmt.Errorf("%w: page size %d outside 1..%d", ErrInvalid, limit, MaxList)
	}
	return nil
}
