// Package backup makes, checks and restores encrypted backups of a Signet
// data directory: the work of `signet backup create|verify|restore`.
//
// # What a backup holds
//
// Everything a data directory (and, on PostgreSQL, its database: see
// below) needs to serve again, taken while the service runs: a consistent snapshot of every SQLite database of the
// directory (VACUUM INTO, a read transaction beside the running writer),
// the sealed key files, the audit secret, the checkpoint copies, the root
// certificate, the configuration if it sits in the directory, and the
// blobs. Databases and files are found generically (an SQLite file is
// recognised by its header), so a store that adds a table or a file needs
// nothing here.
//
// A backup never holds the master key (DIR/master.key): the software keys
// travel sealed under it, exactly as they are on disk, and a restore asks
// for the master key and refuses one that does not open the key store.
// PKCS#11 keys stay in their token; the backup holds their metadata only.
// Lock files, scratch space (DIR/tmp, blobs/tmp), the e-mail outbox and
// names beginning with "." are left out, and so is a file removed while
// the backup runs (a temporary file, or a blob collected as garbage).
//
// # Order
//
// The pieces are taken in an order that keeps every reference inside the
// backup: the write-once checkpoint copies first (the audit log snapshot,
// taken later, is then at least as new as every copy, so `signet audit
// verify` finds no rollback); then the databases, signet.db first and
// keys.db last (a data key row names a key that the later keys.db
// snapshot holds); then the sealed key files (a key's metadata names a
// file written before it) and the blobs (immutable, content-addressed:
// every blob a snapshot names is already on disk); then the other files.
//
// # Format
//
// A backup is one file: a plaintext header, then a [dataseal] stream.
//
//	magic     8 bytes  "SIGNETBK"
//	version   1 byte   the format version, 1
//	key id   16 bytes  [KeyID] of the backup key
//	backup id 16 bytes random, names the backup
//
// The stream is sealed with dataseal.NewAESKEK(hex(key id), backup key)
// for the AD {Tenant "signet", Object "backup:" + hex(backup id), Field
// "archive/v1"}, so the header's every field is bound to the stream (the
// version by the field, the key id as the KEK version, the backup id by
// the object). Its plaintext is a tar archive (archive/tar, USTAR/PAX) of
// the data directory's files and directories under their paths relative
// to it, whose last entry is the manifest, [ManifestName]: a JSON list of
// every other entry's path, type, size, SHA-256 and mode, with the
// backup's id and creation time. STREAM authenticates the whole archive:
// a flipped bit, a truncation or an extension fails, and nothing read
// before the end is trusted.
//
// # Backup key
//
// The backup key is 32 random bytes ([NewKey]), kept apart from both the
// data directory and the master key: a file written by `signet backup
// keygen` or SIGNET_BACKUP_KEY (base64). It is never derived from the
// master key, so a stolen data directory does not open its backups and a
// stolen backup does not open without the key.
//
// # PostgreSQL deployments
//
// With [CreateOptions.DatabaseURL], the database that holds a deployment's
// stores is backed up beside its node's data directory, in the same
// archive: every table of the current schema, found in pg_catalog, read
// in one REPEATABLE READ READ ONLY transaction while the nodes write (the
// checkpoint copies are taken before it, the data directory's other files
// after it). A relation a backup does not understand (not a plain table,
// a generated column, a column type it does not encode, a name outside
// [a-z0-9_]) is refused, never skipped. The encoding, [TableEncoding]:
//
//	.signet-postgres/schema.json   JSON: the encoding, the migrations
//	                               (schema_migrations: version, name) and
//	                               the tables, each with its columns
//	                               (name, format_type, type oid), in the
//	                               order their parts follow (a table after
//	                               those its foreign keys reference)
//	.signet-postgres/<table>/<n>   n = 000001, 000002, ...: the table's
//	                               COPY ... TO STDOUT (FORMAT binary)
//	                               stream, cut into parts of at most 1 MiB
//
// The manifest's "postgres" member repeats the schema with each table's
// row count, its number of parts and its identity sequences' last values.
// Verify reads every row (field counts, lengths of fixed-size values),
// compares the counts, and verifies the audit log from the audit tables'
// rows, copied into a scratch SQLite audit log (the drivers share table
// and column names). [Restore] with [RestoreOptions.DatabaseURL] requires
// a database without tables and, in one transaction, creates the schema
// at the backup's version with this release's migrations, copies the
// rows with COPY FROM as they are read, sets the sequences and grants the
// application role; it commits only after every check, last.
//
// # Restore
//
// [Restore] extracts into a temporary directory beside the target (0700,
// files 0600), checks the manifest, every database (PRAGMA
// integrity_check), the audit log (as `signet audit verify` does) and the
// master key against the key store, and only then renames the directory
// into place: on any failure nothing is left behind.
package backup
