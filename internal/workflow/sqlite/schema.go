package sqlite

import "github.com/signet-pki/signet/internal/sqldb"

// migrations are the workflow's tables in the service database. They own
// the block of versions 200–299 (see [sqldb.Migrate] and package api's
// allocation) and the table prefix workflow_. The SQL is portable (no
// SQLite-only types or functions beyond STRICT) so that a PostgreSQL
// store can use the same shape.
var migrations = []sqldb.Migration{{
	Version: 200,
	Name:    "workflow documents, envelopes, recipients and transitions",
	SQL: `CREATE TABLE workflow_documents (
		id         TEXT    PRIMARY KEY,
		tenant     TEXT    NOT NULL,
		sha256     TEXT    NOT NULL,
		size       INTEGER NOT NULL,
		pages      INTEGER NOT NULL,
		name       TEXT    NOT NULL,
		created_ns INTEGER NOT NULL
	) STRICT;
	CREATE INDEX workflow_documents_tenant ON workflow_documents (tenant, created_ns);
	CREATE INDEX workflow_documents_sha256 ON workflow_documents (sha256);
	CREATE TABLE workflow_envelopes (
		id             TEXT    PRIMARY KEY,
		tenant         TEXT    NOT NULL,
		status         TEXT    NOT NULL,
		subject        TEXT    NOT NULL,
		message        TEXT    NOT NULL,
		expires_ns     INTEGER NOT NULL,
		reminder_ns    INTEGER NOT NULL,
		created_by     TEXT    NOT NULL,
		created_ns     INTEGER NOT NULL,
		updated_ns     INTEGER NOT NULL,
		sent_ns        INTEGER,
		completed_ns   INTEGER,
		reason         TEXT    NOT NULL,
		version        INTEGER NOT NULL,
		next_due_ns    INTEGER
	) STRICT;
	CREATE INDEX workflow_envelopes_list ON workflow_envelopes (tenant, created_ns, id);
	CREATE INDEX workflow_envelopes_status ON workflow_envelopes (tenant, status, created_ns, id);
	CREATE INDEX workflow_envelopes_due ON workflow_envelopes (next_due_ns) WHERE next_due_ns IS NOT NULL;
	CREATE TABLE workflow_envelope_documents (
		envelope_id     TEXT    NOT NULL REFERENCES workflow_envelopes (id),
		position        INTEGER NOT NULL,
		document_id     TEXT    NOT NULL,
		name            TEXT    NOT NULL,
		pages           INTEGER NOT NULL,
		original_sha256 TEXT    NOT NULL,
		sha256          TEXT    NOT NULL,
		PRIMARY KEY (envelope_id, document_id)
	) STRICT;
	CREATE INDEX workflow_envelope_documents_sha256 ON workflow_envelope_documents (sha256);
	CREATE TABLE workflow_recipients (
		envelope_id    TEXT    NOT NULL REFERENCES workflow_envelopes (id),
		position       INTEGER NOT NULL,
		id             TEXT    NOT NULL,
		role           TEXT    NOT NULL,
		name           TEXT    NOT NULL,
		email          TEXT    NOT NULL,
		auth           TEXT    NOT NULL,
		routing_order  INTEGER NOT NULL,
		status         TEXT    NOT NULL,
		signed         TEXT    NOT NULL,
		notified_ns    INTEGER,
		reminded_ns    INTEGER,
		viewed_ns      INTEGER,
		consented_ns   INTEGER,
		completed_ns   INTEGER,
		declined_ns    INTEGER,
		decline_reason TEXT    NOT NULL,
		PRIMARY KEY (envelope_id, id)
	) STRICT;
	CREATE TABLE workflow_transitions (
		envelope_id    TEXT    NOT NULL REFERENCES workflow_envelopes (id),
		seq            INTEGER NOT NULL,
		from_status    TEXT    NOT NULL,
		to_status      TEXT    NOT NULL,
		action         TEXT    NOT NULL,
		actor_kind     TEXT    NOT NULL,
		actor_id       TEXT    NOT NULL,
		reason         TEXT    NOT NULL,
		at_ns          INTEGER NOT NULL,
		correlation_id TEXT    NOT NULL,
		audit_event_id TEXT    NOT NULL,
		PRIMARY KEY (envelope_id, seq)
	) STRICT;`,
}, {
	Version: 201,
	Name:    "workflow recipient authentication levels",
	// The phone number of sms_code recipients, the argon2id hash of the
	// access code of access_code ones, and the envelope's consent to
	// link_only recipients; email_otp is renamed email_code.
	SQL: `ALTER TABLE workflow_envelopes ADD COLUMN allow_link_only INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE workflow_recipients ADD COLUMN phone TEXT NOT NULL DEFAULT '';
	ALTER TABLE workflow_recipients ADD COLUMN access_code_hash TEXT NOT NULL DEFAULT '';
	UPDATE workflow_recipients SET auth = 'email_code' WHERE auth = 'email_otp';`,
}, {
	Version: 202,
	Name:    "envelope approval and assurance",
	SQL: `ALTER TABLE workflow_envelopes ADD COLUMN approval_required INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE workflow_envelopes ADD COLUMN high_assurance INTEGER NOT NULL DEFAULT 0;`,
}, {
	Version: 203,
	Name:    "workflow sealed contents",
	// One row per content of a tenant: the ciphertext's blob, the
	// plaintext's size and sealed SHA-256 state. The indexes serve
	// garbage collection (contents by age, blobs by name, envelope
	// documents by original version) and retention (finished envelopes
	// by their last update).
	SQL: `CREATE TABLE workflow_contents (
		tenant     TEXT    NOT NULL,
		sha256     TEXT    NOT NULL,
		blob       TEXT    NOT NULL,
		size       INTEGER NOT NULL,
		state      BLOB    NOT NULL,
		created_ns INTEGER NOT NULL,
		PRIMARY KEY (tenant, sha256)
	) STRICT;
	CREATE INDEX workflow_contents_blob ON workflow_contents (blob);
	CREATE INDEX workflow_contents_created ON workflow_contents (created_ns);
	CREATE INDEX workflow_envelope_documents_original ON workflow_envelope_documents (original_sha256);
	CREATE INDEX workflow_envelopes_finished ON workflow_envelopes (updated_ns)
		WHERE status IN ('completed', 'declined', 'voided', 'expired');`,
}, {
	Version: 204,
	Name:    "placed fields and tenant settings",
	// The boxes placed on an envelope's documents for its signers (their
	// labels sealed like the envelope's other free text), and each
	// tenant's consent text.
	SQL: `CREATE TABLE workflow_placed_fields (
		envelope_id  TEXT    NOT NULL REFERENCES workflow_envelopes (id),
		position     INTEGER NOT NULL,
		id           TEXT    NOT NULL,
		document_id  TEXT    NOT NULL,
		recipient_id TEXT    NOT NULL,
		kind         TEXT    NOT NULL,
		page         INTEGER NOT NULL,
		x            REAL    NOT NULL,
		y            REAL    NOT NULL,
		width        REAL    NOT NULL,
		height       REAL    NOT NULL,
		required     INTEGER NOT NULL,
		label        TEXT    NOT NULL,
		PRIMARY KEY (envelope_id, id)
	) STRICT;
	CREATE TABLE workflow_settings (
		tenant       TEXT    PRIMARY KEY,
		consent_text TEXT    NOT NULL,
		updated_ns   INTEGER NOT NULL
	) STRICT;`,
}}
