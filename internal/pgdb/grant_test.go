package pgdb_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	auditpostgres "github.com/signet-pki/signet/auditlog/postgres"
	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/internal/pgtest"
)

// service is a service table beside the audit tables, with a serial
// column whose sequence the application role must be able to use.
var service = []pgdb.Migration{{Version: 900, Name: "service table", SQL: `CREATE TABLE service (id BIGSERIAL PRIMARY KEY, v TEXT NOT NULL)`}}

// grantedDatabase migrates the audit log and a service table as the
// owner, runs GrantApp, and returns the owner's and the app role's pools.
func grantedDatabase(t *testing.T) (owner, app *pgxpool.Pool) {
	t.Helper()
	ctx := t.Context()
	ownerURL, appURL := pgtest.NewDatabase(t)
	owner = openURL(t, ownerURL)
	if err := auditpostgres.Migrate(ctx, ownerURL, pgtest.AppRole); err != nil {
		t.Fatal(err)
	}
	if err := pgdb.Migrate(ctx, owner, service); err != nil {
		t.Fatal(err)
	}
	for range 2 { // idempotent
		if err := pgdb.GrantApp(ctx, owner, pgtest.AppRole, auditpostgres.Tables); err != nil {
			t.Fatal(err)
		}
	}
	return owner, openURL(t, appURL)
}

