package pgdb_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	auditpostgres "github.com/signet-pki/signet/auditlog/postgres"
	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// open returns a pool on a fresh database as its owner.
func open(t *testing.T) (*pgxpool.Pool, string) {
	t.Helper()
	owner, _ := pgtest.NewDatabase(t)
	pool, err := pgdb.Open(t.Context(), owner)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, owner
}

// history is a test schema in block 900: each step also counts itself in
// a table, so a step applied twice shows.
var history = []pgdb.Migration{
	{Version: 900, Name: "steps table", SQL: `CREATE TABLE steps (n INTEGER NOT NULL); INSERT INTO steps VALUES (900); SELECT pg_sleep(0.1)`},
	{Version: 901, Name: "second step", SQL: `INSERT INTO steps VALUES (901)`},
	{Version: 902, Name: "third step", SQL: `CREATE TABLE other (x INTEGER); INSERT INTO steps VALUES (902)`},
}

func applied(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var exists bool
	if err := pool.QueryRow(t.Context(), `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if !exists {
		return ""
	}
	var s string
	if err := pool.QueryRow(t.Context(), `SELECT coalesce(string_agg(version || ' ' || name, ', ' ORDER BY version), '') FROM schema_migrations`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

func steps(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var s string
	if err := pool.QueryRow(t.Context(), `SELECT coalesce(string_agg(n::text, ' ' ORDER BY n), '') FROM steps`).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestMigrateConcurrent: several nodes (pools) starting at once, each with
// several goroutines, apply every step exactly once, and no advisory lock
// outlives the migrations.
func TestMigrateConcurrent(t *testing.T) {
	ctx := t.Context()
	pool, owner := open(t)
	const nodes, perNode = 4, 3
	var wg sync.WaitGroup
	errs := make(chan error, nodes*perNode)
	for range nodes {
		p, err := pgdb.Open(ctx, owner)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		for range perNode {
			wg.Go(func() { errs <- pgdb.Migrate(ctx, p, history) })
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got, want := steps(t, pool), "900 901 902"; got != want {
		t.Fatalf("steps applied %q, want %q", got, want)
	}
	if got, want := applied(t, pool), "900 steps table, 901 second step, 902 third step"; got != want {
		t.Fatalf("schema_migrations %q, want %q", got, want)
	}
	var locks int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'`).Scan(&locks); err != nil {
		t.Fatal(err)
	}
	if locks != 0 {
		t.Fatalf("%d advisory locks held after migrating", locks)
	}
}

// TestMigrateIncremental: a later release applies only its new steps.
func TestMigrateIncremental(t *testing.T) {
	pool, _ := open(t)
	ctx := t.Context()
	if err := pgdb.Migrate(ctx, pool, history[:1]); err != nil {
		t.Fatal(err)
	}
	if err := pgdb.Migrate(ctx, pool, history); err != nil {
		t.Fatal(err)
	}
	if err := pgdb.Migrate(ctx, pool, history); err != nil {
		t.Fatal(err)
	}
	if got, want := steps(t, pool), "900 901 902"; got != want {
		t.Fatalf("steps applied %q, want %q", got, want)
	}
}

// TestMigrateRefusesNewerSchema: a binary that knows fewer steps of a block
// than the database records refuses it and changes nothing; versions of
// other blocks do not count.
func TestMigrateRefusesNewerSchema(t *testing.T) {
	pool, _ := open(t)
	ctx := t.Context()
	if err := pgdb.Migrate(ctx, pool, history); err != nil {
		t.Fatal(err)
	}
	before := applied(t, pool)
	err := pgdb.Migrate(ctx, pool, history[:2])
	if !errors.Is(err, pgdb.ErrSchemaTooNew) {
		t.Fatalf("older binary: %v, want ErrSchemaTooNew", err)
	}
	if !strings.Contains(err.Error(), "902") {
		t.Errorf("error %q does not name the unknown version", err)
	}
	if got := applied(t, pool); got != before {
		t.Fatalf("schema_migrations changed to %q", got)
	}
	// A release that skips a sub-block the database holds is older too.
	gap := []pgdb.Migration{history[0], history[2]}
	if err := pgdb.Migrate(ctx, pool, gap); !errors.Is(err, pgdb.ErrSchemaTooNew) || !strings.Contains(err.Error(), "901") {
		t.Fatalf("release without 901: %v, want ErrSchemaTooNew naming 901", err)
	}
	other := []pgdb.Migration{{Version: 800, Name: "other block", SQL: `CREATE TABLE block800 (x INTEGER)`}}
	if err := pgdb.Migrate(ctx, pool, other); err != nil {
		t.Fatalf("another block's history: %v", err)
	}
}

