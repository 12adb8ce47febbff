// Package identity holds the records of people and their credentials —
// users, TOTP enrolments, recovery codes, passkeys, sessions, role
// grants, just-in-time elevation requests, tenant policies and
// invitations ([Admin]), links to accounts at external identity
// providers ([Links]) — and the [Store] interface through
// which the login and administration code keeps them. The drivers are
// internal/identity/sqlite and internal/identity/postgres; both pass the
// conformance suite internal/identity/storetest.
//
// The store holds only sealed or hashed material: a session is kept under
// the SHA-256 of its cookie token, its CSRF token likewise, a TOTP secret
// is sealed by the caller before it reaches the store, a recovery code is
// kept as its keyed hash (package recovery), a password as its argon2id
// PHC string (package password), an invitation as the SHA-256 of its
// token. Every read and write of a user's records
// names the tenant, and a record of another tenant is [ErrNotFound].
//
// A passkey is kept as its WebAuthn credential record: the credential id
// and the COSE public key, which are not secret, and the signature
// counter. The sub-packages password, totp, recovery and passkey are the
// primitives the login code combines with the store. The grants and elevation requests
// mirror internal/authz's Grant and ElevationRequest; the store records
// them and enforces no policy (approver ≠ requester and the duration cap
// are authz's decisions).
package identity

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors of the stores; a driver's errors match one of these with
// [errors.Is] when the condition holds.
var (
	// ErrNotFound: no such record in the tenant (a record of another
	// tenant is not found either).
	ErrNotFound = errors.New("identity: not found")
	// ErrExists: a record with the same key (a user's id or e-mail in the
	// tenant, a session hash, a grant or request id) exists.
	ErrExists = errors.New("identity: already exists")
	// ErrConflict: a compare-and-set lost: a TOTP step at or before the
	// last accepted one, an elevation request no longer pending.
	ErrConflict = errors.New("identity: conflict")
	// ErrDisabled: the user is disabled, so no session or elevation
	// request may be created for them.
	ErrDisabled = errors.New("identity: user disabled")
	// ErrInvalid: the record is malformed.
	ErrInvalid = errors.New("identity: invalid record")
	// ErrLimit: a list would exceed [MaxList] records.
	ErrLimit = errors.New("identity: too many records")
)

// Status is a user's state.
type Status string

// The states of a user.
const (
	StatusActive   Status = "active"
	StatusDisabled Status = "disabled"
)

// Bounds of the stored fields, in bytes.
const (
	MaxID           = 128
	MaxEmail        = 254
	MaxName         = 200
	MaxPasswordHash = 512
	MaxSealedSecret = 1024
	MaxReason       = 1000
	MaxMethod       = 32
)

// Bounds of the stored lists.
const (
	// MaxList bounds the records [Grants.Grants] and
	// [Grants.PendingElevations] return; beyond it they fail with
	// [ErrLimit] rather than return a part.
	MaxList = 1000
	// MaxRecoveryCodes bounds a user's recovery codes.
	MaxRecoveryCodes = 64
)

// A User is a person with an account in one tenant.
type User struct {
	// ID identifies the user across the service.
	ID string
	// Tenant is the user's tenant.
	Tenant string
	// Email is the user's address as [NormalizeEmail] returns it; unique
	// in the tenant.
	Email string
	// Name is the user's display name.
	Name string
	// Status is active or disabled.
	Status Status
	// CreatedAt is when the user was created.
	CreatedAt time.Time
	// DisabledAt is when the user was disabled; zero while active.
	DisabledAt time.Time
	// PasswordHash is the argon2id PHC string of the password (package
	// password); empty if the user has none (e.g. OIDC only).
	PasswordHash string
	// MFARequired says the user must pass a second factor at login.
	MFARequired bool
}

// NormalizeEmail returns the form of an e-mail address that users are
// stored and looked up by: valid UTF-8, trimmed and lower-cased, with exactly one "@"
// between a non-empty local part and domain, at most [MaxEmail] bytes, no
// spaces or control characters.
func NormalizeEmail(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", fmt.Errorf("%w: e-mail address not UTF-8", ErrInvalid)
	}
	e := strings.ToLower(strings.TrimSpace(s))
	at := strings.IndexByte(e, '@')
	switch {
	case len(e) == 0 || len(e) > MaxEmail:
		return "", fmt.Errorf("%w: e-mail address empty, too long or not UTF-8", ErrInvalid)
	case at <= 0 || at == len(e)-1 || strings.Count(e, "@") != 1:
		return "", fmt.Errorf("%w: e-mail address needs one @ between a local part and a domain", ErrInvalid)
	case strings.ContainsFunc(e, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return "", fmt.Errorf("%w: e-mail address holds a space or control character", ErrInvalid)
	}
	return e, nil
}

