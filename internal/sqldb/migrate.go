package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrSchemaTooNew means the database was migrated by a newer Signet: it
// records a schema version that the running code does not know. Opening it
// anyway could misread or corrupt data, so the store refuses.
var ErrSchemaTooNew = errors.New("sqlite: database schema is newer than this Signet")

// A Migration is one step of a schema's history. Migrations are applied in
// increasing Version order, each in the same transaction as the row in
// schema_migrations that records it, so a crash leaves either all or none of
// a step. A released migration MUST NOT be edited: add a new one instead.
type Migration struct {
	// Version orders the migrations; it starts at 1 and increases. A set
	// may leave gaps inside its block (sub-blocks filled by parallel
	// branches, e.g. 600 then 620); a version in such a gap that the
	// database records but the running code does not know is refused
	// like one beyond the last ([ErrSchemaTooNew]).
	Version int
	// Name describes the step, e.g. "audit log tables". It is recorded and
	// checked again on every run, so a renamed or reordered history is
	// detected.
	Name string
	// SQL holds the statements to execute; several may be separated by
	// semicolons.
	SQL string
}

// Migrate brings db up to the last of ms: it creates the schema_migrations
// table if needed, checks that the migrations already applied match ms by
// version and name, and applies the missing ones in order, all in one
// IMMEDIATE transaction so that concurrent callers serialize. It returns
// [ErrSchemaTooNew] if the database records a version beyond ms.
//
// Each set of tables (the audit log, later the service's own) keeps its
// history in its own slice and owns a block of 100 versions: the audit log
// 1–99, the next set 100–199, and so on. A version applied inside a set's
// block but beyond its last migration means a newer release.
func Migrate(ctx context.Context, db *sql.DB, ms []Migration) error {
	if err := checkMigrations(ms); err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	defer conn.Close()
	// BEGIN IMMEDIATE takes the write lock before reading the applied
	// versions, so two processes migrating at once cannot both apply a step.
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if err := migrateLocked(ctx, conn, ms); err != nil {
		_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		return err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		return fmt.Errorf("sqlite: migrate: commit: %w", err)
	}
	// A migration may have set secure_delete for its own statements;
	// the connection goes back to the setting of [OpenDB].
	if _, err := conn.ExecContext(ctx, "PRAGMA secure_delete = ON"); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

func checkMigrations(ms []Migration) error {
	for i, m := range ms {
		if m.Name == "" || m.SQL == "" {
			return fmt.Errorf("sqlite: migration %d has no name or no SQL", m.Version)
		}
		if i > 0 && m.Version <= ms[i-1].Version {
			return fmt.Errorf("sqlite: migration versions must increase: %d follows %d", m.Version, ms[i-1].Version)
		}
	}
	return nil
}

func migrateLocked(ctx context.Context, conn *sql.Conn, ms []Migration) error {
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at TEXT    NOT NULL
	) STRICT`
	if _, err := conn.ExecContext(ctx, create); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	applied := map[int]string{}
	rows, err := conn.QueryContext(ctx, "SELECT version, name FROM schema_migrations")
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			rows.Close()
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		applied[v] = name
	}
	if err := rows.Close(); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if len(ms) > 0 {
		lo, hi := ms[0].Version, ms[len(ms)-1].Version
		known := make(map[int]bool, len(ms))
		for _, m := range ms {
			known[m.Version] = true
		}
		for v := range applied {
			// Versions from this set's first one to the end of its block
			// that it does not know (beyond its last one, or in a gap)
			// are from a newer release of the same set.
			if v >= lo && v < lo+100-(lo%100) && !known[v] {
				return fmt.Errorf("%w: version %d (%s) is applied, this release knows up to %d", ErrSchemaTooNew, v, applied[v], hi)
			}
		}
	}
	for _, m := range ms {
		if name, ok := applied[m.Version]; ok {
			if name != m.Name {
				return fmt.Errorf("sqlite: migrate: version %d is recorded as %q, expected %q", m.Version, name, m.Name)
			}
			continue
		}
		if _, err := conn.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("sqlite: migration %d (%s): %w", m.Version, m.Name, err)
		}
		if _, err := conn.ExecContext(ctx,
			"INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			m.Version, m.Name, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
			return fmt.Errorf("sqlite: migration %d (%s): %w", m.Version, m.Name, err)
		}
	}
	return nil
}