// TestMigrateRefusesRenamedHistory: a step recorded under another name
// means the history differs; nothing of the run is applied.
func TestMigrateRefusesRenamedHistory(t *testing.T) {
	pool, _ := open(t)
	ctx := t.Context()
	if err := pgdb.Migrate(ctx, pool, history[:2]); err != nil {
		t.Fatal(err)
	}
	renamed := append([]pgdb.Migration(nil), history...)
	renamed[1].Name = "renamed second step"
	if err := pgdb.Migrate(ctx, pool, renamed); !errors.Is(err, pgdb.ErrHistoryMismatch) {
		t.Fatalf("renamed history: %v, want ErrHistoryMismatch", err)
	}
	if got, want := steps(t, pool), "900 901"; got != want {
		t.Fatalf("steps applied %q, want %q", got, want)
	}
}

// TestMigrateFailedStepLeavesNothing: a step that fails rolls back the
// whole run, earlier steps of the run included.
func TestMigrateFailedStepLeavesNothing(t *testing.T) {
	pool, _ := open(t)
	ctx := t.Context()
	bad := append(append([]pgdb.Migration(nil), history[:2]...), pgdb.Migration{Version: 902, Name: "broken", SQL: `INSERT INTO no_such_table VALUES (1)`})
	if err := pgdb.Migrate(ctx, pool, bad); err == nil {
		t.Fatal("a failing step was accepted")
	}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('steps') IS NOT NULL`).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists || applied(t, pool) != "" {
		t.Fatalf("a failed run left steps behind: table %v, history %q", exists, applied(t, pool))
	}
}

// TestMigrateChecksHistory: malformed histories are refused before the
// database is touched.
func TestMigrateChecksHistory(t *testing.T) {
	pool, _ := open(t)
	tests := []struct {
		name string
		ms   []pgdb.Migration
	}{
		{"not increasing", []pgdb.Migration{{Version: 902, Name: "a", SQL: "SELECT 1"}, {Version: 902, Name: "b", SQL: "SELECT 1"}}},
		{"decreasing", []pgdb.Migration{{Version: 902, Name: "a", SQL: "SELECT 1"}, {Version: 901, Name: "b", SQL: "SELECT 1"}}},
		{"no name", []pgdb.Migration{{Version: 900, SQL: "SELECT 1"}}},
		{"no SQL", []pgdb.Migration{{Version: 900, Name: "a"}}},
		{"zero version", []pgdb.Migration{{Version: 0, Name: "a", SQL: "SELECT 1"}}},
		{"crosses a block", []pgdb.Migration{{Version: 999, Name: "a", SQL: "SELECT 1"}, {Version: 1000, Name: "b", SQL: "SELECT 1"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := pgdb.Migrate(t.Context(), pool, tc.ms); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	var exists bool
	if err := pool.QueryRow(t.Context(), `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatal("a refused history created schema_migrations")
	}
}

// TestMigrateBesideAuditLog: the audit log's migrations and a store's share
// one schema_migrations table, in either order.
func TestMigrateBesideAuditLog(t *testing.T) {
	for _, auditFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("audit first %v", auditFirst), func(t *testing.T) {
			pool, owner := open(t)
			ctx := t.Context()
			audit := func() {
				if err := auditpostgres.Migrate(ctx, owner, pgtest.AppRole); err != nil {
					t.Fatal(err)
				}
			}
			store := func() {
				if err := pgdb.Migrate(ctx, pool, history); err != nil {
					t.Fatal(err)
				}
			}
			if auditFirst {
				audit()
				store()
			} else {
				store()
				audit()
			}
			got := applied(t, pool)
			if !strings.Contains(got, "902 third step") || !strings.HasPrefix(got, "1 ") {
				t.Fatalf("schema_migrations %q lacks one of the histories", got)
			}
		})
	}
}

// TestOpenKeepsURLSecret: a malformed URL is refused without echoing it,
// and the password of an unreachable server's URL is not in the error.
func TestOpenKeepsURLSecret(t *testing.T) {
	const password = "pw-that-must-not-leak"
	for _, u := range []string{
		"postgres://signet:" + password + "@127.0.0.1:1/x?sslmode=disable&connect_timeout=bogus",
		"postgres://signet:" + password + "@127.0.0.1:1/x?sslmode=disable&connect_timeout=2",
	} {
		_, err := pgdb.Open(t.Context(), u)
		if err == nil {
			t.Fatalf("%q: opened", u)
		}
		if strings.Contains(err.Error(), password) {
			t.Fatalf("error reveals the password: %v", err)
		}
	}
}
