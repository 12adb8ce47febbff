// Package postgres keeps the workflow's documents and envelopes
// ([workflow.DocumentStore], [workflow.EnvelopeStore]) in PostgreSQL (pgx
// v5, through internal/pgdb), so that several nodes share them. It holds
// what internal/workflow/sqlite holds, in the same tables and columns:
// workflow_documents, workflow_envelopes, workflow_envelope_documents,
// workflow_recipients and workflow_transitions.
//
// # Schema
//
// [Migrations] own versions 200–299 of the database's schema_migrations
// ([pgdb.Migrate]); version 200 creates the final shape of the SQLite
// history and version 201 adds the recipients' authentication fields as
// SQLite's 201 does; 202 and 203 (workflow_contents, the sealed contents
// of [workflow.ContentStore]) are SQLite's, and so is 204
// (workflow_placed_fields, the fields placed on envelopes' documents, and
// workflow_settings, each tenant's consent text). Types map as follows:
// TEXT is text; the 0/1 flag allow_link_only and, from version 202,
// approval_required and high_assurance, and from 204 required, are
// boolean; REAL (a field's box) is double precision; INTEGER is bigint
// and BLOB bytea,
// including every time, which both drivers keep as integer nanoseconds
// since the Unix epoch (the columns named *_ns), so a time round-trips to
// the nanosecond and is read back in UTC. Envelope ids are compared
// bytewise (COLLATE "C"), as SQLite compares text, so that lists and the
// scheduler's batches come in the same order whatever the database's
// locale. The indexes are the SQLite
// ones, plus one on workflow_envelope_documents.original_sha256 for
// [Store.BlobReferenced].
//
// # Transactions
//
// Every write runs in one READ COMMITTED transaction: an envelope, its
// documents, its recipients and the transition explaining a state change
// are stored together or not at all. [Store.UpdateEnvelope] updates the
// envelope row WHERE its version is the expected one; PostgreSQL makes a
// second writer of the same row wait for the first and then re-check that
// condition against the committed row, so of updates racing from any
// number of nodes exactly one wins and the others get [workflow.ErrStale].
// The same row lock orders the envelope's transitions (seq). Reads of a
// whole aggregate run in one REPEATABLE READ, READ ONLY transaction, so
// that an envelope and its recipients come from one snapshot.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/internal/workflow"
)

