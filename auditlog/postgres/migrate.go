package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Errors that Open and Migrate return when the database schema does not
// match this release.
var (
	// ErrSchemaTooNew means the database records a schema version that this
	// release does not know: it was migrated by a newer Signet.
	ErrSchemaTooNew = errors.New("postgres: database schema is newer than this Signet")
	// ErrNotMigrated means the database lacks migrations this release
	// needs: run [Migrate] with the owner role first.
	ErrNotMigrated = errors.New("postgres: database schema is not migrated")
)

// A Migration is one step of a schema's history. Migrations are applied in
// increasing Version order, each in the same transaction as the
// schema_migrations row that records it. A released migration MUST NOT be
// edited: add a new one instead.
type Migration struct {
	// Version orders the migrations. Each set of tables owns a block of
	// 100 versions: the audit log 1–99, the next set 100–199, and so on.
	Version int
	// Name describes the step; it is recorded and checked on every run.
	Name string
	// SQL holds the statements to execute.
	SQL string
}

// migrationLock is the transaction-level advisory lock key that serializes
// concurrent migrators; it is internal/pgdb's MigrationLock, which the other
// stores take too.
const migrationLock int64 = 0x5349474e45544d31 // "SIGNETM1"

// Migrate connects with adminURL (the role that owns the tables), applies
// the audit log migrations, and limits appRole to SELECT and INSERT on the
// log tables (and SELECT on schema_migrations): any UPDATE, DELETE or
// TRUNCATE by appRole is refused by the database. Grants are reset on every
// run, so privileges added by hand are revoked. appRole must exist.
func Migrate(ctx context.Context, adminURL, appRole string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("postgres: migrate: connect: %w", err)
	}
	defer conn.Close(context.Background())
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if err := Apply(ctx, tx, logMigrations); err != nil {
			return err
		}
		return grantAppend(ctx, tx, appRole, logTables)
	})
}

// Apply applies the missing migrations of ms within tx, after taking an
// advisory lock that serializes concurrent migrators. It checks that the
// applied ones match ms by version and name and returns [ErrSchemaTooNew]
// if the database records a later version of the same block.
func Apply(ctx context.Context, tx pgx.Tx, ms []Migration) error {
	for i, m := range ms {
		if m.Name == "" || m.SQL == "" {
			return fmt.Errorf("postgres: migration %d has no name or no SQL", m.Version)
		}
		if i > 0 && m.Version != ms[i-1].Version+1 {
			return fmt.Errorf("postgres: migration versions must be consecutive: %d follows %d", m.Version, ms[i-1].Version)
		}
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER     PRIMARY KEY,
		name       TEXT        NOT NULL,
		applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	applied, err := appliedVersions(ctx, tx)
	if err != nil {
		return err
	}
	if err := compareVersions(applied, ms); err != nil {
		return err
	}
	for _, m := range ms {
		if _, ok := applied[m.Version]; ok {
			continue
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("postgres: migration %d (%s): %w", m.Version, m.Name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
			return fmt.Errorf("postgres: migration %d (%s): %w", m.Version, m.Name, err)
		}
	}
	return nil
}

type queryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func appliedVersions(ctx context.Context, q queryer) (map[int]string, error) {
	rows, err := q.Query(ctx, "SELECT version, name FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: schema_migrations: %w", err)
	}
	applied := map[int]string{}
	var v int
	var name string
	_, err = pgx.ForEachRow(rows, []any{&v, &name}, func() error {
		applied[v] = name
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: schema_migrations: %w", err)
	}
	return applied, nil
}

// compareVersions checks applied against ms: same names for the versions
// both know, and no version of ms's block beyond its last one.
func compareVersions(applied map[int]string, ms []Migration) error {
	if len(ms) == 0 {
		return nil
	}
	lo, hi := ms[0].Version, ms[len(ms)-1].Version
	for v, name := range applied {
		if v > hi && v < lo+100-(lo%100) {
			return fmt.Errorf("%w: version %d (%s) is applied, this release knows up to %d", ErrSchemaTooNew, v, name, hi)
		}
	}
	for _, m := range ms {
		if name, ok := applied[m.Version]; ok && name != m.Name {
			return fmt.Errorf("postgres: migrate: version %d is recorded as %q, expected %q", m.Version, name, m.Name)
		}
	}
	return nil
}

// grantAppend resets role's privileges on tables to SELECT and INSERT, and
// lets it read schema_migrations.
func grantAppend(ctx context.Context, tx pgx.Tx, role string, tables []string) error {
	r := pgx.Identifier{role}.Sanitize()
	stmts := []string{"GRANT USAGE ON SCHEMA public TO " + r}
	for _, t := range append(tables, "schema_migrations") {
		tn := pgx.Identifier{t}.Sanitize()
		stmts = append(stmts, "REVOKE ALL ON TABLE "+tn+" FROM "+r)
		if t == "schema_migrations" {
			stmts = append(stmts, "GRANT SELECT ON TABLE "+tn+" TO "+r)
		} else {
			stmts = append(stmts, "GRANT SELECT, INSERT ON TABLE "+tn+" TO "+r)
		}
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return fmt.Errorf("postgres: grant to %s: %w", role, err)
		}
	}
	return nil
}
