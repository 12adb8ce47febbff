package postgres

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/signet-pki/signet/auditlog"
)

// TestAppRolePrivileges checks that the database itself refuses every
// rewrite by the application role — UPDATE, DELETE, TRUNCATE, DROP, ALTER,
// and granting itself more — while the owner could do them, so the test
// would fail if the grants were wider.
func TestAppRolePrivileges(t *testing.T) {
	ctx := context.Background()
	s, owner := openTemp(t)
	r := auditlog.Record{Index: 0, ID: "e0", Type: "document.uploaded", Leaf: []byte(`{"id":"e0"}`)}
	if err := s.Append(ctx, []auditlog.Record{r}, []auditlog.HashEntry{{Index: 0, Hash: hashOf(r.Leaf)}}); err != nil {
		t.Fatalf("Append as the app role: %v", err)
	}
	if err := s.AddCheckpoint(ctx, auditlog.Checkpoint{Size: 1, Note: []byte("n")}); err != nil {
		t.Fatalf("AddCheckpoint as the app role: %v", err)
	}
	if err := s.AddAnchor(ctx, auditlog.Anchor{Size: 1, Kind: "sink", Name: "f", Data: []byte("x")}); err != nil {
		t.Fatalf("AddAnchor as the app role: %v", err)
	}
	stmts := []string{
		"UPDATE records SET leaf = '\\x00' WHERE idx = 0",
		"UPDATE hashes SET hash = hash",
		"UPDATE checkpoints SET note = 'x'",
		"UPDATE anchors SET data = 'x'",
		"DELETE FROM records WHERE idx = 0",
		"DELETE FROM hashes",
		"DELETE FROM checkpoints",
		"DELETE FROM anchors",
		"TRUNCATE records",
		"TRUNCATE checkpoints",
		"INSERT INTO records (idx, id, tenant, type, leaf) VALUES (1, 'e1', '', 't', '\\x00') ON CONFLICT (idx) DO UPDATE SET leaf = EXCLUDED.leaf",
		"DELETE FROM schema_migrations",
		"INSERT INTO schema_migrations (version, name) VALUES (99, 'x')",
		"DROP TABLE records",
		"ALTER TABLE records DISABLE TRIGGER ALL",
		// A GRANT without the grant option only warns; the UPDATE after it
		// must still be refused.
		"GRANT UPDATE ON records TO CURRENT_USER; UPDATE records SET id = id",
		"CREATE TABLE records2 (x int)",
		"LOCK TABLE records IN EXCLUSIVE MODE",
	}
	for _, q := range stmts {
		t.Run(q, func(t *testing.T) {
			// Through the store's own pool: the application's connection.
			err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
				for _, stmt := range strings.Split(q, "; ") {
					if _, err := tx.Exec(ctx, stmt); err != nil {
						return err
					}
				}
				return nil
			})
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "42501" { // insufficient_privilege
				t.Fatalf("%s as the app role: %v, want SQLSTATE 42501 (permission denied)", q, err)
			}
		})
	}
	// The owner (the DBA) can rewrite: the refusals above come from the
	// grants, not from the statements.
	conn, err := pgx.Connect(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tag, err := conn.Exec(ctx, "UPDATE records SET leaf = '\\x00' WHERE idx = 0")
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("UPDATE as the owner: %v, %v", tag, err)
	}
	got, err := s.RecordByID(ctx, "e0")
	if err != nil || string(got.Leaf) != "\x00" {
		t.Fatalf("owner's UPDATE not visible: %q, %v", got.Leaf, err)
	}
}