func text(field, s string, limit int, required bool) error {
	switch {
	case required && s == "":
		return fmt.Errorf("%w: %s is required", ErrInvalid, field)
	case len(s) > limit || !utf8.ValidString(s):
		return fmt.Errorf("%w: %s must be UTF-8 of at most %d bytes", ErrInvalid, field, limit)
	}
	return nil
}

// Validate checks u before it is stored: ids, a normalized e-mail, a
// known status with DisabledAt set exactly when disabled, a creation time
// and bounded fields.
func (u User) Validate() error {
	if err := errors.Join(
		text("user id", u.ID, MaxID, true),
		text("tenant", u.Tenant, MaxID, true),
		text("name", u.Name, MaxName, false),
		text("password hash", u.PasswordHash, MaxPasswordHash, false),
	); err != nil {
		return err
	}
	if e, err := NormalizeEmail(u.Email); err != nil {
		return err
	} else if e != u.Email {
		return fmt.Errorf("%w: e-mail address not normalized", ErrInvalid)
	}
	switch {
	case u.Status != StatusActive && u.Status != StatusDisabled:
		return fmt.Errorf("%w: status %q", ErrInvalid, u.Status)
	case (u.Status == StatusDisabled) != !u.DisabledAt.IsZero():
		return fmt.Errorf("%w: disabled_at must be set exactly when disabled", ErrInvalid)
	case u.CreatedAt.IsZero():
		return fmt.Errorf("%w: no creation time", ErrInvalid)
	}
	return nil
}

// A TOTPEnrolment is a user's TOTP authenticator.
type TOTPEnrolment struct {
	// UserID is the enrolled user.
	UserID string
	// SealedSecret is the TOTP key sealed by the caller; the store never
	// sees the secret in clear.
	SealedSecret []byte
	// LastStep is the last time step accepted (RFC 6238); a code of this
	// step or an earlier one is refused ([Credentials.AcceptTOTPStep]).
	LastStep uint64
	// ConfirmedAt is when the enrolment was confirmed by a first valid
	// code; zero while pending.
	ConfirmedAt time.Time
}

// A RecoveryCode is one stored recovery code: its keyed hash (package
// recovery), never the code.
type RecoveryCode struct {
	// Hash is the code's keyed hash.
	Hash [32]byte
	// UsedAt is when it was redeemed; zero while unused.
	UsedAt time.Time
}

// Used reports whether the code was redeemed.
func (c RecoveryCode) Used() bool { return !c.UsedAt.IsZero() }

// A Session is a logged-in user's session, kept under the SHA-256 of its
// cookie token.
type Session struct {
	// Hash is the SHA-256 of the cookie token; the token is not stored.
	Hash [32]byte
	// UserID and Tenant name the session's user.
	UserID, Tenant string
	// CreatedAt is when the session began.
	CreatedAt time.Time
	// LastSeen is the time of the last request ([Sessions.TouchSession]).
	LastSeen time.Time
	// ExpiresAt is the absolute end of the session.
	ExpiresAt time.Time
	// IdleTimeout ends the session after that long without a request; the
	// caller enforces it against LastSeen.
	IdleTimeout time.Duration
	// StrongAuthMethod and StrongAuthAt record the latest strong
	// authentication (e.g. "totp", "passkey"); empty and zero if none.
	StrongAuthMethod string
	StrongAuthAt     time.Time
	// CSRFHash is the SHA-256 of the session's CSRF token.
	CSRFHash [32]byte
	// Method is the session's first factor: [SessionPassword],
	// [SessionOIDC] or [SessionPasskey]; empty (a session stored before
	// the field existed) means a password.
	Method string
	// Provider, AMR, ACR and AuthTime record an OIDC login (Method
	// [SessionOIDC]): the provider's name, the RFC 8176 amr values it
	// stated (tokens, at most [MaxAMR]), its acr (at most [MaxACR]
	// bytes) and when the user authenticated there. Empty for other
	// sessions.
	Provider string
	AMR      []string
	ACR      string
	AuthTime time.Time
}

