package api

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// ErrNoRecord is returned by the stores when a record does not exist.
var ErrNoRecord = errors.New("api: no such record")

// ErrExists is returned by the stores when a record with the same id
// already exists.
var ErrExists = errors.New("api: record exists")

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

// An IdempotencyRecord is one Idempotency-Key of one principal: in flight
// until Done, then holding the response to replay.
type IdempotencyRecord struct {
	// Principal and Key identify the record.
	Principal string
	Key       string
	// RequestHash is the SHA-256 of the request's method, path, content
	// type and body.
	RequestHash [32]byte
	// Done is set once the response is stored.
	Done   bool
	Status int
	Header http.Header
	Body   []byte
	// Secret marks a response that carried a secret shown once (see
	// [MarkSecret]): only Status is kept, Header and Body are empty, and
	// the response is never replayed.
	Secret bool
	// CreatedAt is when the key was first used; the record expires at
	// ExpiresAt.
	CreatedAt time.Time
	ExpiresAt time.Time
}

// An IdempotencyStore holds idempotency records.
type IdempotencyStore interface {
	// Reserve atomically inserts rec (in flight) unless a record of the
	// same principal and key exists that is neither expired at now nor an
	// in-flight record created before staleBefore; such a record is
	// returned instead (and rec not stored). Expired and stale records are
	// replaced.
	Reserve(ctx context.Context, rec IdempotencyRecord, now, staleBefore time.Time) (*IdempotencyRecord, error)
	// Complete stores the response of an in-flight record and marks it
	// done. For a Secret record it MUST NOT store a header or body.
	Complete(ctx context.Context, rec IdempotencyRecord) error
	// Release deletes the in-flight record of principal and key, so that
	// the request may be retried.
	Release(ctx context.Context, principal, key string) error
}
