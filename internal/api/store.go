package api

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// ErrNoRecord is returned by an [IdempotencyStore] asked to complete a
// record that is not in flight.
var ErrNoRecord = errors.New("api: no such record")

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

// Live reports whether r still stands against a new reservation at now
// ([IdempotencyStore.Reserve]): not expired, and either done or in flight
// since staleBefore or later. Stores apply this one rule.
func (r *IdempotencyRecord) Live(now, staleBefore time.Time) bool {
	return now.Before(r.ExpiresAt) && (r.Done || !r.CreatedAt.Before(staleBefore))
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
