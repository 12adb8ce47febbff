package accounts

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"time"
)

// TokenPrefix starts every access token.
const TokenPrefix = "st_"

// Limits of access tokens.
const (
	// MaxTokenLifetime is the longest an access token lives, and the
	// lifetime of one for which none is asked.
	MaxTokenLifetime = 15 * time.Minute
	// MaxLiveTokens bounds the unexpired tokens of one key.
	MaxLiveTokens = 64
)

// NewAccessToken generates an access token for key k acting within
// actions, living ttl from now, reading 256 bits from rand (crypto/rand
// when nil). It returns the token, to be shown once, and the record to
// store.
func NewAccessToken(rnd io.Reader, k APIKey, actions []string, ttl time.Duration, now time.Time) (string, AccessToken, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	var buf [32]byte
	if _, err := io.ReadFull(rnd, buf[:]); err != nil {
		return "", AccessToken{}, fmt.Errorf("accounts: access token: %w", err)
	}
	tok := TokenPrefix + base64.RawURLEncoding.EncodeToString(buf[:])
	now = now.UTC()
	return tok, AccessToken{
		Hash: HashSecret(tok), KeyID: k.ID, Tenant: k.Tenant, Actions: slices.Clone(actions),
		CreatedAt: now, ExpiresAt: now.Add(ttl),
	}, nil
}

// narrow returns the actions of a token for key k: all of k's when none
// are asked, else the asked ones, each of which k must hold.
func narrow(k APIKey, asked []string) ([]string, error) {
	if len(asked) == 0 {
		return slices.Clone(k.Actions), nil
	}
	if len(asked) > len(k.Actions) {
		return nil, invalid("invalid-action", "a token narrows its key's %d actions", len(k.Actions))
	}
	var out []string
	for _, a := range k.Actions {
		if slices.Contains(asked, a) {
			out = append(out, a)
		}
	}
	for _, a := range asked {
		if !slices.Contains(k.Actions, a) {
			q := a
			if len(q) > 32 {
				q = q[:32] + "…"
			}
			return nil, invalid("invalid-action", "the key is not bound to %q", q)
		}
	}
	return out, nil
}
