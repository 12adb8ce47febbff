// Package pgdb is what every Signet PostgreSQL store is opened with
// (pgx v5): [Open] (a connection pool from a postgres:// URL, every
// session with synchronous_commit=on) and versioned [Migrate] migrations
// that run once however many nodes start at the same moment, and that
// refuse a schema newer than the binary ([ErrSchemaTooNew]).
//
// It is the PostgreSQL counterpart of internal/sqldb: each store keeps its
// own schema in its own package (internal/api/postgres,
// internal/accounts/postgres) and applies it here; pgdb knows none of
// them.
//
// # Migrations under a lock
//
// [Migrate] runs in one transaction that first takes a transaction-scoped
// advisory lock ([MigrationLock]), then reads schema_migrations, checks
// the applied history against the binary's, and applies the missing steps,
// each recorded by version and name. A second node that starts at the
// same moment waits on the lock and, once the first commits, finds every
// step applied. The lock is released by the commit or rollback, so a node
// that dies while migrating leaves neither a half-applied step nor a lock
// behind. Every store applies its history here (auditlog/postgres
// included) into the one schema_migrations table, so all the migrations
// of one database serialize; [GrantApp] takes the same lock.
//
// # Roles
//
// The tables belong to the owner role that migrates; the nodes connect as
// an application role. [GrantApp], run by the owner after every
// migration, gives that role what the service needs and no more: it may
// only read and insert the append-only audit tables, and only read
// schema_migrations. [CheckAppendOnly] is the node's own check at start
// that the role it connects as cannot rewrite those tables.
package pgdb
