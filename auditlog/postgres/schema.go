package postgres

import "github.com/signet-pki/signet/internal/pgdb"

// Migrations is the schema history of the audit log tables (versions
// 1–99), applied by [Migrate] through [pgdb.Migrate]. Times are Unix
// nanoseconds (NULL for the zero time), hashes 32-byte BYTEA values.
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
}

// Tables are the audit log's tables: the application role may read and
// insert into them, and nothing else (pgdb.GrantApp's appendOnly, and the
// tables a node checks with pgdb.CheckAppendOnly at start).
var Tables = []string{"records", "hashes", "checkpoints", "anchors"}

// logTables are the tables Migrate limits the application role on.
var logTables = Tables