// Bounds of a session's OIDC record.
const (
	// MaxAMR bounds [Session.AMR].
	MaxAMR = 16
	// MaxACR bounds [Session.ACR], in bytes.
	MaxACR = 256
)

// ValidMethodToken reports whether s may be stored as an authentication
// method (an amr value, a passkey transport): 1 to [MaxMethod] lower-case
// letters, digits, "-" or "_".
func ValidMethodToken(s string) bool { return token(s) }

// First factors of a session ([Session.Method]).
const (
	SessionPassword = "pwd"
	SessionOIDC     = "oidc"
	SessionPasskey  = "passkey"
)

// Validate checks s before it is stored.
func (s Session) Validate() error {
	if err := errors.Join(
		text("user id", s.UserID, MaxID, true),
		text("tenant", s.Tenant, MaxID, true),
		text("strong authentication method", s.StrongAuthMethod, MaxMethod, false),
		text("provider", s.Provider, MaxID, false),
		text("acr", s.ACR, MaxACR, false),
	); err != nil {
		return err
	}
	for _, v := range s.AMR {
		if !token(v) {
			return fmt.Errorf("%w: amr value %q is not a token", ErrInvalid, v)
		}
	}
	switch {
	case len(s.AMR) > MaxAMR:
		return fmt.Errorf("%w: %d amr values (at most %d)", ErrInvalid, len(s.AMR), MaxAMR)
	case s.Method != SessionOIDC && (s.Provider != "" || len(s.AMR) > 0 || s.ACR != "" || !s.AuthTime.IsZero()):
		return fmt.Errorf("%w: only an OIDC session records a provider's login", ErrInvalid)
	case s.Method == SessionOIDC && s.Provider == "":
		return fmt.Errorf("%w: an OIDC session names its provider", ErrInvalid)
	case s.Method != "" && s.Method != SessionPassword && s.Method != SessionOIDC && s.Method != SessionPasskey:
		return fmt.Errorf("%w: session method %q", ErrInvalid, s.Method)
	case s.Hash == [32]byte{} || s.CSRFHash == [32]byte{}:
		return fmt.Errorf("%w: session without a token or CSRF hash", ErrInvalid)
	case s.CreatedAt.IsZero() || s.LastSeen.IsZero() || !s.ExpiresAt.After(s.CreatedAt):
		return fmt.Errorf("%w: session times", ErrInvalid)
	case s.IdleTimeout <= 0:
		return fmt.Errorf("%w: session idle timeout must be positive", ErrInvalid)
	case (s.StrongAuthMethod == "") != s.StrongAuthAt.IsZero():
		return fmt.Errorf("%w: strong authentication needs both a method and a time", ErrInvalid)
	}
	return nil
}

// A Grant gives a user a role, standing (NotAfter zero) or for a time;
// it mirrors internal/authz's Grant with who granted it and when.
type Grant struct {
	// ID identifies the grant.
	ID string
	// Tenant and UserID name the holder.
	Tenant, UserID string
	// Role names the role.
	Role string
	// GrantedBy is who made the grant (for an elevation, the approver);
	// GrantedAt when.
	GrantedBy string
	GrantedAt time.Time
	// NotBefore and NotAfter bound the grant; zero means unbounded.
	NotBefore, NotAfter time.Time
	// ElevationID names the elevation request the grant came from; empty
	// for a standing grant.
	ElevationID string
	// RevokedBy and RevokedAt record a revocation; revoked grants are not
	// returned by [Grants.Grants] but stay stored for review.
	RevokedBy string
	RevokedAt time.Time
}

// Validate checks g before it is stored.
func (g Grant) Validate() error {
	if err := errors.Join(
		text("grant id", g.ID, MaxID, true),
		text("tenant", g.Tenant, MaxID, true),
		text("user id", g.UserID, MaxID, true),
		text("role", g.Role, MaxID, true),
		text("granted by", g.GrantedBy, MaxID, true),
		text("elevation id", g.ElevationID, MaxID, false),
	); err != nil {
		return err
	}
	switch {
	case g.GrantedAt.IsZero():
		return fmt.Errorf("%w: grant without a time", ErrInvalid)
	case !g.NotAfter.IsZero() && !g.NotAfter.After(g.NotBefore):
		return fmt.Errorf("%w: grant ends before it starts", ErrInvalid)
	case g.ElevationID != "" && g.NotAfter.IsZero():
		return fmt.Errorf("%w: an elevation's grant needs an end", ErrInvalid)
	case g.RevokedBy != "" || !g.RevokedAt.IsZero():
		return fmt.Errorf("%w: a new grant is not revoked", ErrInvalid)
	}
	return nil
}

