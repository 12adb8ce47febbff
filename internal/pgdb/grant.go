package pgdb

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrNotAppendOnly means the application role may rewrite a table that
// must only grow (an audit table): it may UPDATE, DELETE or TRUNCATE it,
// or owns it.
var ErrNotAppendOnly = errors.New("pgdb: the application role may rewrite an append-only table")

// migrationsTable is the table of the applied migrations, which the
// application role may only read.
const migrationsTable = "schema_migrations"

// GrantApp sets the privileges of role, the application's role, on the
// schema behind owner (the role that ran the migrations, which owns the
// tables), after every migration: SELECT, INSERT, UPDATE and DELETE on
// every table of the current schema; only SELECT and INSERT on the
// appendOnly tables; only SELECT on schema_migrations; USAGE on every
// sequence. Every other privilege of role, or of PUBLIC, on those tables
// and sequences is revoked, so grants added by hand do not survive. It
// runs in one transaction under [MigrationLock], so nodes that start at
// once do not race, and is idempotent. It fails if an appendOnly table
// does not exist, or if role could still rewrite one afterwards (it owns
// it, or inherits the privilege from another role).
func GrantApp(ctx context.Context, owner *pgxpool.Pool, role string, appendOnly []string) error {
	if role == "" {
		return errors.New("pgdb: grant: no application role")
	}
	err := pgx.BeginTxFunc(ctx, owner, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", MigrationLock); err != nil {
			return err
		}
		return grantLocked(ctx, tx, role, appendOnly)
	})
	if err != nil {
		return fmt.Errorf("pgdb: grant to %s: %w", role, err)
	}
	return nil
}

func grantLocked(ctx context.Context, tx pgx.Tx, role string, appendOnly []string) error {
	tables, err := names(ctx, tx, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`)
	if err != nil {
		return err
	}
	for _, t := range appendOnly {
		if !slices.Contains(tables, t) {
			return fmt.Errorf("append-only table %s does not exist", t)
		}
	}
	seqs, err := names(ctx, tx, `SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema() ORDER BY sequencename`)
	if err != nil {
		return err
	}
	var schema string
	if err := tx.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return err
	}
	r := pgx.Identifier{role}.Sanitize()
	stmts := []string{"GRANT USAGE ON SCHEMA " + pgx.Identifier{schema}.Sanitize() + " TO " + r}
	for _, t := range tables {
		tn := pgx.Identifier{schema, t}.Sanitize()
		stmts = append(stmts, "REVOKE ALL ON TABLE "+tn+" FROM PUBLIC, "+r)
		switch {
		case t == migrationsTable:
			stmts = append(stmts, "GRANT SELECT ON TABLE "+tn+" TO "+r)
		case slices.Contains(appendOnly, t):
			stmts = append(stmts, "GRANT SELECT, INSERT ON TABLE "+tn+" TO "+r)
		default:
			stmts = append(stmts, "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE "+tn+" TO "+r)
		}
	}
	for _, s := range seqs {
		sn := pgx.Identifier{schema, s}.Sanitize()
		stmts = append(stmts, "REVOKE ALL ON SEQUENCE "+sn+" FROM PUBLIC, "+r, "GRANT USAGE ON SEQUENCE "+sn+" TO "+r)
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			return err
		}
	}
	return checkAppendOnly(ctx, tx, role, append(slices.Clone(appendOnly), migrationsTable))
}

func names(ctx context.Context, tx pgx.Tx, q string) ([]string, error) {
	rows, err := tx.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// CheckAppendOnly is a node's check at start-up that the role it
// connects as (app's) can neither UPDATE (any column), DELETE nor
// TRUNCATE any of tables, nor owns one (an owner can grant itself anything). It returns
// an error matching [ErrNotAppendOnly] that names the first table the
// role could rewrite, or an error if a table does not exist.
func CheckAppendOnly(ctx context.Context, app *pgxpool.Pool, tables []string) error {
	conn, err := app.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgdb: check append-only tables: %w", err)
	}
	defer conn.Release()
	return checkAppendOnly(ctx, conn.Conn(), "", tables)
}

type rowQueryer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// checkAppendOnly checks role's privileges on tables ("" for the
// session's role).
func checkAppendOnly(ctx context.Context, q rowQueryer, role string, tables []string) error {
	for _, t := range tables {
		var who string
		var owns, update, del, truncate bool
		err := q.QueryRow(ctx, `SELECT r.rolname,
				pg_has_role(r.oid, c.relowner, 'USAGE'),
				has_any_column_privilege(r.oid, c.oid, 'UPDATE'),
				has_table_privilege(r.oid, c.oid, 'DELETE'),
				has_table_privilege(r.oid, c.oid, 'TRUNCATE')
			FROM pg_roles r, pg_class c
			WHERE r.rolname = COALESCE(NULLIF($1, ''), current_user)
			  AND c.oid = to_regclass($2)`,
			role, pgx.Identifier{t}.Sanitize()).Scan(&who, &owns, &update, &del, &truncate)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("pgdb: check append-only tables: table %s does not exist", t)
		}
		if err != nil {
			return fmt.Errorf("pgdb: check append-only table %s: %w", t, err)
		}
		var may []string
		if owns {
			may = append(may, "owns it")
		}
		for _, p := range []struct {
			ok   bool
			verb string
		}{{update, "UPDATE"}, {del, "DELETE"}, {truncate, "TRUNCATE"}} {
			if p.ok {
				may = append(may, "may "+p.verb)
			}
		}
		if len(may) > 0 {
			return fmt.Errorf("%w: role %s %s on table %s; grant it only SELECT and INSERT there (pgdb.GrantApp) and connect as a role that owns nothing", ErrNotAppendOnly, who, strings.Join(may, ", "), t)
		}
	}
	return nil
}

// GrantAppTx sets the privileges of role as [GrantApp] does, inside the
// caller's transaction tx (which must be the owner's).
func GrantAppTx(ctx context.Context, tx pgx.Tx, role string, appendOnly []string) error {
	if role == "" {
		return errors.New("pgdb: grant: no application role")
	}
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", MigrationLock); err != nil {
		return fmt.Errorf("pgdb: grant to %s: %w", role, err)
	}
	if err := grantLocked(ctx, tx, role, appendOnly); err != nil {
		return fmt.Errorf("pgdb: grant to %s: %w", role, err)
	}
	return nil
}
