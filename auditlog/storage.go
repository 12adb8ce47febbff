package auditlog

import (
	"context"
	"errors"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// Errors that Storage implementations return and callers branch on.
var (
	// ErrConflict means an Append did not start at the current size: another
	// writer got there first, or the caller's view is stale. Nothing was
	// stored.
	ErrConflict = errors.New("auditlog: append does not start at the end of the log")
	// ErrNotFound means the requested record, hash or checkpoint is absent.
	ErrNotFound = errors.New("auditlog: not found")
)

// A Record is one event as stored: its position in the log, the fields the
// store indexes, the leaf bytes that the Merkle tree commits to, and the
// sealed clear values that the leaf only holds as keyed HMACs.
type Record struct {
	// Index is the record's position, from 0.
	Index int64
	// ID is the event's immutable, unique identifier.
	ID string
	// Tenant is the owning tenant ("" for platform events).
	Tenant string
	// Type is the normalized event name, e.g. "document.uploaded".
	Type string
	// Envelope is the envelope the event is about (the leaf's
	// subject.envelope_id), "" for none. The SQL stores index it with the
	// tenant ((tenant, envelope, idx)), so [Storage.EnvelopeRecords] reads
	// an envelope's events without scanning the log.
	Envelope string
	// Time is the event time.
	Time time.Time
	// Leaf is the canonical encoding of the event: the Merkle tree leaf data
	// (RFC 6962 leaf hash = SHA-256(0x00 ‖ Leaf)).
	Leaf []byte
	// Sealed holds the event's sensitive clear values encrypted under the
	// tenant's key. It is outside the leaf, so destroying the tenant key
	// (crypto-shredding) removes them without breaking the tree. May be nil.
	Sealed []byte
}

// A HashEntry is one stored hash of the tree, at its tlog stored-hash index
// (see [tlog.StoredHashIndex]).
type HashEntry struct {
	Index int64
	Hash  tlog.Hash
}

// A Checkpoint is a signed tree head as stored: a C2SP tlog-checkpoint
// signed note.
type Checkpoint struct {
	// Size is the tree size the checkpoint commits to.
	Size int64
	// Note is the signed note text (checkpoint body and signature lines).
	Note []byte
	// Time is when the checkpoint was published.
	Time time.Time
}

// An Anchor is evidence of a checkpoint held outside the log's operator:
// an RFC 3161 token over the checkpoint, a witness cosignature, or the
// receipt of a write-once sink.
type Anchor struct {
	// Size identifies the checkpoint.
	Size int64
	// Kind is "rfc3161", "witness" or "sink".
	Kind string
	// Name names the witness, TSA or sink.
	Name string
	// Data is the evidence: a DER time-stamp token, a cosignature line, or
	// a sink locator.
	Data []byte
	// Time is when the anchor was obtained.
	Time time.Time
}

// Storage is where the log keeps its records, tree hashes, checkpoints and
// anchors. Implementations: SQLite (auditlog/sqlite), PostgreSQL
// (auditlog/postgres) and, for tests, [MemStore]; all pass the conformance
// and tamper suites in auditlog/storetest.
//
// The log only ever inserts and reads: an implementation MUST NOT need
// UPDATE or DELETE privileges, so a database role limited to INSERT and
// SELECT can run it. All methods are safe for concurrent use.
type Storage interface {
	// Size returns the number of durably stored records.
	Size(ctx context.Context) (int64, error)
	// Append stores records with consecutive indexes starting at recs[0].Index
	// together with the tree hashes they add, in one transaction that is
	// durable (synced) when Append returns nil. If recs[0].Index is not the
	// current size it MUST return ErrConflict and store nothing. On any error
	// nothing is stored.
	Append(ctx context.Context, recs []Record, hashes []HashEntry) error
	// ReadHashes returns the stored hashes at the given stored-hash indexes,
	// in the same order, with the semantics of [tlog.HashReader]. A missing
	// hash is ErrNotFound.
	ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)
	// Records returns the records with start <= Index < end, in index order.
	Records(ctx context.Context, start, end int64) ([]Record, error)
	// RecordByID returns the record with the given event ID, or ErrNotFound.
	RecordByID(ctx context.Context, id string) (Record, error)
	// EnvelopeRecords returns tenant's records whose event names envelope
	// envelopeID as its subject (the leaf's subject.envelope_id, stored as
	// Record.Envelope), in index order; none is an empty, non-nil result,
	// not an error. No event names the empty envelope ID: "" has no
	// records. The SQL stores answer it from an index.
	EnvelopeRecords(ctx context.Context, tenant, envelopeID string) ([]Record, error)
	// TenantRecords returns at most limit of tenant's records (Record.Tenant)
	// whose Index is greater than after (-1 for the first), in index order;
	// none is an empty, non-nil result. limit must be positive. The SQL
	// stores answer it from an index on (tenant, idx).
	TenantRecords(ctx context.Context, tenant string, after int64, limit int) ([]Record, error)
	// AddCheckpoint stores a checkpoint. Storing a second, different
	// checkpoint for the same size MUST fail.
	AddCheckpoint(ctx context.Context, c Checkpoint) error
	// Checkpoints returns every stored checkpoint, by increasing size.
	Checkpoints(ctx context.Context) ([]Checkpoint, error)
	// AddAnchor stores anchoring evidence for a checkpoint.
	AddAnchor(ctx context.Context, a Anchor) error
	// Anchors returns the anchors of the checkpoint of the given size.
	Anchors(ctx context.Context, size int64) ([]Anchor, error)
	// Close releases the storage.
	Close() error
}

// A StorageReader reads the records and the tree of a [Storage].
type StorageReader interface {
	Size(ctx context.Context) (int64, error)
	Records(ctx context.Context, start, end int64) ([]Record, error)
	ReadHashes(ctx context.Context, indexes []int64) ([]tlog.Hash, error)
}

// A LockingStorage is a [Storage] that several writers share (the nodes
// of a deployment on one database) and that can hold off the other
// writers while one reads the end of the log and appends to it. A [Log]
// whose append another writer preceded (ErrConflict) retries it with
// AppendLocked, so that a writer that lost once cannot keep losing to a
// busier one. A Storage that several writers share should implement it:
// without it the retry is optimistic, and a writer that keeps being
// preceded fails its batch after a bounded number of attempts.
type LockingStorage interface {
	Storage
	// AppendLocked runs build while no other writer appends, with r
	// reading the storage under that exclusion, and appends the records
	// and hashes build returns, with the semantics of Append, before the
	// exclusion ends. If build fails, nothing is appended and its error is
	// returned.
	AppendLocked(ctx context.Context, build func(r StorageReader) ([]Record, []HashEntry, error)) error
}
