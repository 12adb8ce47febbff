package postgres_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/internal/pgdb"
	"github.com/signet-pki/signet/internal/pgtest"
	"github.com/signet-pki/signet/internal/workflow"
	workflowpostgres "github.com/signet-pki/signet/internal/workflow/postgres"
	workflowsqlite "github.com/signet-pki/signet/internal/workflow/sqlite"
	"github.com/signet-pki/signet/internal/workflow/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestConformance runs the workflow stores' conformance suite on a fresh
// PostgreSQL database.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		owner, _ := pgtest.NewDatabase(t)
		s, err := workflowpostgres.New(t.Context(), pgtest.Pool(t, owner))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestNodes runs the suite's two-node checks on two stores, each over its
// own pool, opened at the same moment on one database (both migrate).
func TestNodes(t *testing.T) {
	storetest.RunNodes(t, func(t *testing.T) (storetest.Store, storetest.Store) {
		owner, _ := pgtest.NewDatabase(t)
		var stores [2]*workflowpostgres.Store
		var errs [2]error
		var wg sync.WaitGroup
		for i := range stores {
			p := pgtest.Pool(t, owner)
			wg.Go(func() { stores[i], errs[i] = workflowpostgres.New(t.Context(), p) })
		}
		wg.Wait()
		if err := errors.Join(errs[:]...); err != nil {
			t.Fatal(err)
		}
		return stores[0], stores[1]
	})
}

// TestSchema: the migrations record their versions once and create the
// tables and columns of the SQLite driver, in its order, with the
// PostgreSQL types of the SQLite ones (TEXT text, INTEGER bigint, BLOB bytea, the 0/1
// flag allow_link_only boolean), so that a copy from SQLite maps table by
// table, column by column.
func TestSchema(t *testing.T) {
	owner, _ := pgtest.NewDatabase(t)
	p := pgtest.Pool(t, owner)
	ctx := t.Context()
	for range 2 { // the second New applies nothing
		if _, err := workflowpostgres.New(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	history, err := texts(p.Query(ctx, `SELECT version || ' ' || name FROM schema_migrations ORDER BY version`))
	if err != nil {
		t.Fatal(err)
	}
	var wantHistory []string
	for _, m := range workflowpostgres.Migrations {
		wantHistory = append(wantHistory, fmt.Sprint(m.Version, " ", m.Name))
	}
	if want := wantHistory; !slices.Equal(history, want) {
		t.Fatalf("history %q, want %q", history, want)
	}
	got, err := texts(p.Query(ctx, `SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
		FROM information_schema.columns WHERE table_name LIKE 'workflow\_%' ORDER BY table_name, ordinal_position`))
	if err != nil {
		t.Fatal(err)
	}
	lite, err := workflowsqlite.Open(ctx, filepath.Join(t.TempDir(), "signet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	rows, err := lite.DB().QueryContext(ctx, `SELECT m.name, p.name, p.type, p."notnull" OR p.pk > 0
		FROM sqlite_master m JOIN pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name LIKE 'workflow\_%' ESCAPE '\' ORDER BY m.name, p.cid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	types := map[string]string{"TEXT": "text", "INTEGER": "bigint", "BLOB": "bytea", "REAL": "double precision"}
	// The 0/1 flags SQLite keeps as INTEGER are boolean here.
	flags := map[string]bool{"workflow_envelopes.allow_link_only": true, "workflow_envelopes.approval_required": true, "workflow_envelopes.high_assurance": true,
		"workflow_placed_fields.required": true}
	var want []string
	for rows.Next() {
		var table, col, typ string
		var notNull bool
		if err := rows.Scan(&table, &col, &typ, &notNull); err != nil {
			t.Fatal(err)
		}
		pgType := types[typ]
		if flags[table+"."+col] {
			pgType = "boolean"
		}
		want = append(want, fmt.Sprintf("%s.%s %s %s", table, col, pgType, map[bool]string{true: "NO", false: "YES"}[notNull]))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("columns:\n got %q\nwant %q", got, want)
	}
}

// texts collects the single text column of rows.
func texts(rows pgx.Rows, err error) ([]string, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// TestMigrationRenamesEmailOTP: version 201 renames the recipients'
// stored level email_otp (the API's name before the other levels) to
// email_code, and gives existing rows the empty phone and access-code
// hash and no link-only consent.
func TestMigrationRenamesEmailOTP(t *testing.T) {
	owner, _ := pgtest.NewDatabase(t)
	p := pgtest.Pool(t, owner)
	ctx := t.Context()
	if err := pgdb.Migrate(ctx, p, workflowpostgres.Migrations[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(ctx, `INSERT INTO workflow_envelopes (id, tenant, status, subject, message, expires_ns, reminder_ns,
		created_by, created_ns, updated_ns, reason, version) VALUES ('env_1', 't1', 'sent', 's', '', 2, 0, 'k', 1, 1, '', 1)`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Exec(ctx, `INSERT INTO workflow_recipients (envelope_id, position, id, role, name, email, auth,
		routing_order, status, signed, decline_reason) VALUES ('env_1', 0, 'r1', 'signer', 'A', 'a@example.com', 'email_otp', 1, 'active', '', '')`); err != nil {
		t.Fatal(err)
	}
	s, err := workflowpostgres.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.Envelope(ctx, "env_1")
	if err != nil {
		t.Fatal(err)
	}
	if r := e.Recipients[0]; r.Auth != workflow.AuthEmailCode || r.Phone != "" || r.AccessCodeHash != "" || e.AllowLinkOnly {
		t.Fatalf("after migration 201: envelope allow_link_only %v, recipient %+v", e.AllowLinkOnly, r)
	}
}

// TestSealed runs the suite's checks of sealed fields: the dump is every
// row of every table of the database in text form (pgtest.Dump).
func TestSealed(t *testing.T) {
	storetest.RunSealed(t, func(t *testing.T) (storetest.FieldsStore, storetest.Dump) {
		owner, _ := pgtest.NewDatabase(t)
		s, err := workflowpostgres.New(t.Context(), pgtest.Pool(t, owner))
		if err != nil {
			t.Fatal(err)
		}
		return s, func(t *testing.T) string {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "dump.txt"), pgtest.Dump(t, owner), 0o600); err != nil {
				t.Fatal(err)
			}
			return dir
		}
	})
}
