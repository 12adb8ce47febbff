package workflow

import (
	"context"
	"time"
)

// A Content is one version of a document's bytes as one tenant stores it
// when contents are sealed ([Config.Keys]): the blob store holds its
// ciphertext (a [dataseal] stream under the tenant's data key of object
// "content:<SHA256>"), and this row says where, and what the plaintext
// is. The same bytes uploaded by two tenants are two contents, two
// ciphertexts under two keys.
type Content struct {
	// Tenant owns the content.
	Tenant string
	// SHA256 is the lowercase hex SHA-256 of the plaintext: the name
	// documents and envelope documents give the version.
	SHA256 string
	// Blob is the blob store name of the ciphertext (the SHA-256 of the
	// ciphertext).
	Blob string
	// Size is the plaintext's size in bytes.
	Size int64
	// State is the SHA-256 state after the plaintext (as
	// encoding.BinaryMarshaler gives it, which holds the plaintext's last
	// partial block), sealed under the content's key (a [dataseal] value
	// of field "sha256_state"), so that a signature hashes what it
	// appends without reading the document again.
	State []byte
	// Created is when the content was stored, or last stored again
	// ([ContentStore.TouchContent]): garbage collection spares contents
	// more recent than its grace period.
	Created time.Time
}

// A ContentStore holds the tenants' sealed contents (table
// workflow_contents) and deletes what references them: documents and
// finished envelopes. Implementations MUST write each call atomically.
type ContentStore interface {
	// InsertContent stores c unless c.Tenant already has content
	// c.SHA256; it reports whether it stored c.
	InsertContent(ctx context.Context, c *Content) (bool, error)
	// InsertDocumentContent stores document d and, in the same
	// transaction, content c of d's tenant; if the tenant already has
	// content c.SHA256, that row is kept and its Created time set to
	// c.Created instead (as TouchContent does).
	InsertDocumentContent(ctx context.Context, d *Document, c *Content) error
	// Content returns tenant's content sha256, or [ErrNoRecord].
	Content(ctx context.Context, tenant, sha256 string) (*Content, error)
	// TouchContent sets the Created time of tenant's content sha256 to
	// at ([ErrNoRecord] if there is none).
	TouchContent(ctx context.Context, tenant, sha256 string, at time.Time) error
	// ContentUsed reports whether a document of tenant, or a document
	// version (original or current) of an envelope of tenant, is sha256.
	ContentUsed(ctx context.Context, tenant, sha256 string) (bool, error)
	// UnusedContents returns at most limit contents created before
	// before that no document or envelope document of their tenant uses
	// (see ContentUsed), oldest first.
	UnusedContents(ctx context.Context, before time.Time, limit int) ([]*Content, error)
	// ContentBlobReferenced reports whether a content's Blob is blob.
	ContentBlobReferenced(ctx context.Context, blob string) (bool, error)
	// DeleteContent deletes tenant's content sha256 (deleting a missing
	// one is not an error).
	DeleteContent(ctx context.Context, tenant, sha256 string) error
	// DocumentInUse reports whether an envelope of tenant that is not
	// finished (completed, declined, voided or expired) has document id.
	DocumentInUse(ctx context.Context, tenant, id string) (bool, error)
	// DeleteDocument deletes tenant's document id unless an envelope of
	// tenant that is not finished (completed, declined, voided or
	// expired) has it, in which case it deletes nothing and reports
	// inUse. A missing document is [ErrNoRecord].
	DeleteDocument(ctx context.Context, tenant, id string) (inUse bool, err error)
	// FinishedEnvelopes returns the ids of at most limit envelopes that
	// are finished (completed, declined, voided or expired) and were last
	// updated before before, earliest first.
	FinishedEnvelopes(ctx context.Context, before time.Time, limit int) ([]string, error)
	// DeleteEnvelope deletes envelope id with its documents, recipients
	// and transitions (deleting a missing one is not an error).
	DeleteEnvelope(ctx context.Context, id string) error
}
