package accounts

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
)

// errBadKey is every refusal of a credential: malformed, unknown, revoked,
// expired, rotated out or from an address not allowed look the same.
var errBadKey = &api.Error{Kind: api.KindUnauthorized, Detail: "a valid API key is required"}

// KeyVerifier authenticates API key secrets ("sk_") and access tokens
// ("st_") against the stores; it is the [api.CredentialVerifier] of the
// service's authentication middleware.
//
// A key authenticates while it is not revoked, not expired, not rotated
// out (its replacement's overlap has not ended) and the request comes
// from one of its allowed addresses. A token authenticates while it has
// not expired and its key authenticates. Every refusal is the same 401;
// a refusal of a known key or token is recorded (apikey.refused, with
// the reason, never the credential) when Recorder is set. Unknown or
// malformed credentials are not recorded: anyone can send them, and the
// per-address rate limit bounds them.
type KeyVerifier struct {
	// Keys holds the API keys.
	Keys KeyStore
	// Tokens holds access tokens; nil refuses every token.
	Tokens TokenStore
	// Recorder records refusals of known keys; nil records nothing.
	Recorder auditlog.Recorder
	// Now defaults to time.Now.
	Now func() time.Time
}

var _ api.CredentialVerifier = KeyVerifier{}

func (v KeyVerifier) now() time.Time {
	if v.Now != nil {
		return v.Now().UTC()
	}
	return time.Now().UTC()
}

// VerifyCredential implements [api.CredentialVerifier]: a valid key or
// token authenticates the key's service account as [api.Principal] of
// kind api.PrincipalAPIKey with the key's id, tenant, roles and actions
// (a token's narrowed actions), the key's owner ("platform" for keys
// created by the platform administrator or the bootstrap) and creation
// time as GrantedBy and GrantedAt. A key without a tenant is the
// platform administrator (Platform set).
func (v KeyVerifier) VerifyCredential(ctx context.Context, secret string, remote netip.Addr) (api.Principal, error) {
	now := v.now()
	switch {
	case wellFormed(secret, KeyPrefix):
		k, err := v.key(ctx, HashSecret(secret))
		if err != nil {
			return api.Principal{}, err
		}
		if why := k.refusal(now, remote); why != "" {
			v.refuse(ctx, k, "api-key", why, remote)
			return api.Principal{}, errBadKey
		}
		v.touch(ctx, k, now)
		return principalOf(k, k.Actions, "api-key"), nil
	case wellFormed(secret, TokenPrefix):
		return v.verifyToken(ctx, secret, now, remote)
	}
	return api.Principal{}, errBadKey
}

// key returns the key whose secret hashes to sum, or errBadKey.
func (v KeyVerifier) key(ctx context.Context, sum [32]byte) (APIKey, error) {
	k, err := v.Keys.KeyByHash(ctx, sum)
	if errors.Is(err, ErrNoRecord) {
		return APIKey{}, errBadKey
	}
	if err != nil {
		return APIKey{}, fmt.Errorf("accounts: api key: %w", err)
	}
	// The lookup is by hash; compare again in constant time so that a
	// store that matched loosely cannot authenticate a different secret.
	if subtle.ConstantTimeCompare(k.Hash[:], sum[:]) != 1 {
		return APIKey{}, errBadKey
	}
	return k, nil
}

func (v KeyVerifier) verifyToken(ctx context.Context, secret string, now time.Time, remote netip.Addr) (api.Principal, error) {
	if v.Tokens == nil {
		return api.Principal{}, errBadKey
	}
	sum := HashSecret(secret)
	t, err := v.Tokens.TokenByHash(ctx, sum)
	if errors.Is(err, ErrNoRecord) {
		return api.Principal{}, errBadKey
	}
	if err != nil {
		return api.Principal{}, fmt.Errorf("accounts: access token: %w", err)
	}
	if subtle.ConstantTimeCompare(t.Hash[:], sum[:]) != 1 {
		return api.Principal{}, errBadKey
	}
	k, err := v.Keys.Key(ctx, t.Tenant, t.KeyID)
	if errors.Is(err, ErrNoRecord) {
		// The key is gone: the token dies with it.
		return api.Principal{}, errBadKey
	}
	if err != nil {
		return api.Principal{}, fmt.Errorf("accounts: access token: %w", err)
	}
	why := k.refusal(now, remote)
	if why == "" && !now.Before(t.ExpiresAt) {
		why = "token expired"
	}
	if why != "" {
		v.refuse(ctx, k, "access-token", why, remote)
		return api.Principal{}, errBadKey
	}
	v.touch(ctx, k, now)
	// The token acts within its own actions, and never beyond its key's
	// current ones.
	var actions []string
	for _, a := range t.Actions {
		if slices.Contains(k.Actions, a) {
			actions = append(actions, a)
		}
	}
	return principalOf(k, actions, "access-token"), nil
}

// principalOf is the principal k authenticates, acting within actions.
func principalOf(k APIKey, actions []string, method string) api.Principal {
	grantedBy := k.Owner
	if grantedBy == "" {
		grantedBy = "platform"
	}
	return api.Principal{
		Kind: api.PrincipalAPIKey, ID: k.ID, Tenant: k.Tenant, Platform: k.Tenant == "",
		Roles: slices.Clone(k.Roles), Actions: slices.Clone(actions),
		GrantedBy: grantedBy, GrantedAt: k.CreatedAt,
		AuthMethods: []string{method},
	}
}

// touch records k's use at now, at most once per [LastUsedGranularity].
// A failure to record is logged, not a refusal.
func (v KeyVerifier) touch(ctx context.Context, k APIKey, now time.Time) {
	if k.LastUsedAt != nil && now.Sub(*k.LastUsedAt) < LastUsedGranularity {
		return
	}
	at := now.Truncate(time.Second)
	if err := v.Keys.TouchKey(ctx, k.ID, k.LastUsedAt, at); err != nil {
		api.Logger(ctx).WarnContext(ctx, "cannot record the API key's use", "api_key_id", k.ID, "error", err.Error())
	}
}

// refuse records that a known key (or a token of it) was refused, and why.
func (v KeyVerifier) refuse(ctx context.Context, k APIKey, credential, why string, remote netip.Addr) {
	if v.Recorder == nil {
		return
	}
	ev := auditlog.Event{
		Type: auditlog.APIKeyRefused, Tenant: k.Tenant,
		Actor:   auditlog.Actor{Kind: auditlog.ActorService, ID: k.ID, AuthMethods: []string{credential}},
		Outcome: auditlog.OutcomeDenied, Reason: why,
		Policy:  auditlog.Policy{Decision: "deny", Rule: why},
		Details: map[string]string{"api_key_id": k.ID, "credential": credential},
	}
	if remote.IsValid() {
		ev.Request.IP = remote.String()
	}
	if err := v.Recorder.Record(context.WithoutCancel(ctx), ev); err != nil {
		api.Logger(ctx).ErrorContext(ctx, "cannot record a refused API key", "api_key_id", k.ID, "error", err.Error())
	}
}
