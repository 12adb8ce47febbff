package postgres

import "github.com/signet-pki/signet/internal/pgdb"

// Migrations is the schema history of the audit log tables (versions
// 1–99), applied by [Migrate] through [pgdb.Migrate]. Times are Unix
// nanoseconds (NULL for the zero time), hashes 32-byte BYTEA values. The
// tables and columns are the SQLite driver's (auditlog/sqlite), with
// INTEGER as bigint, TEXT as text and BLOB as bytea.
//
// Version 2 adds records.envelope (the leaf's subject.envelope_id, empty
// for none), fills it for the records already stored from their leaves, and
// indexes (tenant, envelope, idx) where envelope is not empty, so that
// [Store.EnvelopeRecords] is one index range scan. It runs as the owner
// (the application role keeps SELECT and INSERT only). The leaves are not
// touched, so the log verifies as before; a leaf that is not UTF-8 JSON
// gets none (verification reports it as modified, as it would have before).
//
// Version 3 indexes (tenant, idx): [Store.TenantRecords], a tenant's page of
// the log, is one index range scan.
var Migrations = []pgdb.Migration{
	{
		Version: 1,
		Name:    "audit log tables",
		SQL: `
CREATE TABLE records (
	idx     BIGINT PRIMARY KEY CHECK (idx >= 0),
	id      TEXT   NOT NULL UNIQUE,
	tenant  TEXT   NOT NULL,
	type    TEXT   NOT NULL,
	time_ns BIGINT,
	leaf    BYTEA  NOT NULL,
	sealed  BYTEA
);
CREATE TABLE hashes (
	idx  BIGINT PRIMARY KEY CHECK (idx >= 0),
	hash BYTEA  NOT NULL CHECK (length(hash) = 32)
);
CREATE TABLE checkpoints (
	size    BIGINT PRIMARY KEY,
	note    BYTEA  NOT NULL,
	time_ns BIGINT
);
CREATE TABLE anchors (
	seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	size    BIGINT NOT NULL,
	kind    TEXT   NOT NULL,
	name    TEXT   NOT NULL,
	data    BYTEA  NOT NULL,
	time_ns BIGINT
);
CREATE INDEX anchors_size ON anchors (size, seq);
`,
	},
	{
		Version: 2,
		Name:    "audit records envelope index",
		SQL: `
ALTER TABLE records ADD COLUMN envelope TEXT NOT NULL DEFAULT '';
DO $$
DECLARE
	r record;
BEGIN
	BEGIN
		UPDATE records SET envelope = convert_from(leaf, 'UTF8')::jsonb #>> '{subject,envelope_id}'
			WHERE jsonb_typeof(convert_from(leaf, 'UTF8')::jsonb #> '{subject,envelope_id}') = 'string';
	EXCEPTION WHEN others THEN
		-- A leaf that is not UTF-8 JSON: fill the others one by one.
		FOR r IN SELECT idx FROM records LOOP
			BEGIN
				UPDATE records SET envelope = convert_from(leaf, 'UTF8')::jsonb #>> '{subject,envelope_id}'
					WHERE idx = r.idx
					AND jsonb_typeof(convert_from(leaf, 'UTF8')::jsonb #> '{subject,envelope_id}') = 'string';
			EXCEPTION WHEN others THEN
				NULL;
			END;
		END LOOP;
	END;
END
$$;
CREATE INDEX records_envelope ON records (tenant, envelope, idx) WHERE envelope <> '';
`,
	},
	{
		Version: 3,
		Name:    "audit records tenant index",
		SQL:     `CREATE INDEX records_tenant ON records (tenant, idx);`,
	},
}

// Tables are the audit log's tables: the application role may read and
// insert into them, and nothing else (pgdb.GrantApp's appendOnly, and the
// tables a node checks with pgdb.CheckAppendOnly at start).
var Tables = []string{"records", "hashes", "checkpoints", "anchors"}

// logTables are the tables Migrate limits the application role on.
var logTables = Tables
