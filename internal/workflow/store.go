package workflow

import (
	"context"
	"errors"
	"time"

	"github.com/signet-pki/signet/internal/webhook"
)

// Errors the stores return.
var (
	// ErrNoRecord: the store holds no such row.
	ErrNoRecord = errors.New("workflow: no such record")
	// ErrStale: the envelope's stored version is not the one the update
	// was based on (optimistic concurrency).
	ErrStale = errors.New("workflow: stale envelope version")
)

// A DocumentStore holds document rows. Implementations MUST scope reads by
// tenant: a document of another tenant is [ErrNoRecord].
type DocumentStore interface {
	// InsertDocument stores d.
	InsertDocument(ctx context.Context, d *Document) error
	// Document returns tenant's document id, or [ErrNoRecord].
	Document(ctx context.Context, tenant, id string) (*Document, error)
	// DocumentExists reports whether any tenant has a document id (to
	// audit cross-tenant probes; its answer never reaches the client).
	DocumentExists(ctx context.Context, id string) (bool, error)
	// BlobReferenced reports whether any document row or envelope
	// document version references the blob sha256.
	BlobReferenced(ctx context.Context, sha256 string) (bool, error)
}

// A ListFilter selects envelopes of one tenant for [EnvelopeStore.ListEnvelopes].
type ListFilter struct {
	// Status, if set, keeps only envelopes in that state.
	Status Status
	// AfterCreated and AfterID, if AfterID is set, continue after that
	// position (exclusive) in the order newest first: (CreatedAt, ID)
	// descending.
	AfterCreated time.Time
	AfterID      string
	// Limit bounds the number returned (at least 1).
	Limit int
}

// An EnvelopeStore holds envelopes with their documents, recipients and
// recorded transitions, as one aggregate.
//
// Implementations MUST write each call atomically (one transaction), so
// that an envelope row and the transition explaining it are stored
// together or not at all.
type EnvelopeStore interface {
	// InsertEnvelope stores a new envelope (Version 1), with its
	// documents, recipients and placed fields, and its first transition.
	InsertEnvelope(ctx context.Context, e *Envelope, t Transition) error
	// Envelope returns the envelope id of any tenant, or [ErrNoRecord];
	// callers check the tenant.
	Envelope(ctx context.Context, id string) (*Envelope, error)
	// UpdateEnvelope replaces the stored envelope e.ID, whose version must
	// be prev (else [ErrStale]), with e (whose Version is prev+1), and
	// appends t if it is not nil. It stores e.NextDue() for [DueEnvelopes].
	// When e is a draft, its placed fields (e.Fields) replace the stored
	// ones; once it is sent they no longer change.
	// It writes out, the webhook messages announcing the change, to the
	// webhook outbox in the same transaction (the driver's
	// InsertMessages of internal/webhook/sqlite or /postgres), so that a
	// stored change is announced and a change not stored is not.
	UpdateEnvelope(ctx context.Context, e *Envelope, prev int64, t *Transition, out ...webhook.Message) error
	// ListEnvelopes returns tenant's envelopes matching f, newest first.
	ListEnvelopes(ctx context.Context, tenant string, f ListFilter) ([]*Envelope, error)
	// DueEnvelopes returns the ids of envelopes whose NextDue is set and
	// not after now, at most limit, earliest first.
	DueEnvelopes(ctx context.Context, now time.Time, limit int) ([]string, error)
	// Transitions returns the transitions of envelope id, oldest first.
	Transitions(ctx context.Context, id string) ([]Transition, error)
	// CompletedEnvelopes returns the ids of at most limit completed
	// envelopes of every tenant whose id sorts after after (byte order),
	// in that order: a page of a walk over them (archive renewal).
	CompletedEnvelopes(ctx context.Context, after string, limit int) ([]string, error)
}