// ElevationStatus is the state of an elevation request.
type ElevationStatus string

// The states of an elevation request. A request is pending until it is
// approved, expires, or is revoked (its requester disabled).
const (
	ElevationPending  ElevationStatus = "pending"
	ElevationApproved ElevationStatus = "approved"
	ElevationExpired  ElevationStatus = "expired"
	ElevationRevoked  ElevationStatus = "revoked"
)

// An Elevation is a just-in-time elevation request; it mirrors
// internal/authz's ElevationRequest with its outcome.
type Elevation struct {
	// ID identifies the request.
	ID string
	// Tenant is the requester's tenant.
	Tenant string
	// Role names the role asked for.
	Role string
	// RequestedBy is the requesting user, who would hold the grant.
	RequestedBy string
	// Reason says why.
	Reason string
	// Duration is how long the grant would last from its approval.
	Duration time.Duration
	// RequestedAt is when the request was made.
	RequestedAt time.Time
	// Status is the request's state.
	Status ElevationStatus
	// DecidedBy and DecidedAt record who ended the pending state and when
	// (the approver; the caller that expired or revoked it).
	DecidedBy string
	DecidedAt time.Time
	// GrantID names the grant an approval created.
	GrantID string
}

// Validate checks a new request before it is stored: pending, undecided.
func (e Elevation) Validate() error {
	if err := errors.Join(
		text("elevation id", e.ID, MaxID, true),
		text("tenant", e.Tenant, MaxID, true),
		text("role", e.Role, MaxID, true),
		text("requester", e.RequestedBy, MaxID, true),
		text("reason", e.Reason, MaxReason, true),
	); err != nil {
		return err
	}
	switch {
	case e.Duration <= 0:
		return fmt.Errorf("%w: elevation duration must be positive", ErrInvalid)
	case e.RequestedAt.IsZero():
		return fmt.Errorf("%w: elevation without a time", ErrInvalid)
	case e.Status != ElevationPending || e.DecidedBy != "" || !e.DecidedAt.IsZero() || e.GrantID != "":
		return fmt.Errorf("%w: a new elevation request is pending and undecided", ErrInvalid)
	}
	return nil
}

// Revoked is what [Users.DisableUser] revoked.
type Revoked struct {
	// Sessions are the hashes of the deleted sessions.
	Sessions [][32]byte
	// Elevations are the ids of the pending requests now revoked.
	Elevations []string
	// Grants are the ids of the user's elevation grants that had not yet
	// ended, now revoked.
	Grants []string
	// Invitations counts the user's unused invitations, now deleted.
	Invitations int
}

// CheckStep checks that a TOTP step fits the stores' signed 64-bit
// column.
func CheckStep(step uint64) error {
	if step > math.MaxInt64 {
		return fmt.Errorf("%w: TOTP step out of range", ErrInvalid)
	}
	return nil
}

// Users keeps the users of each tenant.
// Every method is atomic; every method naming a tenant sees only that
// tenant's records.
type Users interface {
	// CreateUser stores a new user ([User.Validate]); ErrExists if the id
	// or the e-mail is taken in the tenant.
	CreateUser(ctx context.Context, u User) error
	// UserByID returns the tenant's user with that id.
	UserByID(ctx context.Context, tenant, id string) (User, error)
	// UserByEmail returns the tenant's user with that address
	// (normalized by [NormalizeEmail] before the lookup).
	UserByEmail(ctx context.Context, tenant, email string) (User, error)
	// SetPasswordHash replaces the user's password hash.
	SetPasswordHash(ctx context.Context, tenant, id, hash string) error
	// DisableUser disables the user at at and, in the same transaction,
	// deletes their sessions and unused invitations, revokes their
	// pending elevation requests and the grants of their elevations that
	// have not ended by at (revoked by the user's id, at at), returning
	// what it revoked. Disabling a disabled user
	// keeps the first DisabledAt.
	DisableUser(ctx context.Context, tenant, id string, at time.Time) (Revoked, error)
}

