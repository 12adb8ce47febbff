package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/internal/pgtest"
)

// TestMigrateQuickstart copies the deployment `signet quickstart` leaves
// into PostgreSQL: the copy verifies there (the command says so), a
// second copy into the same database is refused, and a node started on
// the database serves the quickstart's envelope and its signed document,
// byte for byte.
func TestMigrateQuickstart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "qs")
	if code, stdout, stderr := signetRun(t, "quickstart", "--dir", dir); code != 0 {
		t.Fatalf("quickstart: exit %d\n%s%s", code, stdout, stderr)
	}
	data := filepath.Join(dir, "data")
	owner, app := pgtest.NewDatabase(t)
	code, stdout, stderr := signetRun(t, "migrate", "--from", data, "--to", owner, "--app-role", pgtest.AppRole)
	if code != 0 {
		t.Fatalf("migrate: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"audit log OK", "document hashes OK", "sealed key files"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("migrate output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout+stderr, owner) {
		t.Error("migrate printed the database URL")
	}
	if code, _, stderr := signetRun(t, "migrate", "--from", data, "--to", owner); code == 0 || !strings.Contains(stderr, "already holds") {
		t.Fatalf("second migrate into the same database: exit %d\n%s", code, stderr)
	}

	// The data commands work against the database: the keys listed are
	// the data directory's.
	mk, err := os.ReadFile(filepath.Join(data, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	var fromDir, fromDB bytes.Buffer
	if code := run([]string{"keys", "list", "--data", data}, nil, &fromDir, os.Stderr); code != 0 {
		t.Fatal("keys list --data failed")
	}
	node := filepath.Join(t.TempDir(), "node")
	env := &environment{stdout: &fromDB, stderr: os.Stderr, getenv: func(k string) string {
		if k == "SIGNET_MASTER_KEY" {
			return strings.TrimSpace(string(mk))
		}
		return ""
	}}
	if err := cmdKeys([]string{"list", "--data", node, "--database-url", app}, env); err != nil {
		t.Fatalf("keys list --database-url: %v", err)
	}
	if fromDB.String() != fromDir.String() {
		t.Errorf("keys list differs:\nSQLite:\n%s\nPostgreSQL:\n%s", fromDir.String(), fromDB.String())
	}
	// The same through the nodes' configuration file.
	cfg := filepath.Join(t.TempDir(), "signet.json")
	b, _ := json.Marshal(map[string]string{"data_dir": node, "database_url": app})
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	fromDB.Reset()
	if err := cmdKeys([]string{"list", "--config", cfg}, env); err != nil {
		t.Fatalf("keys list --config: %v", err)
	}
	if fromDB.String() != fromDir.String() {
		t.Errorf("keys list --config differs:\n%s", fromDB.String())
	}
	var out, errb bytes.Buffer
	if code := run([]string{"audit", "verify", "--config", cfg, "--pubkey", filepath.Join(data, "audit.pub")}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "audit log OK") {
		t.Fatalf("audit verify --config: exit %d\n%s%s", code, out.String(), errb.String())
	}

	// The signed document in the database is the one quickstart wrote.
	signed, err := os.ReadFile(filepath.Join(dir, "signed.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(signed)
	conn, err := pgx.Connect(context.Background(), app)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM workflow_envelope_documents WHERE sha256 = $1`, hex.EncodeToString(sum[:])).Scan(&n); err != nil || n != 1 {
		t.Fatalf("the signed document's hash in the database: %d rows, %v", n, err)
	}

	// A node on the migrated database starts (no new bootstrap key: the
	// deployment has its administrator) and serves.
	p := startServe(t, processEnv("SIGNET_MASTER_KEY="+strings.TrimSpace(string(mk)), databaseURLEnv+"="+app, databaseAdminURLEnv+"="+owner),
		node, freeAddr(t), "--pki-listen", freeAddr(t))
	if p.key != "" {
		t.Error("a node on the migrated database printed a new bootstrap key")
	}
	p.stop()
}
