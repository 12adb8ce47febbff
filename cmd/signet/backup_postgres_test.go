package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/pgtest"
	"github.com/signet-pki/signet/internal/workflow"
)

// TestBackupPostgresWhileServing backs up a PostgreSQL deployment while
// its node serves, verifies the backup, restores it into a new database
// and directory, checks the audit log there with `signet audit verify`,
// and starts a node on the restored deployment (as the application role
// only, so the restore's grants are what it uses): it serves the same
// envelope and document bytes. A restore into the database that holds the
// deployment is refused.
func TestBackupPostgresWhileServing(t *testing.T) {
	dir := t.TempDir()
	a, restored := filepath.Join(dir, "a"), filepath.Join(dir, "restored")
	if err := os.Mkdir(a, 0o700); err != nil {
		t.Fatal(err)
	}
	mk := make([]byte, 32)
	rand.Read(mk)
	mkFile := filepath.Join(a, "master.key")
	if err := os.WriteFile(mkFile, []byte(base64.StdEncoding.EncodeToString(mk)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	owner, app := pgtest.NewDatabase(t)
	listen, pkiListen := freeAddr(t), freeAddr(t)
	p := startServe(t, processEnv(databaseURLEnv+"="+app, databaseAdminURLEnv+"="+owner), a, listen, "--pki-listen", pkiListen)
	_, sender, doc := senderWithDocument(t, p)
	ctx := context.Background()
	req := workflow.CreateRequest{Subject: "Backup agreement", Message: "Please sign.", Documents: []string{doc.ID},
		Recipients: []workflow.RecipientInput{{Role: workflow.RoleSigner, Name: "Alice", Email: "alice@example.com", Order: 1}}}
	e, err := sender.CreateEnvelope(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sender.Send(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	content, err := sender.Content(ctx, e.ID, doc.ID)
	if err != nil {
		t.Fatal(err)
	}

	// The backup, while the node runs, through its configuration file.
	key, out := filepath.Join(dir, "backup.key"), filepath.Join(dir, "a.backup")
	if code, _, stderr := signetRun(t, "backup", "keygen", "--out", key); code != 0 {
		t.Fatal(stderr)
	}
	cfg := writeFile(t, dir, "signet.json", `{"data_dir":"`+a+`","database_url":"`+app+`"}`)
	code, stdout, stderr := signetRun(t, "backup", "create", "--config", cfg, "--out", out, "--key-file", key)
	if code != 0 || !strings.Contains(stdout, "PostgreSQL") {
		t.Fatalf("backup create: exit %d\n%s%s", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, app) {
		t.Error("backup create printed the database URL")
	}
	p.stop()

	code, stdout, stderr = signetRun(t, "backup", "verify", out, "--key-file", key)
	if code != 0 || !strings.Contains(stdout, "backup OK") || !strings.Contains(stdout, "verified") || !strings.Contains(stdout, "schema version") {
		t.Fatalf("backup verify: exit %d\n%s%s", code, stdout, stderr)
	}
	t.Logf("backup verify:\n%s", stdout)

	// Not into the database that holds the deployment.
	if code, _, stderr := signetRun(t, "backup", "restore", out, "--data", filepath.Join(dir, "r0"), "--database-url", owner, "--key-file", key, "--master-key", mkFile); code != 2 || !strings.Contains(stderr, "already holds tables") {
		t.Fatalf("restore into a database with tables: exit %d\n%s", code, stderr)
	}
	owner2, app2 := pgtest.NewDatabase(t)
	code, stdout, stderr = signetRun(t, "backup", "restore", out, "--data", restored, "--database-url", owner2, "--app-role", pgtest.AppRole, "--key-file", key, "--master-key", mkFile)
	if code != 0 {
		t.Fatalf("backup restore: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := signetRun(t, "audit", "verify", "--data", restored, "--database-url", app2); code != 0 || !strings.Contains(stdout, "audit log OK") {
		t.Fatalf("audit verify of the restored deployment: exit %d\n%s%s", code, stdout, stderr)
	}

	// A node on the restored deployment, with the application role only.
	p2 := startServe(t, processEnv(databaseURLEnv+"="+app2), restored, listen, "--pki-listen", pkiListen)
	if p2.key != "" {
		t.Error("the restored deployment printed a new bootstrap key")
	}
	api2, _ := apiFor(t, p2)
	sender2 := api2.WithAuth(sender.Authorization)
	got, err := sender2.Content(ctx, e.ID, doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, content) {
		t.Fatal("the restored deployment serves other bytes than the original")
	}
	e2, err := sender2.Envelope(ctx, e.ID)
	if err != nil || e2.Subject != "Backup agreement" || len(e2.Recipients) != 1 {
		t.Fatalf("restored envelope: %+v %v", e2, err)
	}
	p2.stop()
}
