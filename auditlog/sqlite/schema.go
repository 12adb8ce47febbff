package sqlite

import "github.com/signet-pki/signet/internal/sqldb"

// logMigrations is the schema history of the audit log tables (versions 1–99).
//
// Integers are SQLite's 64-bit INTEGER; times are Unix nanoseconds (NULL for
// the zero time); hashes are 32-byte BLOBs. records.idx and hashes.idx are
// rowid aliases, so range scans and MAX(idx) walk the table's own B-tree.
//
// Version 2 adds records.envelope (the leaf's subject.envelope_id, empty
// for none), fills it for the records already stored from their leaves, and
// indexes (tenant, envelope, idx) where envelope is not empty:
// [Store.EnvelopeRecords] is one index range scan. The leaves are not
// touched, so the log verifies as before; a leaf that is not JSON gets none
// (verification reports it as modified, as it would have before).
// CAST(leaf AS TEXT) matters: since SQLite 3.45 the JSON functions read a
// BLOB argument as JSONB, not as JSON text.
//
// Version 3 indexes (tenant, idx): [Store.TenantRecords], a tenant's page of
// the log, is one index range scan.
var logMigrations = []sqldb.Migration{
	{
		Version: 1,
		Name:    "audit log tables",
		SQL: `
CREATE TABLE records (
	idx     INTEGER PRIMARY KEY,
	id      TEXT    NOT NULL UNIQUE,
	tenant  TEXT    NOT NULL,
	type    TEXT    NOT NULL,
	time_ns INTEGER,
	leaf    BLOB    NOT NULL,
	sealed  BLOB
) STRICT;
CREATE TABLE hashes (
	idx  INTEGER PRIMARY KEY,
	hash BLOB    NOT NULL
) STRICT;
CREATE TABLE checkpoints (
	size    INTEGER PRIMARY KEY,
	note    BLOB    NOT NULL,
	time_ns INTEGER
) STRICT;
CREATE TABLE anchors (
	seq     INTEGER PRIMARY KEY,
	size    INTEGER NOT NULL,
	kind    TEXT    NOT NULL,
	name    TEXT    NOT NULL,
	data    BLOB    NOT NULL,
	time_ns INTEGER
) STRICT;
CREATE INDEX anchors_size ON anchors (size, seq);
`,
	},
	{
		Version: 2,
		Name:    "audit records envelope index",
		SQL: `
ALTER TABLE records ADD COLUMN envelope TEXT NOT NULL DEFAULT '';
UPDATE records SET envelope = CAST(json_extract(CAST(leaf AS TEXT), '$.subject.envelope_id') AS TEXT)
	WHERE json_valid(CAST(leaf AS TEXT))
	AND json_type(CAST(leaf AS TEXT), '$.subject.envelope_id') = 'text';
CREATE INDEX records_envelope ON records (tenant, envelope, idx) WHERE envelope <> '';
`,
	},
	{
		Version: 3,
		Name:    "audit records tenant index",
		SQL:     `CREATE INDEX records_tenant ON records (tenant, idx);`,
	},
}
