package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/api"
)

// KeyPrefix starts every API key secret.
const KeyPrefix = "sk_"

// keySecretLen is the length of a secret: the prefix and 256 random bits
// in unpadded base64url.
const keySecretLen = len(KeyPrefix) + 43

// NewAPIKey generates an API key for tenant ("" only for the platform
// administrator) with name and scopes, reading 256 bits of secret and 96
// bits of id from rand (crypto/rand when nil). It returns the secret, to be
// shown once, and the record to store.
func NewAPIKey(rnd io.Reader, tenant, name string, scopes []string, now time.Time) (string, APIKey, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	var buf [32 + 12]byte
	if _, err := io.ReadFull(rnd, buf[:]); err != nil {
		return "", APIKey{}, fmt.Errorf("accounts: api key: %w", err)
	}
	secret := KeyPrefix + base64.RawURLEncoding.EncodeToString(buf[:32])
	k := APIKey{
		ID:        "key_" + hex.EncodeToString(buf[32:]),
		Tenant:    tenant,
		Name:      name,
		Scopes:    slices.Clone(scopes),
		Prefix:    secret[:len(KeyPrefix)+6],
		Hash:      HashSecret(secret),
		CreatedAt: now.UTC(),
	}
	return secret, k, nil
}

// HashSecret returns the SHA-256 of an API key secret: the only form in
// which secrets are stored.
func HashSecret(secret string) [32]byte { return sha256.Sum256([]byte(secret)) }

// wellFormedSecret reports whether s has the shape of an API key secret.
func wellFormedSecret(s string) bool {
	if len(s) != keySecretLen || !strings.HasPrefix(s, KeyPrefix) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s[len(KeyPrefix):])
	return err == nil
}

// ValidScopes checks that scopes are known and allowed for a key of tenant:
// only platform keys (tenant "") may hold [api.ScopeAdmin], and they hold
// no other scope.
func ValidScopes(tenant string, scopes []string) error {
	if len(scopes) == 0 {
		return &api.Error{Kind: api.KindInvalid, Type: "invalid-scope", Detail: "at least one scope is required"}
	}
	for _, s := range scopes {
		switch {
		case tenant == "" && s == api.ScopeAdmin:
		case tenant != "" && slices.Contains(api.TenantScopes, s):
		default:
			return &api.Error{Kind: api.KindInvalid, Type: "invalid-scope", Detail: fmt.Sprintf("scope %q is not allowed here", s)}
		}
	}
	return nil
}

// errBadKey is every refusal of a credential: malformed, unknown or
// revoked look the same.
var errBadKey = &api.Error{Kind: api.KindUnauthorized, Detail: "a valid API key is required"}

// KeyVerifier authenticates API key secrets against a [KeyStore]; it is
// the [api.CredentialVerifier] of the service's authentication middleware.
type KeyVerifier struct {
	Keys KeyStore
}

var _ api.CredentialVerifier = KeyVerifier{}

// VerifyCredential implements [api.CredentialVerifier]: a well-formed
// secret whose hash names an unrevoked key authenticates that key as a
// service principal of the key's tenant with the key's scopes.
func (v KeyVerifier) VerifyCredential(ctx context.Context, secret string) (api.Principal, error) {
	if !wellFormedSecret(secret) {
		return api.Principal{}, errBadKey
	}
	sum := HashSecret(secret)
	k, err := v.Keys.KeyByHash(ctx, sum)
	if errors.Is(err, ErrNoRecord) {
		return api.Principal{}, errBadKey
	}
	if err != nil {
		return api.Principal{}, fmt.Errorf("accounts: api key: %w", err)
	}
	// The lookup is by hash; compare again in constant time so that a
	// store that matched loosely cannot authenticate a different secret.
	if subtle.ConstantTimeCompare(k.Hash[:], sum[:]) != 1 || k.RevokedAt != nil {
		return api.Principal{}, errBadKey
	}
	return api.Principal{Kind: api.PrincipalAPIKey, ID: k.ID, Tenant: k.Tenant, Scopes: k.Scopes}, nil
}