// Credentials keeps users' second factors: TOTP enrolments and recovery
// codes.
// Every method is atomic; every method naming a tenant sees only that
// tenant's records.
type Credentials interface {
	// SetTOTP stores the user's enrolment, replacing any previous one.
	SetTOTP(ctx context.Context, tenant string, e TOTPEnrolment) error
	// TOTP returns the user's enrolment.
	TOTP(ctx context.Context, tenant, userID string) (TOTPEnrolment, error)
	// AcceptTOTPStep records step as the last accepted step if it is after
	// the stored one (compare-and-set; ErrConflict otherwise, so of two
	// requests with the same code exactly one succeeds), and confirms a
	// pending enrolment at at.
	AcceptTOTPStep(ctx context.Context, tenant, userID string, step uint64, at time.Time) error
	// DeleteTOTP removes the user's enrolment.
	DeleteTOTP(ctx context.Context, tenant, userID string) error

	// SetRecoveryCodes replaces the user's recovery codes by hashes, all
	// unused; at most [MaxRecoveryCodes].
	SetRecoveryCodes(ctx context.Context, tenant, userID string, hashes [][32]byte) error
	// RecoveryCodes returns the user's codes, in no particular order.
	RecoveryCodes(ctx context.Context, tenant, userID string) ([]RecoveryCode, error)
	// RedeemRecoveryCode marks the unused code with that hash used at at;
	// ErrNotFound if there is none (unknown or already used: of two
	// requests with the same code exactly one succeeds).
	RedeemRecoveryCode(ctx context.Context, tenant, userID string, hash [32]byte, at time.Time) error
}

// Sessions keeps logged-in sessions.
type Sessions interface {
	// CreateSession stores a new session ([Session.Validate]) for an
	// active user of the tenant: ErrDisabled for a disabled one,
	// ErrNotFound for none, ErrExists for a taken hash.
	CreateSession(ctx context.Context, s Session) error
	// SessionByHash returns the session under hash; its tenant is the
	// session's own.
	SessionByHash(ctx context.Context, hash [32]byte) (Session, error)
	// TouchSession sets the session's LastSeen to at if later. The caller
	// enforces the idle and absolute timeouts.
	TouchSession(ctx context.Context, hash [32]byte, at time.Time) error
	// RotateSession deletes the session under old and stores next in the
	// same transaction; next must belong to the same user and tenant.
	// ErrNotFound if old is gone (of two rotations of one session exactly
	// one succeeds).
	RotateSession(ctx context.Context, old [32]byte, next Session) error
	// DeleteSession deletes one session (logout).
	DeleteSession(ctx context.Context, hash [32]byte) error
	// DeleteSessions deletes every session of the user and returns their
	// hashes.
	DeleteSessions(ctx context.Context, tenant, userID string) ([][32]byte, error)
}

// Grants keeps role grants and just-in-time elevation requests.
// Every method is atomic; every method naming a tenant sees only that
// tenant's records.
type Grants interface {
	// AddGrant stores a standing or time-bound grant ([Grant.Validate])
	// to a user of the tenant.
	AddGrant(ctx context.Context, g Grant) error
	// RevokeGrant records that by revoked the grant at at; ErrNotFound if
	// it is unknown or already revoked.
	RevokeGrant(ctx context.Context, tenant, id, by string, at time.Time) error
	// Grants returns the user's unrevoked grants, expired ones included
	// (the caller judges time bounds), oldest first; [ErrLimit] beyond
	// [MaxList].
	Grants(ctx context.Context, tenant, userID string) ([]Grant, error)

	// RequestElevation stores a pending request ([Elevation.Validate]) of
	// an active user of the tenant.
	RequestElevation(ctx context.Context, e Elevation) error
	// Elevation returns the tenant's request with that id.
	Elevation(ctx context.Context, tenant, id string) (Elevation, error)
	// PendingElevations returns the tenant's pending requests, oldest
	// first; [ErrLimit] beyond [MaxList].
	PendingElevations(ctx context.Context, tenant string) ([]Elevation, error)
	// ApproveElevation marks the pending request g.ElevationID approved by
	// g.GrantedBy at g.GrantedAt and stores g, its grant, in the same
	// transaction: ErrConflict if the request is no longer pending. The
	// store does not judge who may approve (internal/authz does).
	ApproveElevation(ctx context.Context, g Grant) error
	// ExpireElevation marks the pending request expired by by at at;
	// ErrConflict if it is no longer pending.
	ExpireElevation(ctx context.Context, tenant, id, by string, at time.Time) error
}

