package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/pgdb"
)

// Errors that Open and Migrate return when the database schema does not
// match this release.
var (
	// ErrSchemaTooNew means the database records a schema version that this
	// release does not know: it was migrated by a newer Signet. It is
	// [pgdb.ErrSchemaTooNew].
	ErrSchemaTooNew = pgdb.ErrSchemaTooNew
	// ErrNotMigrated means the database lacks migrations this release
	// needs: run [Migrate] with the owner role first.
	ErrNotMigrated = errors.New("postgres: database schema is not migrated")
)

// Migrate connects with adminURL (the role that owns the tables), applies
// the audit log's history ([Migrations], through [pgdb.Migrate]: once,
// under the lock every migrator of the database takes), and limits appRole
// to SELECT and INSERT on the log tables (and SELECT on
// schema_migrations): any UPDATE, DELETE or TRUNCATE by appRole is refused
// by the database. Grants are reset on every run, so privileges added by
// hand are revoked. appRole must exist.
func Migrate(ctx context.Context, adminURL, appRole string) error {
	pool, err := pgdb.Open(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	defer pool.Close()
	if err := pgdb.Migrate(ctx, pool, Migrations); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return grantAppend(ctx, pool, appRole, logTables)
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
func compareVersions(applied map[int]string, ms []pgdb.Migration) error {
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
			return fmt.Errorf("postgres: %w: version %d is recorded as %q, expected %q", pgdb.ErrHistoryMismatch, m.Version, name, m.Name)
		}
	}
	return nil
}

// grantAppend resets role's privileges on tables to SELECT and INSERT, and
// lets it read schema_migrations, in one transaction under the migration
// lock (concurrent GRANTs on one table may otherwise fail).
func grantAppend(ctx context.Context, pool *pgxpool.Pool, role string, tables []string) error {
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
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", pgdb.MigrationLock); err != nil {
			return err
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: grant to %s: %w", role, err)
	}
	return nil
}
