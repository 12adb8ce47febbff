package signing

import (
	"context"
	"time"
)

// A Link is a stored link token: only its hash, bound to one recipient of
// one envelope.
type Link struct {
	// Hash is the SHA-256 of the token.
	Hash        [32]byte
	Tenant      string
	EnvelopeID  string
	RecipientID string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	// UsedAt is set once the recipient has finished (signed every
	// document or declined); a used link opens nothing.
	UsedAt time.Time
	// RevokedAt is set when the link was revoked: by repeated lockouts,
	// or because the sender re-issued the recipient's link. A revoked
	// link opens nothing.
	RevokedAt time.Time
}

// A Session is a stored recipient session, created by a successful
// verification (a correct one-time or access code, a link-only link, or
// a passkey confirmation). Like a link, it is stored as the hash of its
// token.
type Session struct {
	Hash        [32]byte
	Tenant      string
	EnvelopeID  string
	RecipientID string
	// Email is the address whose control the code proved.
	Email string
	// AuthTime is when the code was verified.
	AuthTime  time.Time
	ExpiresAt time.Time
	// Methods are how the recipient authenticated, as RFC 8176 amr
	// values (e.g. "otp" and "email"), and Assurance the level reached
	// (e.g. "aal1"); both go into the signer certificate's authentication
	// evidence and the audit events of the session's signatures.
	Methods   []string
	Assurance string
	// Intent is, for a session opened by a passkey confirmation
	// ([Service.FinishPasskey]), what the passkey approved, with the
	// assertion as evidence; nil for any other session. AuthTime is then
	// the time of the assertion, the recipient's latest strong
	// authentication.
	Intent *Intent
}

// AuthState is the one-time-code state of one recipient of one envelope.
// It is kept per recipient, not per link, so that a fresh link does not
// reset a lockout.
type AuthState struct {
	EnvelopeID  string
	RecipientID string
	// CodeMAC is the keyed hash of the pending code; empty when none.
	CodeMAC       []byte
	CodeExpiresAt time.Time
	// Failures counts wrong codes since the last success or lockout.
	Failures    int
	LockedUntil time.Time
	// Lockouts counts the lockouts so far; they are not forgotten on a
	// success, only when the sender re-issues the link.
	Lockouts int
	// RevokedAt is set when one lockout too many revoked the recipient's
	// links: no link works until the sender re-issues one.
	RevokedAt time.Time
	// WindowStart and WindowSends rate-limit code sends.
	WindowStart time.Time
	WindowSends int
	// Ceremony is the pending passkey confirmation of a passkey
	// recipient ([Service.BeginPasskey]): the passkey ceremony sealed
	// under a key derived from [Config.CodeKey], never in clear; empty
	// when none. [Service.FinishPasskey] takes it out before it verifies
	// anything, so that it is used once.
	Ceremony []byte
	// UsedAssertions are the SHA-256 of the signatures of the recipient's
	// latest accepted passkey assertions, oldest first, at most
	// [MaxUsedAssertions]: an assertion is accepted once, even from an
	// authenticator that keeps no signature counter.
	UsedAssertions [][32]byte
}

// A Store keeps links, sessions and one-time-code state. Package
// internal/signing/sqlite implements it on SQLite.
//
// Lookups of a missing row MUST return an error wrapping [ErrNoRecord].
// Implementations MUST be safe for concurrent use.
type Store interface {
	CreateLink(ctx context.Context, l Link) error
	LinkByHash(ctx context.Context, hash [32]byte) (Link, error)
	// MarkLinksUsed marks every link of the recipient used at t.
	MarkLinksUsed(ctx context.Context, envelopeID, recipientID string, t time.Time) error
	// RevokeRecipient stores st, whose RevokedAt is set, and revokes
	// every link of its recipient at st.RevokedAt, in one transaction.
	RevokeRecipient(ctx context.Context, st AuthState) error
	// Reissue revokes every link of l's recipient at l.CreatedAt, deletes
	// the recipient's sessions, stores st (the recipient's fresh code
	// state) and creates l, in one transaction.
	Reissue(ctx context.Context, l Link, st AuthState) error
	CreateSession(ctx context.Context, s Session) error
	SessionByHash(ctx context.Context, hash [32]byte) (Session, error)
	// AuthState returns the recipient's state, or a zero state (with the
	// ids set) when there is none.
	AuthState(ctx context.Context, envelopeID, recipientID string) (AuthState, error)
	PutAuthState(ctx context.Context, s AuthState) error
}
