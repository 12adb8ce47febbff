package accounts

import (
	"context"
	"errors"
	"time"
)

// ErrNoRecord is returned by the stores when a record does not exist.
var ErrNoRecord = errors.New("accounts: no such record")

// ErrExists is returned by the stores when a record with the same id
// already exists.
var ErrExists = errors.New("accounts: record exists")

// ErrReplaced is returned by [KeyStore.RotateKey] when the key was
// revoked or already replaced.
var ErrReplaced = errors.New("accounts: the key is revoked or already replaced")

// ErrTenantDeleted is returned by [KeyStore.CreateKey] and
// [KeyStore.RotateKey] when the key's tenant is deleted.
var ErrTenantDeleted = errors.New("accounts: the tenant is deleted")

// ErrTooManyTokens is returned by [TokenStore.CreateToken] when the key
// already has the most live tokens allowed.
var ErrTooManyTokens = errors.New("accounts: too many live access tokens")

// A Tenant is an organization: the boundary of data, keys and
// administration.
type Tenant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	// DeletedAt is when the tenant was deleted ([Service.DeleteTenant]);
	// nil while it lives. A deleted tenant's record stays, so that its id
	// is never given to another tenant.
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
}

// An APIKey is a service account's key, in its stored form: the SHA-256
// of its secret, never the secret. A key of a tenant holds the standing
// grants of Roles narrowed to Actions; a key without a tenant is the
// platform administrator's ([PlatformActions]).
type APIKey struct {
	ID     string `json:"id"`
	Tenant string `json:"tenant,omitempty"`
	Name   string `json:"name"`
	// Roles are the roles granted to the service account (standing
	// grants), sorted; the authorizer decides which count.
	Roles []string `json:"roles"`
	// Actions are the actions the key is bound to, in the order of
	// authz.AllActions: the service account acts only within them.
	Actions []string `json:"actions"`
	// Owner is the user who created the key; "" when the platform
	// administrator or the bootstrap created it.
	Owner string `json:"owner,omitempty"`
	// AllowedIPs are the CIDR prefixes requests with the key must come
	// from; empty allows any address.
	AllowedIPs []string `json:"allowed_ips,omitempty"`
	// Prefix is the first characters of the secret, shown to help people
	// recognize a key; it is not enough to use it.
	Prefix    string    `json:"prefix"`
	Hash      [32]byte  `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	// ExpiresAt is when the key stops working; nil never.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// LastUsedAt is when the key last authenticated, to the minute
	// ([LastUsedGranularity]).
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	// ReplacedBy names the key that replaced this one by rotation, and
	// OverlapEndsAt is when this key's secret stops working.
	ReplacedBy    string     `json:"replaced_by,omitempty"`
	OverlapEndsAt *time.Time `json:"overlap_ends_at,omitempty"`
}

// An AccessToken is a short-lived bearer credential exchanged for an API
// key, in its stored form: the SHA-256 of the token, never the token.
type AccessToken struct {
	Hash   [32]byte
	KeyID  string
	Tenant string
	// Actions are the actions the token is narrowed to (a subset of the
	// key's when it was issued).
	Actions   []string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// A TenantStore holds tenants.
type TenantStore interface {
	// CreateTenant stores t; it returns [ErrExists] if t.ID is taken.
	CreateTenant(ctx context.Context, t Tenant) error
	// Tenant returns the tenant with id, or [ErrNoRecord].
	Tenant(ctx context.Context, id string) (Tenant, error)
	// Tenants lists all tenants, deleted ones included, oldest first.
	Tenants(ctx context.Context) ([]Tenant, error)
	// DeleteTenant marks tenant id deleted at t and, in the same
	// transaction, revokes (at t) every API key of the tenant not yet
	// revoked and deletes every access token of the tenant. Deleting a
	// deleted tenant keeps its first time and revokes and deletes what
	// remains. It returns [ErrNoRecord] if there is no tenant id.
	DeleteTenant(ctx context.Context, id string, t time.Time) error
}

// A KeyStore holds API keys. Implementations MUST look keys up by the hash
// of their secret only, and MUST NOT store secrets.
type KeyStore interface {
	// CreateKey stores k; it returns [ErrExists] if k.ID or k.Hash is
	// taken, [ErrTenantDeleted] if k.Tenant is a deleted tenant (checked
	// atomically with the insert: a key never outlives its tenant's
	// deletion).
	CreateKey(ctx context.Context, k APIKey) error
	// KeyByHash returns the key whose secret hashes to h, revoked or not,
	// or [ErrNoRecord].
	KeyByHash(ctx context.Context, h [32]byte) (APIKey, error)
	// Key returns key id of tenant ("" for platform keys), or
	// [ErrNoRecord].
	Key(ctx context.Context, tenant, id string) (APIKey, error)
	// Keys lists the keys of tenant ("" for platform keys), oldest first.
	Keys(ctx context.Context, tenant string) ([]APIKey, error)
	// RevokeKey marks key id of tenant revoked at t; it returns
	// [ErrNoRecord] if tenant has no such key. Revoking twice keeps the
	// first time.
	RevokeKey(ctx context.Context, tenant, id string, t time.Time) error
	// RotateKey stores next, of the tenant of key old, and marks old
	// replaced by next until overlapEnds, in one transaction. It returns
	// [ErrNoRecord] if the tenant has no key old, [ErrReplaced] if old is
	// revoked or already replaced, [ErrExists] and [ErrTenantDeleted] as
	// CreateKey does; on any error nothing changes.
	RotateKey(ctx context.Context, tenant, old string, next APIKey, overlapEnds time.Time) error
	// TouchKey sets key id's last use to at if it is still prev (nil:
	// never used), so that of concurrent touches after one read only the
	// first writes. A key that changed meanwhile is left alone, without
	// error.
	TouchKey(ctx context.Context, id string, prev *time.Time, at time.Time) error
}

// A TokenStore holds access tokens. Implementations MUST look tokens up
// by their hash only, and MUST NOT store tokens.
type TokenStore interface {
	// CreateToken stores t after deleting the expired tokens of t's key
	// (expired at t.CreatedAt); it returns [ErrTooManyTokens] when the
	// key has max live tokens already, [ErrExists] if t.Hash is taken.
	CreateToken(ctx context.Context, t AccessToken, max int) error
	// TokenByHash returns the token whose value hashes to h, expired or
	// not, or [ErrNoRecord].
	TokenByHash(ctx context.Context, h [32]byte) (AccessToken, error)
	// DeleteTokens deletes every token of key id of tenant and returns
	// how many there were.
	DeleteTokens(ctx context.Context, tenant, keyID string) (int, error)
	// DeleteExpiredTokens deletes every token that expired at or before
	// now and returns how many there were.
	DeleteExpiredTokens(ctx context.Context, now time.Time) (int, error)
}
