// Package sqldb is what every Signet SQLite database is opened with
// (modernc.org/sqlite, pure Go): [OpenDB] (the single writer connection,
// WAL and synchronous=FULL, created owner-only), [OpenReadDB] (read-only
// connections beside it), [Pool] (group commit: concurrent write
// transactions share one SQLite transaction and one fsync, each in its own
// SAVEPOINT; reads go to the readers), [OpenPool], versioned [Migrate]
// migrations that refuse a schema newer than the binary
// ([ErrSchemaTooNew]), and the [DriverName] driver, which keeps statements
// prepared per connection.
//
// Each store keeps its own schema in its own package (auditlog/sqlite,
// keys/sqlite, pki/ca/sqlite, internal/api/sqlite,
// internal/workflow/sqlite, internal/signing/sqlite) and opens it here;
// sqldb knows none of them.
package sqldb
