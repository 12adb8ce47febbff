package sqlite

import "github.com/signet-pki/signet/internal/sqldb"

// scopesToRoles and scopesToActions convert the scopes of keys created
// before version 500 ("documents:read envelopes:send", space-separated)
// into roles and actions, in the order of authz.AllActions:
// documents:* and envelopes:* become role sender with the matching
// actions, api-keys:* role tenant-admin with apikey.read/apikey.admin,
// and admin the platform key (tenant.admin, no role).
// internal/accounts/postgres converts with the same expressions.
const (
	scopesToRoles = `rtrim(
	CASE WHEN ' ' || scopes || ' ' LIKE '% documents:%' OR ' ' || scopes || ' ' LIKE '% envelopes:%' THEN 'sender ' ELSE '' END ||
	CASE WHEN ' ' || scopes || ' ' LIKE '% api-keys:%' THEN 'tenant-admin ' ELSE '' END)`
	scopesToActions = `rtrim(
	CASE WHEN ' ' || scopes || ' ' LIKE '% documents:write %' THEN 'document.upload ' ELSE '' END ||
	CASE WHEN ' ' || scopes || ' ' LIKE '% documents:read %' THEN 'document.read ' ELSE '' END ||
	CASE WHEN ' ' || scopes || ' ' LIKE '% envelopes:write %' THEN 'envelope.prepare ' ELSE '' END ||
	CASE WHEN ' ' || scopes || ' ' LIKE '% envelopes:read %' THEN 'envelope.read ' ELSE '' END ||
	CASE WHEN ' ' || scopes || ' ' LIKE '% envelopes:send %' THEN 'envelope.send ' ELSE '' END ||
	CASE WHEN ' ' || scopes || ' ' LIKE '% envelopes:write %' THEN 'envelope.void ' ELSE '' END ||
	CASE WHEN ' ' || scopes || ' ' LIKE '% api-keys:read %' THEN 'apikey.read ' ELSE '' END ||
	CASE WHEN ' ' || scopes || ' ' LIKE '% api-keys:write %' THEN 'apikey.admin ' ELSE '' END ||
	CASE WHEN ' ' || scopes || ' ' LIKE '% admin %' THEN 'tenant.admin ' ELSE '' END)`
)

// Migrations are the accounts tables' own history, after version 100 of
// [apisqlite.Migrations] created them (block 500–599; 510–519 for the
// deletion of tenants). A released migration is never edited.
var Migrations = []sqldb.Migration{{
	Version: 500,
	Name:    "api keys of service accounts: roles, actions, owner, allowed addresses, expiry, last use, rotation; access tokens",
	SQL: `
ALTER TABLE api_keys ADD COLUMN roles TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN actions TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN owner TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN allowed_ips TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN expires_at TEXT;
ALTER TABLE api_keys ADD COLUMN last_used_at TEXT;
ALTER TABLE api_keys ADD COLUMN replaced_by TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN overlap_ends_at TEXT;
UPDATE api_keys SET roles = ` + scopesToRoles + `, actions = ` + scopesToActions + `;
ALTER TABLE api_keys DROP COLUMN scopes;
CREATE INDEX api_keys_owner ON api_keys (tenant, owner);
CREATE TABLE api_tokens (
	hash       BLOB PRIMARY KEY,
	key_id     TEXT NOT NULL,
	tenant     TEXT NOT NULL,
	actions    TEXT NOT NULL,
	created_at TEXT NOT NULL,
	expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX api_tokens_key ON api_tokens (key_id);
`,
}, {
	Version: 510,
	Name:    "deleted tenants",
	SQL: `
ALTER TABLE api_tenants ADD COLUMN deleted_at TEXT;
`,
}}