// Migrations are the schema history of the workflow_ tables on
// PostgreSQL (versions 200–299). A released migration is never edited.
var Migrations = []pgdb.Migration{{
	Version: 200,
	Name:    "workflow documents, envelopes, recipients and transitions",
	SQL: `
CREATE TABLE workflow_documents (
	id         TEXT   PRIMARY KEY,
	tenant     TEXT   NOT NULL,
	sha256     TEXT   NOT NULL,
	size       BIGINT NOT NULL,
	pages      BIGINT NOT NULL,
	name       TEXT   NOT NULL,
	created_ns BIGINT NOT NULL
);
CREATE INDEX workflow_documents_tenant ON workflow_documents (tenant, created_ns);
CREATE INDEX workflow_documents_sha256 ON workflow_documents (sha256);
CREATE TABLE workflow_envelopes (
	id           TEXT   COLLATE "C" PRIMARY KEY,
	tenant       TEXT   NOT NULL,
	status       TEXT   NOT NULL,
	subject      TEXT   NOT NULL,
	message      TEXT   NOT NULL,
	expires_ns   BIGINT NOT NULL,
	reminder_ns  BIGINT NOT NULL,
	created_by   TEXT   NOT NULL,
	created_ns   BIGINT NOT NULL,
	updated_ns   BIGINT NOT NULL,
	sent_ns      BIGINT,
	completed_ns BIGINT,
	reason       TEXT   NOT NULL,
	version      BIGINT NOT NULL,
	next_due_ns  BIGINT
);
CREATE INDEX workflow_envelopes_list ON workflow_envelopes (tenant, created_ns, id);
CREATE INDEX workflow_envelopes_status ON workflow_envelopes (tenant, status, created_ns, id);
CREATE INDEX workflow_envelopes_due ON workflow_envelopes (next_due_ns) WHERE next_due_ns IS NOT NULL;
CREATE TABLE workflow_envelope_documents (
	envelope_id     TEXT   COLLATE "C" NOT NULL REFERENCES workflow_envelopes (id),
	position        BIGINT NOT NULL,
	document_id     TEXT   NOT NULL,
	name            TEXT   NOT NULL,
	pages           BIGINT NOT NULL,
	original_sha256 TEXT   NOT NULL,
	sha256          TEXT   NOT NULL,
	PRIMARY KEY (envelope_id, document_id)
);
CREATE INDEX workflow_envelope_documents_sha256 ON workflow_envelope_documents (sha256);
CREATE INDEX workflow_envelope_documents_original ON workflow_envelope_documents (original_sha256);
CREATE TABLE workflow_recipients (
	envelope_id    TEXT   COLLATE "C" NOT NULL REFERENCES workflow_envelopes (id),
	position       BIGINT NOT NULL,
	id             TEXT   NOT NULL,
	role           TEXT   NOT NULL,
	name           TEXT   NOT NULL,
	email          TEXT   NOT NULL,
	auth           TEXT   NOT NULL,
	routing_order  BIGINT NOT NULL,
	status         TEXT   NOT NULL,
	signed         TEXT   NOT NULL,
	notified_ns    BIGINT,
	reminded_ns    BIGINT,
	viewed_ns      BIGINT,
	consented_ns   BIGINT,
	completed_ns   BIGINT,
	declined_ns    BIGINT,
	decline_reason TEXT   NOT NULL,
	PRIMARY KEY (envelope_id, id)
);
CREATE TABLE workflow_transitions (
	envelope_id    TEXT   COLLATE "C" NOT NULL REFERENCES workflow_envelopes (id),
	seq            BIGINT NOT NULL,
	from_status    TEXT   NOT NULL,
	to_status      TEXT   NOT NULL,
	action         TEXT   NOT NULL,
	actor_kind     TEXT   NOT NULL,
	actor_id       TEXT   NOT NULL,
	reason         TEXT   NOT NULL,
	at_ns          BIGINT NOT NULL,
	correlation_id TEXT   NOT NULL,
	audit_event_id TEXT   NOT NULL,
	PRIMARY KEY (envelope_id, seq)
);
`,
}, {
	Version: 201,
	Name:    "workflow recipient authentication levels",
	SQL: `
ALTER TABLE workflow_envelopes ADD COLUMN allow_link_only BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE workflow_recipients ADD COLUMN phone TEXT NOT NULL DEFAULT '';
ALTER TABLE workflow_recipients ADD COLUMN access_code_hash TEXT NOT NULL DEFAULT '';
UPDATE workflow_recipients SET auth = 'email_code' WHERE auth = 'email_otp';
`,
}, {
	Version: 202,
	Name:    "envelope approval and assurance",
	SQL: `ALTER TABLE workflow_envelopes ADD COLUMN approval_required boolean NOT NULL DEFAULT false;
ALTER TABLE workflow_envelopes ADD COLUMN high_assurance boolean NOT NULL DEFAULT false;`,
}, {
	Version: 203,
	Name:    "workflow sealed contents",
	SQL: `CREATE TABLE workflow_contents (
	tenant     TEXT   NOT NULL,
	sha256     TEXT   NOT NULL,
	blob       TEXT   NOT NULL,
	size       BIGINT NOT NULL,
	state      BYTEA  NOT NULL,
	created_ns BIGINT NOT NULL,
	PRIMARY KEY (tenant, sha256)
);
CREATE INDEX workflow_contents_blob ON workflow_contents (blob);
CREATE INDEX workflow_contents_created ON workflow_contents (created_ns);
CREATE INDEX workflow_envelopes_finished ON workflow_envelopes (updated_ns)
	WHERE status IN ('completed', 'declined', 'voided', 'expired');`,
}, {
	Version: 204,
	Name:    "placed fields and tenant settings",
	SQL: `CREATE TABLE workflow_placed_fields (
	envelope_id  TEXT             COLLATE "C" NOT NULL REFERENCES workflow_envelopes (id),
	position     BIGINT           NOT NULL,
	id           TEXT             NOT NULL,
	document_id  TEXT             NOT NULL,
	recipient_id TEXT             NOT NULL,
	kind         TEXT             NOT NULL,
	page         BIGINT           NOT NULL,
	x            DOUBLE PRECISION NOT NULL,
	y            DOUBLE PRECISION NOT NULL,
	width        DOUBLE PRECISION NOT NULL,
	height       DOUBLE PRECISION NOT NULL,
	required     BOOLEAN          NOT NULL,
	label        TEXT             NOT NULL,
	PRIMARY KEY (envelope_id, id)
);
CREATE TABLE workflow_settings (
	tenant       TEXT   PRIMARY KEY,
	consent_text TEXT   NOT NULL,
	updated_ns   BIGINT NOT NULL
);`,
}}