// SortGrants orders grants as [Grants.Grants] returns them: by GrantedAt,
// then ID.
func SortGrants(gs []Grant) {
	slices.SortFunc(gs, func(a, b Grant) int {
		return cmp.Or(a.GrantedAt.Compare(b.GrantedAt), cmp.Compare(a.ID, b.ID))
	})
}

// SortElevations orders requests as [Grants.PendingElevations] returns
// them: by RequestedAt, then ID.
func SortElevations(es []Elevation) {
	slices.SortFunc(es, func(a, b Elevation) int {
		return cmp.Or(a.RequestedAt.Compare(b.RequestedAt), cmp.Compare(a.ID, b.ID))
	})
}

// MaxLockoutKey bounds a [Lockouts] key, in bytes.
const MaxLockoutKey = 1024

// Lockouts counts failed authentications (passwords, second factors) per
// key across every node, and keeps the locks they lead to. A key names
// what is counted, e.g. a tenant and e-mail address, a client IP or a
// user; it is personal data, so a driver MUST store only its SHA-256
// ([LockoutKeyHash]), never the key. Rows whose window and lock have both
// ended are purged as new failures arrive, so the table holds only the
// last window's keys.
// Every method is atomic.
type Lockouts interface {
	// RecordFailure counts one failure under key at at and returns the
	// failures counted in key's current window, this one included. A
	// window opens at the first failure after the previous window (or
	// [Lockouts.ClearFailures]) and lasts window; concurrent calls on
	// any node count each failure once, so of n racing calls each
	// returns a distinct count.
	RecordFailure(ctx context.Context, key string, at time.Time, window time.Duration) (int, error)
	// Lock locks key until until; a later lock already held stays.
	Lock(ctx context.Context, key string, until time.Time) error
	// LockedUntil returns when key's lock ends, zero if key was never
	// locked (or its row was purged); the caller compares it with now.
	LockedUntil(ctx context.Context, key string) (time.Time, error)
	// ClearFailures forgets key's failures (after a success); a lock
	// stays until it ends.
	ClearFailures(ctx context.Context, key string) error
}

// LockoutKeyHash is what a [Lockouts] driver stores of key.
func LockoutKeyHash(key string) [32]byte { return sha256.Sum256([]byte(key)) }

// CheckLockout checks the arguments of [Lockouts] methods: a non-empty
// key of at most [MaxLockoutKey] bytes and, when window is not nil, a
// positive window.
func CheckLockout(key string, window *time.Duration) error {
	switch {
	case key == "" || len(key) > MaxLockoutKey:
		return fmt.Errorf("%w: lockout key empty or longer than %d bytes", ErrInvalid, MaxLockoutKey)
	case window != nil && *window <= 0:
		return fmt.Errorf("%w: lockout window must be positive", ErrInvalid)
	}
	return nil
}

// A Store keeps users and their credentials: what a driver implements.
type Store interface {
	Users
	Credentials
	Passkeys
	Sessions
	Grants
	Lockouts
	Links
	Admin
}

// Bounds of a passkey's fields.
const (
	// MaxCredentialID is the longest credential id WebAuthn allows
	// (§5.1, 1023 bytes).
	MaxCredentialID = 1023
	// MaxPublicKey bounds a credential's COSE public key; an RSA-4096 key
	// takes about 550 bytes.
	MaxPublicKey = 2048
	// MaxTransports bounds a passkey's transport hints, each a token of
	// at most MaxMethod bytes.
	MaxTransports = 8
	// MaxPasskeys bounds the passkeys of one user: [Passkeys.AddPasskey]
	// fails with [ErrLimit] beyond it.
	MaxPasskeys = 32
)

// A Passkey is a user's WebAuthn credential (the credential record of
// WebAuthn §4). Nothing in it is secret: the private key never leaves the
// authenticator.
type Passkey struct {
	// CredentialID is the credential's id, unique across the service.
	CredentialID []byte
	// Tenant and UserID name the credential's owner.
	Tenant, UserID string
	// PublicKey is the credential public key, COSE_Key encoded (RFC 9052).
	PublicKey []byte
	// SignCount is the last signature counter accepted; zero for an
	// authenticator that keeps none.
	SignCount uint32
	// AAGUID names the authenticator's model; zero if not disclosed.
	AAGUID [16]byte
	// Transports are the transport hints the client reported ("usb",
	// "nfc", "ble", "internal", "hybrid", ...).
	Transports []string
	// BackupEligible and BackupState are the BE and BS flags (WebAuthn
	// §6.1): the credential may be, and is, synced to other devices.
	BackupEligible, BackupState bool
	// Name is the user's label for the passkey.
	Name string
	// CreatedAt is when it was registered; LastUsedAt when it last
	// signed an assertion accepted by [Passkeys.UpdatePasskeyUse] (zero if
	// never).
	CreatedAt, LastUsedAt time.Time
}

