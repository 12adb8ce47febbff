package oidc

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// A Pending is a login between [Client.Begin] and [Client.Finish]: the
// state, the nonce and the PKCE code verifier, the provider it was begun
// for and its expiry. It is small and serializable ([Pending.MarshalBinary],
// [PendingSize] bytes) so that the caller can keep it until the browser
// comes back.
//
// The verifier and the nonce are secrets of this login: the caller MUST
// keep a Pending confidential and unmodifiable (a server-side record, or
// a cookie that is encrypted and authenticated, Secure, HttpOnly and
// SameSite=Lax), and MUST use it at most once (delete it before calling
// [Client.Finish]).
type Pending struct {
	expires  int64    // Unix seconds
	client   [32]byte // bindingOf the provider
	state    string
	nonce    string
	verifier string
}

// PendingLifetime is how long a [Pending] is valid after [Client.Begin].
const PendingLifetime = 10 * time.Minute

// Layout of a serialized Pending (version 1): one version byte, the
// expiry as a big-endian int64 of Unix seconds, the 32-byte binding of
// the provider, then the state, the nonce and the verifier, each 43
// characters of unpadded base64url (32 random bytes).
const (
	pendingVersion = 1
	randLen        = 43
	// PendingSize is the length of a serialized [Pending].
	PendingSize = 1 + 8 + 32 + 3*randLen
)

// ErrPending is matched by every error about a [Pending] that is
// malformed, expired, or was begun for another provider.
var ErrPending = errors.New("invalid pending login")

// State returns the state parameter of the login, by which a caller that
// keeps pending logins server-side can find this one when the browser
// returns (query parameter "state").
func (p Pending) State() string { return p.state }

// Expiry returns the time after which [Client.Finish] refuses p.
func (p Pending) Expiry() time.Time { return time.Unix(p.expires, 0) }

// MarshalBinary returns the [PendingSize]-byte serialization of p. It
// fails for a Pending that [Client.Begin] or [Pending.UnmarshalBinary]
// did not make.
func (p Pending) MarshalBinary() ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, fmt.Errorf("oidc: %w", err)
	}
	b := make([]byte, 0, PendingSize)
	b = append(b, pendingVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(p.expires))
	b = append(b, p.client[:]...)
	b = append(b, p.state...)
	b = append(b, p.nonce...)
	b = append(b, p.verifier...)
	return b, nil
}

// UnmarshalBinary parses what [Pending.MarshalBinary] wrote. It accepts
// exactly [PendingSize] bytes of version 1 with a positive expiry and
// base64url values, and nothing else; on error p is unchanged.
func (p *Pending) UnmarshalBinary(b []byte) error {
	if len(b) != PendingSize {
		return fmt.Errorf("oidc: %w: %d bytes, not %d", ErrPending, len(b), PendingSize)
	}
	if b[0] != pendingVersion {
		return fmt.Errorf("oidc: %w: version %d", ErrPending, b[0])
	}
	var q Pending
	q.expires = int64(binary.BigEndian.Uint64(b[1:9]))
	copy(q.client[:], b[9:41])
	r := b[41:]
	q.state, q.nonce, q.verifier = string(r[:randLen]), string(r[randLen:2*randLen]), string(r[2*randLen:])
	if err := q.check(); err != nil {
		return fmt.Errorf("oidc: %w", err)
	}
	*p = q
	return nil
}

// check reports whether every field of p is well-formed.
func (p Pending) check() error {
	if p.expires <= 0 || p.expires > maxUnix {
		return fmt.Errorf("%w: expiry out of range", ErrPending)
	}
	for _, v := range []string{p.state, p.nonce, p.verifier} {
		if !randValue(v) {
			return fmt.Errorf("%w: malformed value", ErrPending)
		}
	}
	return nil
}

// maxUnix is 9999-12-31T23:59:59Z.
const maxUnix = 253402300799

// randValue reports whether v looks like newRand's output: 43 characters
// of the base64url alphabet (which is also within the PKCE verifier's
// unreserved characters, RFC 7636, section 4.1).
func randValue(v string) bool {
	if len(v) != randLen {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// newRand returns 32 random bytes as 43 characters of unpadded base64url.
func newRand() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("oidc: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// bindingOf identifies a provider configuration in a Pending: a Pending
// begun for one tenant's provider, or before its issuer, client or
// redirect URL changed, is refused by another.
func bindingOf(p Provider) [32]byte {
	h := sha256.New()
	h.Write([]byte("signet oidc pending v1"))
	for _, s := range []string{p.Tenant, p.Name, p.Issuer, p.ClientID, p.RedirectURL} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// equalString compares in constant time (for equal lengths).
func equalString(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
