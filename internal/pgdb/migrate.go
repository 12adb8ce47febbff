package pgdb

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrSchemaTooNew means the database was migrated by a newer Signet: it
// records a schema version, in the block of the migrations being applied,
// that the running code does not know. Using it anyway could misread or
// corrupt data, so the store refuses.
var ErrSchemaTooNew = errors.New("pgdb: database schema is newer than this Signet")

// ErrHistoryMismatch means a version the binary knows is recorded under
// another name: the database's history is not this binary's (a renamed or
// reordered migration, or another program's table).
var ErrHistoryMismatch = errors.New("pgdb: database schema history differs from this Signet's")

// MigrationLock is the key of the transaction-scoped advisory lock that
// serializes every migrator of a database, and the grants of [GrantApp].
const MigrationLock int64 = 0x5349474e45544d31 // "SIGNETM1"

// A Migration is one step of a schema's history. Migrations are applied in
// increasing Version order, each in the same transaction as the
// schema_migrations row that records it. A released migration MUST NOT be
// edited: add a new one instead.
type Migration struct {
	// Version orders the migrations; they increase, and may leave gaps
	// inside the block (sub-blocks filled by parallel branches); a
	// recorded version in a gap that the running code does not know is
	// refused like one beyond the last ([ErrSchemaTooNew]). Each set of
	// tables owns a block of 100 versions (the audit log 1–99, the api
	// tables 100–199, ...), as in internal/sqldb.
	Version int
	// Name describes the step. It is recorded and checked again on every
	// run, so a renamed or reordered history is detected.
	Name string
	// SQL holds the statements to execute; several may be separated by
	// semicolons.
	SQL string
}

// Migrate brings the database behind pool up to the last of ms, in one
// READ COMMITTED transaction: it takes the advisory lock [MigrationLock],
// creates schema_migrations if needed, checks the applied versions of ms's
// block against ms ([ErrSchemaTooNew], [ErrHistoryMismatch]) and applies
// the missing ones in order. Concurrent callers, in this process or on
// other nodes, wait for the lock, so each step is applied once. The pool's
// role must be allowed to create the tables.
func Migrate(ctx context.Context, pool *pgxpool.Pool, ms []Migration) error {
	if err := checkMigrations(ms); err != nil {
		return err
	}
	err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		// The lock comes first, before schema_migrations is even created,
		// so that two first starts do not race on CREATE TABLE.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", MigrationLock); err != nil {
			return err
		}
		return migrateLocked(ctx, tx, ms)
	})
	if err != nil {
		return fmt.Errorf("pgdb: migrate: %w", err)
	}
	return nil
}

func checkMigrations(ms []Migration) error {
	for i, m := range ms {
		if m.Version <= 0 || m.Name == "" || m.SQL == "" {
			return fmt.Errorf("pgdb: migration %d has no name, no SQL or a version below 1", m.Version)
		}
		if i > 0 && m.Version <= ms[i-1].Version {
			return fmt.Errorf("pgdb: migration versions must increase: %d follows %d", m.Version, ms[i-1].Version)
		}
		if i > 0 && m.Version/100 != ms[0].Version/100 {
			return fmt.Errorf("pgdb: migration %d leaves the block of %d", m.Version, ms[0].Version)
		}
	}
	return nil
}

func migrateLocked(ctx context.Context, tx pgx.Tx, ms []Migration) error {
	// CREATE TABLE IF NOT EXISTS needs the CREATE privilege on the schema
	// even when the table exists; checking first lets the application
	// role, which may not create tables, run an up-to-date history.
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER     PRIMARY KEY,
			name       TEXT        NOT NULL,
			applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
		)`); err != nil {
			return err
		}
	}
	if len(ms) == 0 {
		return nil
	}
	lo, hi := ms[0].Version, ms[len(ms)-1].Version
	block := lo - lo%100
	rows, err := tx.Query(ctx, `SELECT version, name FROM schema_migrations WHERE version >= $1 AND version < $2`, block, block+100)
	if err != nil {
		return err
	}
	applied := map[int]string{}
	var v int
	var name string
	if _, err := pgx.ForEachRow(rows, []any{&v, &name}, func() error {
		applied[v] = name
		return nil
	}); err != nil {
		return err
	}
	known := make(map[int]bool, len(ms))
	for _, m := range ms {
		known[m.Version] = true
	}
	for v, name := range applied {
		if v >= lo && !known[v] {
			return fmt.Errorf("%w: version %d (%s) is applied, this release knows up to %d", ErrSchemaTooNew, v, name, hi)
		}
	}
	for _, m := range ms {
		if name, ok := applied[m.Version]; ok {
			if name != m.Name {
				return fmt.Errorf("%w: version %d is recorded as %q, expected %q", ErrHistoryMismatch, m.Version, name, m.Name)
			}
			continue
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.Version, m.Name, err)
		}
	}
	return nil
}

// MigrateTx applies the migrations ms inside the caller's transaction tx,
// as [Migrate] does (under [MigrationLock], with the same checks), so that
// they commit or roll back with the rest of tx: a restore creates the
// schema and fills it in one transaction.
func MigrateTx(ctx context.Context, tx pgx.Tx, ms []Migration) error {
	if err := checkMigrations(ms); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", MigrationLock); err != nil {
		return fmt.Errorf("pgdb: migrate: %w", err)
	}
	if err := migrateLocked(ctx, tx, ms); err != nil {
		return fmt.Errorf("pgdb: migrate: %w", err)
	}
	return nil
}
