package sqlite

import "github.com/signet-pki/signet/internal/sqldb"

// migrations is the schema history of the key metadata tables. They take
// the block of versions 100–199 (see [sqldb.Migrate]), so that they can
// share a database with the audit log's tables (1–99).
//
// Times are Unix nanoseconds (NULL for the zero time); durations are
// nanoseconds; public keys are PKIX DER (NULL for symmetric keys).
var migrations = []sqldb.Migration{
	{
		Version: 100,
		Name:    "key metadata tables",
		SQL: `
CREATE TABLE keys (
	id           TEXT    PRIMARY KEY,
	purpose      TEXT    NOT NULL,
	algorithm    TEXT    NOT NULL,
	backend      TEXT    NOT NULL,
	tenant       TEXT    NOT NULL,
	label        TEXT    NOT NULL,
	created_ns   INTEGER NOT NULL,
	rotate_after INTEGER NOT NULL,
	usage_limit  INTEGER NOT NULL
) STRICT;
CREATE INDEX keys_tenant ON keys (tenant, id);
CREATE TABLE key_versions (
	key_id         TEXT    NOT NULL REFERENCES keys (id),
	number         INTEGER NOT NULL,
	handle         TEXT    NOT NULL,
	public_key     BLOB,
	state          TEXT    NOT NULL,
	created_ns     INTEGER NOT NULL,
	usage          INTEGER NOT NULL,
	revoked_ns     INTEGER,
	reason         INTEGER,
	compromise_ns  INTEGER,
	destroyed_ns   INTEGER,
	PRIMARY KEY (key_id, number)
) STRICT;
`,
	},
}