func token(s string) bool {
	if s == "" || len(s) > MaxMethod {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Validate checks p before it is stored: a credential id of 1 to
// [MaxCredentialID] bytes, a public key of 1 to [MaxPublicKey] bytes, at
// most [MaxTransports] transports each a token of lower-case letters,
// digits, "-" or "_", bounded texts, a creation time, and no backup state
// without backup eligibility.
func (p Passkey) Validate() error {
	if err := errors.Join(
		text("tenant", p.Tenant, MaxID, true),
		text("user id", p.UserID, MaxID, true),
		text("passkey name", p.Name, MaxName, false),
	); err != nil {
		return err
	}
	switch {
	case len(p.CredentialID) == 0 || len(p.CredentialID) > MaxCredentialID:
		return fmt.Errorf("%w: credential id of %d bytes (1 to %d)", ErrInvalid, len(p.CredentialID), MaxCredentialID)
	case len(p.PublicKey) == 0 || len(p.PublicKey) > MaxPublicKey:
		return fmt.Errorf("%w: public key of %d bytes (1 to %d)", ErrInvalid, len(p.PublicKey), MaxPublicKey)
	case len(p.Transports) > MaxTransports:
		return fmt.Errorf("%w: %d transports (at most %d)", ErrInvalid, len(p.Transports), MaxTransports)
	case p.BackupState && !p.BackupEligible:
		return fmt.Errorf("%w: backup state without backup eligibility", ErrInvalid)
	case p.CreatedAt.IsZero():
		return fmt.Errorf("%w: passkey without a creation time", ErrInvalid)
	}
	for _, t := range p.Transports {
		if !token(t) {
			return fmt.Errorf("%w: transport %q is not a token", ErrInvalid, t)
		}
	}
	return nil
}

// JoinTransports encodes transports as the drivers store them: the tokens
// joined by commas ([Passkey.Validate] keeps commas out of them).
func JoinTransports(ts []string) string { return strings.Join(ts, ",") }

// SplitTransports decodes [JoinTransports].
func SplitTransports(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// SortPasskeys orders passkeys as [Passkeys.PasskeysOf] returns them: by
// CreatedAt, then credential id.
func SortPasskeys(ps []Passkey) {
	slices.SortFunc(ps, func(a, b Passkey) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(string(a.CredentialID), string(b.CredentialID)))
	})
}

// Passkeys keeps users' WebAuthn credentials.
// Every method is atomic; every method naming a tenant sees only that
// tenant's records.
type Passkeys interface {
	// AddPasskey stores a new passkey ([Passkey.Validate]) of an active
	// user of the tenant: ErrDisabled for a disabled one, ErrNotFound for
	// none, ErrExists if the credential id is registered (to anyone, in
	// any tenant), ErrLimit if the user has [MaxPasskeys] already.
	AddPasskey(ctx context.Context, p Passkey) error
	// PasskeysOf returns the user's passkeys, oldest first (none is not
	// an error).
	PasskeysOf(ctx context.Context, tenant, userID string) ([]Passkey, error)
	// PasskeyByCredentialID returns the passkey with that credential id;
	// its tenant is its own (the caller checks it is the one expected).
	PasskeyByCredentialID(ctx context.Context, credID []byte) (Passkey, error)
	// UpdatePasskeyUse records an accepted assertion: it sets the sign
	// count to signCount and LastUsedAt to at, as a compare-and-set that
	// fails with ErrConflict if the stored count is non-zero and
	// signCount is not greater than it (a cloned authenticator, WebAuthn
	// §6.1.1; of two racing uses of one counter value exactly one
	// succeeds). A stored count of zero accepts any count. ErrNotFound if
	// there is no such passkey.
	UpdatePasskeyUse(ctx context.Context, credID []byte, signCount uint32, at time.Time) error
	// DeletePasskey removes the user's passkey.
	DeletePasskey(ctx context.Context, tenant, userID string, credID []byte) error
}
