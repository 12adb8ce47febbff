package sqlite

import "github.com/signet-pki/signet/internal/sqldb"

// logMigrations is the schema history of the audit log tables (versions 1–99).
//
// Integers are SQLite's 64-bit INTEGER; times are Unix nanoseconds (NULL for
// the zero time); hashes are 32-byte BLOBs. records.idx and hashes.idx are
// rowid aliases, so range scans and MAX(idx) walk the table's own B-tree.
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
}
