-- A service database (signet.db) as the layout before package internal/accounts
-- left it: created by internal/api/sqlite (migrations 100 and 101) of commit
-- affff98 with tenant t-0123456789abcdef and an API key of it, whose secret is
-- sk__msjZzYUJtQzd_7rppI3C1d9k-KkCuac5Yc2jbSk3Ao (a test key; sqlite3 .dump).
CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at TEXT    NOT NULL
	) STRICT;
INSERT INTO schema_migrations VALUES(100,'api tenants, keys and idempotency records','2026-12-06T00:15:55.270026341Z');
INSERT INTO schema_migrations VALUES(101,'idempotency records of responses carrying a secret keep only a marker','2026-12-06T00:15:55.274627859Z');
CREATE TABLE api_tenants (
	id         TEXT PRIMARY KEY,
	name       TEXT NOT NULL,
	created_at TEXT NOT NULL
) STRICT;
INSERT INTO api_tenants VALUES('t-0123456789abcdef','Acme','2026-01-02T03:04:05Z');
CREATE TABLE api_keys (
	id         TEXT PRIMARY KEY,
	tenant     TEXT NOT NULL,
	name       TEXT NOT NULL,
	scopes     TEXT NOT NULL,
	prefix     TEXT NOT NULL,
	hash       BLOB NOT NULL UNIQUE,
	created_at TEXT NOT NULL,
	revoked_at TEXT
) STRICT;
INSERT INTO api_keys VALUES('key_e6f4cd904fdd2179f5fab5c7','t-0123456789abcdef','ci','documents:read','sk__msjZz',X'fc94248c38926cc378e5d576b89209aae973d7fd45f93614cc598f3a1af696a5','2026-01-02T03:04:05Z',NULL);
CREATE TABLE api_idempotency (
	principal    TEXT NOT NULL,
	key          TEXT NOT NULL,
	request_hash BLOB NOT NULL,
	done         INTEGER NOT NULL,
	status       INTEGER NOT NULL,
	header       TEXT NOT NULL,
	body         BLOB NOT NULL,
	created_at   TEXT NOT NULL,
	expires_at   TEXT NOT NULL, secret INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (principal, key)
) STRICT;
CREATE INDEX api_keys_tenant ON api_keys (tenant, created_at);
CREATE INDEX api_idempotency_expiry ON api_idempotency (expires_at);
