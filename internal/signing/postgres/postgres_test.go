package postgres_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/pgtest"
	"github.com/signet-pki/signet/internal/signing"
	signingpostgres "github.com/signet-pki/signet/internal/signing/postgres"
	signingsqlite "github.com/signet-pki/signet/internal/signing/sqlite"
	"github.com/signet-pki/signet/internal/signing/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func newStore(t *testing.T, p *pgxpool.Pool) *signingpostgres.Store {
	t.Helper()
	s, err := signingpostgres.New(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConformance runs the signing stores' conformance suite on a fresh
// PostgreSQL database.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) signing.Store {
		owner, _ := pgtest.NewDatabase(t)
		return newStore(t, pgtest.Pool(t, owner))
	})
}

// TestNodes runs the suite's two-node checks on two stores, each over its
// own pool, opened at the same moment on one database (both migrate).
func TestNodes(t *testing.T) {
	storetest.RunNodes(t, func(t *testing.T) (signing.Store, signing.Store) {
		owner, _ := pgtest.NewDatabase(t)
		var stores [2]*signingpostgres.Store
		var errs [2]error
		var wg sync.WaitGroup
		for i := range stores {
			p := pgtest.Pool(t, owner)
			wg.Go(func() { stores[i], errs[i] = signingpostgres.New(t.Context(), p) })
		}
		wg.Wait()
		if err := errors.Join(errs[:]...); err != nil {
			t.Fatal(err)
		}
		return stores[0], stores[1]
	})
}

// TestTokensNotStored: a link and a session are stored under the SHA-256
// of their token, no row holds the token, and the database refuses a
// "hash" that is not 32 bytes.
func TestTokensNotStored(t *testing.T) {
	owner, _ := pgtest.NewDatabase(t)
	p := pgtest.Pool(t, owner)
	s := newStore(t, p)
	ctx := t.Context()
	b := make([]byte, 32)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	h, ok := signing.ParseToken(token)
	if !ok {
		t.Fatal("ParseToken refused a token")
	}
	now := time.Now()
	if err := s.CreateLink(ctx, signing.Link{Hash: h, Tenant: "acme", EnvelopeID: "env_1", RecipientID: "rcp_1", CreatedAt: now, ExpiresAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, signing.Session{Hash: h, Tenant: "acme", EnvelopeID: "env_1", RecipientID: "rcp_1", Email: "a@example.com", AuthTime: now, ExpiresAt: now}); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"signing_links", "signing_sessions"} {
		var stored []byte
		var n int
		if err := p.QueryRow(ctx, `SELECT hash, (SELECT count(*) FROM `+table+` r WHERE position($1 in r::text) > 0 OR position(convert_to($1, 'UTF8') in r.hash) > 0) FROM `+table,
			token).Scan(&stored, &n); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(stored, h[:]) || n != 0 {
			t.Fatalf("%s holds %x (want the token's SHA-256 %x); %d rows hold the token", table, stored, h, n)
		}
		if _, err := p.Exec(ctx, `UPDATE `+table+` SET hash = convert_to($1, 'UTF8')`, token); err == nil {
			t.Fatalf("%s accepted a 43-byte hash", table)
		}
	}
}

// TestSchema: the migration records its version once and creates the
// tables and columns of the SQLite driver's final schema, with the
// PostgreSQL types of the SQLite ones (TEXT text, INTEGER bigint, BLOB
// bytea), so that a copy from SQLite maps table by table, column by
// column.
func TestSchema(t *testing.T) {
	owner, _ := pgtest.NewDatabase(t)
	p := pgtest.Pool(t, owner)
	ctx := t.Context()
	newStore(t, p)
	newStore(t, p) // applies nothing
	history, err := texts(p.Query(ctx, `SELECT version || ' ' || name FROM schema_migrations ORDER BY version`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"300 " + signingpostgres.Migrations[0].Name, "301 " + signingpostgres.Migrations[1].Name,
		"310 " + signingpostgres.Migrations[2].Name}; !slices.Equal(history, want) {
		t.Fatalf("history %q, want %q", history, want)
	}
	got, err := texts(p.Query(ctx, `SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
		FROM information_schema.columns WHERE table_name LIKE 'signing\_%' ORDER BY table_name, ordinal_position`))
	if err != nil {
		t.Fatal(err)
	}
	lite, err := signingsqlite.Open(ctx, filepath.Join(t.TempDir(), "signet.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	rows, err := lite.DB().QueryContext(ctx, `SELECT m.name, p.name, p.type, p."notnull" OR p.pk > 0
		FROM sqlite_master m JOIN pragma_table_info(m.name) p
		WHERE m.type = 'table' AND m.name LIKE 'signing\_%' ESCAPE '\' ORDER BY m.name, p.cid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	types := map[string]string{"TEXT": "text", "INTEGER": "bigint", "BLOB": "bytea"}
	var want []string
	for rows.Next() {
		var table, col, typ string
		var notNull bool
		if err := rows.Scan(&table, &col, &typ, &notNull); err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("%s.%s %s %s", table, col, types[typ], map[bool]string{true: "NO", false: "YES"}[notNull]))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// SQLite added columns at the end (version 301); PostgreSQL creates
	// the final shape at once: compare the sets.
	slices.Sort(got)
	slices.Sort(want)
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

// TestSealed runs the suite's check of sealed sessions: the dump is every
// row of every table of the database in text form (pgtest.Dump).
func TestSealed(t *testing.T) {
	storetest.RunSealed(t, func(t *testing.T) (signing.Store, storetest.Dump) {
		owner, _ := pgtest.NewDatabase(t)
		return newStore(t, pgtest.Pool(t, owner)), func(t *testing.T) string {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "dump.txt"), pgtest.Dump(t, owner), 0o600); err != nil {
				t.Fatal(err)
			}
			return dir
		}
	})
}