func openURL(t *testing.T, url string) *pgxpool.Pool {
	t.Helper()
	p, err := pgdb.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func isPermissionDenied(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "42501"
}

// TestGrantApp: after GrantApp the application role works with a service
// table, only reads and inserts audit rows, and only reads the history.
func TestGrantApp(t *testing.T) {
	owner, app := grantedDatabase(t)
	ctx := t.Context()
	for _, q := range []string{
		`INSERT INTO service (v) VALUES ('a')`,
		`SELECT count(*) FROM service`,
		`UPDATE service SET v = 'b'`,
		`DELETE FROM service WHERE v = 'c'`,
		`INSERT INTO records (idx, id, tenant, type, leaf) VALUES (0, 'e0', '', 't', '\x00')`,
		`INSERT INTO anchors (size, kind, name, data) VALUES (1, 'sink', 'f', '\x00')`,
		`SELECT count(*) FROM records`,
		`SELECT count(*) FROM schema_migrations`,
	} {
		if _, err := app.Exec(ctx, q); err != nil {
			t.Errorf("%s as the app role: %v", q, err)
		}
	}
	refused := []string{"INSERT INTO schema_migrations (version, name) VALUES (999, 'x')", "DELETE FROM schema_migrations", "TRUNCATE service"}
	column := map[string]string{"records": "idx", "hashes": "idx", "checkpoints": "size", "anchors": "size"}
	for _, table := range auditpostgres.Tables {
		refused = append(refused, "UPDATE "+table+" SET "+column[table]+" = "+column[table], "DELETE FROM "+table, "TRUNCATE "+table)
	}
	for _, q := range refused {
		if _, err := app.Exec(ctx, q); !isPermissionDenied(err) {
			t.Errorf("%s as the app role: %v, want permission denied", q, err)
		}
		// The owner may (inside a rolled-back transaction): the refusals
		// come from the grants, not from the statements.
		err := pgx.BeginFunc(ctx, owner, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Errorf("%s as the owner: %v", q, err)
		}
	}
}

var errRollback = errors.New("rollback")

// TestGrantAppRevokesHandGrants: privileges granted by hand to the role or
// to PUBLIC are gone after GrantApp.
func TestGrantAppRevokesHandGrants(t *testing.T) {
	owner, app := grantedDatabase(t)
	ctx := t.Context()
	for _, q := range []string{
		`GRANT UPDATE, DELETE, TRUNCATE ON records TO ` + pgtest.AppRole,
		`GRANT ALL ON checkpoints TO PUBLIC`,
		`GRANT UPDATE (note) ON checkpoints TO ` + pgtest.AppRole,
		`GRANT INSERT ON schema_migrations TO ` + pgtest.AppRole,
	} {
		if _, err := owner.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := pgdb.CheckAppendOnly(ctx, app, auditpostgres.Tables); !errors.Is(err, pgdb.ErrNotAppendOnly) {
		t.Fatalf("CheckAppendOnly with hand grants: %v, want ErrNotAppendOnly", err)
	}
	if err := pgdb.GrantApp(ctx, owner, pgtest.AppRole, auditpostgres.Tables); err != nil {
		t.Fatal(err)
	}
	if err := pgdb.CheckAppendOnly(ctx, app, auditpostgres.Tables); err != nil {
		t.Fatalf("CheckAppendOnly after GrantApp: %v", err)
	}
	for _, q := range []string{
		`UPDATE checkpoints SET note = note`,
		`INSERT INTO schema_migrations (version, name) VALUES (999, 'x')`,
	} {
		if _, err := app.Exec(ctx, q); !isPermissionDenied(err) {
			t.Errorf("%s as the app role: %v, want permission denied", q, err)
		}
	}
}

// TestCheckAppendOnly: the app role passes; the owner (which may rewrite
// anything) fails, with an error naming the table; a missing table fails.
func TestCheckAppendOnly(t *testing.T) {
	owner, app := grantedDatabase(t)
	ctx := t.Context()
	if err := pgdb.CheckAppendOnly(ctx, app, auditpostgres.Tables); err != nil {
		t.Fatalf("app role: %v", err)
	}
	err := pgdb.CheckAppendOnly(ctx, owner, auditpostgres.Tables)
	if !errors.Is(err, pgdb.ErrNotAppendOnly) || !strings.Contains(err.Error(), "records") {
		t.Fatalf("owner: %v, want ErrNotAppendOnly naming records", err)
	}
	// A role granted UPDATE on one table is named with that table.
	if _, err := owner.Exec(ctx, `GRANT UPDATE ON anchors TO `+pgtest.AppRole); err != nil {
		t.Fatal(err)
	}
	err = pgdb.CheckAppendOnly(ctx, app, auditpostgres.Tables)
	if !errors.Is(err, pgdb.ErrNotAppendOnly) || !strings.Contains(err.Error(), "anchors") || !strings.Contains(err.Error(), "UPDATE") {
		t.Fatalf("app role with UPDATE on anchors: %v", err)
	}
	// So is a role that may update one column.
	if _, err := owner.Exec(ctx, `REVOKE UPDATE ON anchors FROM `+pgtest.AppRole+`; GRANT UPDATE (data) ON anchors TO `+pgtest.AppRole); err != nil {
		t.Fatal(err)
	}
	err = pgdb.CheckAppendOnly(ctx, app, auditpostgres.Tables)
	if !errors.Is(err, pgdb.ErrNotAppendOnly) || !strings.Contains(err.Error(), "anchors") {
		t.Fatalf("app role with UPDATE on a column of anchors: %v", err)
	}
	if err := pgdb.CheckAppendOnly(ctx, app, []string{"no_such_table"}); err == nil || errors.Is(err, pgdb.ErrNotAppendOnly) {
		t.Fatalf("missing table: %v", err)
	}
}

// TestGrantAppRefuses: a missing append-only table, or a role that would
// still own one, fails GrantApp.
func TestGrantAppRefuses(t *testing.T) {
	owner, _ := grantedDatabase(t)
	ctx := context.Background()
	if err := pgdb.GrantApp(ctx, owner, pgtest.AppRole, []string{"records", "no_such_table"}); err == nil {
		t.Fatal("GrantApp with a missing table succeeded")
	}
	var me string
	if err := owner.QueryRow(ctx, "SELECT current_user").Scan(&me); err != nil {
		t.Fatal(err)
	}
	if err := pgdb.GrantApp(ctx, owner, me, auditpostgres.Tables); !errors.Is(err, pgdb.ErrNotAppendOnly) {
		t.Fatalf("GrantApp to the owner itself: %v, want ErrNotAppendOnly", err)
	}
}

// TestMigrateAsApp: a node connected as the application role may run an
// up-to-date history (its stores migrate at start), but applying a
// missing step needs the owner.
func TestMigrateAsApp(t *testing.T) {
	_, app := grantedDatabase(t)
	ctx := t.Context()
	if err := pgdb.Migrate(ctx, app, service); err != nil {
		t.Fatalf("up-to-date history as the app role: %v", err)
	}
	next := append(append([]pgdb.Migration(nil), service...), pgdb.Migration{Version: 901, Name: "more", SQL: `CREATE TABLE more (x INTEGER)`})
	if err := pgdb.Migrate(ctx, app, next); !isPermissionDenied(err) {
		t.Fatalf("a missing step as the app role: %v, want permission denied", err)
	}
}
