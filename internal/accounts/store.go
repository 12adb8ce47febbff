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

// A Tenant is an organization: the boundary of data, keys and
// administration.
type Tenant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// An APIKey is the stored form of an API key: the SHA-256 of its secret,
// never the secret.
type APIKey struct {
	ID     string   `json:"id"`
	Tenant string   `json:"tenant,omitempty"`
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
	// Prefix is the first characters of the secret, shown to help people
	// recognize a key; it is not enough to use it.
	Prefix    string     `json:"prefix"`
	Hash      [32]byte   `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// A TenantStore holds tenants.
type TenantStore interface {
	// CreateTenant stores t; it returns [ErrExists] if t.ID is taken.
	CreateTenant(ctx context.Context, t Tenant) error
	// Tenant returns the tenant with id, or [ErrNoRecord].
	Tenant(ctx context.Context, id string) (Tenant, error)
	// Tenants lists all tenants, oldest first.
	Tenants(ctx context.Context) ([]Tenant, error)
}

// A KeyStore holds API keys. Implementations MUST look keys up by the hash
// of their secret only, and MUST NOT store secrets.
type KeyStore interface {
	// CreateKey stores k; it returns [ErrExists] if k.ID or k.Hash is taken.
	CreateKey(ctx context.Context, k APIKey) error
	// KeyByHash returns the key whose secret hashes to h, revoked or not,
	// or [ErrNoRecord].
	KeyByHash(ctx context.Context, h [32]byte) (APIKey, error)
	// Keys lists the keys of tenant ("" for platform keys), oldest first.
	Keys(ctx context.Context, tenant string) ([]APIKey, error)
	// RevokeKey marks key id of tenant revoked at t; it returns
	// [ErrNoRecord] if tenant has no such key. Revoking twice keeps the
	// first time.
	RevokeKey(ctx context.Context, tenant, id string, t time.Time) error
}