// Store implements the workflow repositories over one database.
type Store struct {
	pool *pgxpool.Pool
}

var (
	_ workflow.DocumentStore = (*Store)(nil)
	_ workflow.EnvelopeStore = (*Store)(nil)
	_ workflow.SettingsStore = (*Store)(nil)
)

// New applies [Migrations] to the database behind pool (see
// [pgdb.Migrate]: several nodes may start at once) and returns a store
// that uses pool. The caller keeps pool and closes it.
func New(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if err := pgdb.Migrate(ctx, pool, Migrations); err != nil {
		return nil, fmt.Errorf("workflow/postgres: %w", err)
	}
	return &Store{pool: pool}, nil
}

// write runs fn in a READ COMMITTED transaction.
func (s *Store) write(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return wrap(pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, fn))
}

// view runs fn in a read-only transaction that sees one snapshot.
func (s *Store) view(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return wrap(pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, fn))
}

// wrap prefixes err with the package, except the store's sentinels.
func wrap(err error) error {
	if err == nil || errors.Is(err, workflow.ErrNoRecord) || errors.Is(err, workflow.ErrStale) {
		return err
	}
	return fmt.Errorf("workflow/postgres: %w", err)
}

// nanos is t as a nullable column: nil for the zero time.
func nanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

// fromNanos reads a nullable time column.
func fromNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

// InsertDocument implements [workflow.DocumentStore].
func (s *Store) InsertDocument(ctx context.Context, d *workflow.Document) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO workflow_documents
		(id, tenant, sha256, size, pages, name, created_ns) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		d.ID, d.Tenant, d.SHA256, d.Size, d.Pages, d.Name, d.Created.UnixNano())
	return wrap(err)
}

// Document implements [workflow.DocumentStore].
func (s *Store) Document(ctx context.Context, tenant, id string) (*workflow.Document, error) {
	d := &workflow.Document{}
	var created int64
	err := s.pool.QueryRow(ctx, `SELECT id, tenant, sha256, size, pages, name, created_ns
		FROM workflow_documents WHERE id = $1 AND tenant = $2`, id, tenant).
		Scan(&d.ID, &d.Tenant, &d.SHA256, &d.Size, &d.Pages, &d.Name, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, workflow.ErrNoRecord
	}
	if err != nil {
		return nil, wrap(err)
	}
	d.Created = time.Unix(0, created).UTC()
	return d, nil
}

// DocumentExists implements [workflow.DocumentStore].
func (s *Store) DocumentExists(ctx context.Context, id string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM workflow_documents WHERE id = $1)`, id).Scan(&ok)
	return ok, wrap(err)
}

// BlobReferenced implements [workflow.DocumentStore].
func (s *Store) BlobReferenced(ctx context.Context, sha256 string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM workflow_documents WHERE sha256 = $1) OR
		EXISTS (SELECT 1 FROM workflow_envelope_documents WHERE sha256 = $1) OR
		EXISTS (SELECT 1 FROM workflow_envelope_documents WHERE original_sha256 = $1)`, sha256).Scan(&ok)
	return ok, wrap(err)
}

// TenantSettings implements [workflow.SettingsStore].
func (s *Store) TenantSettings(ctx context.Context, tenant string) (workflow.Settings, error) {
	var st workflow.Settings
	err := s.pool.QueryRow(ctx, `SELECT consent_text FROM workflow_settings WHERE tenant = $1`, tenant).Scan(&st.ConsentText)
	if errors.Is(err, pgx.ErrNoRows) {
		return workflow.Settings{}, nil
	}
	if err != nil {
		return workflow.Settings{}, wrap(err)
	}
	return st, nil
}

// PutTenantSettings implements [workflow.SettingsStore].
func (s *Store) PutTenantSettings(ctx context.Context, tenant string, st workflow.Settings, at time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO workflow_settings (tenant, consent_text, updated_ns) VALUES ($1, $2, $3)
		ON CONFLICT (tenant) DO UPDATE SET consent_text = excluded.consent_text, updated_ns = excluded.updated_ns`,
		tenant, st.ConsentText, at.UnixNano())
	return wrap(err)
}
