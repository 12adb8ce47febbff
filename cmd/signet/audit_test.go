package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"
)

// auditFixture appends n events to a fresh data directory through the CLI.
func auditFixture(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	for i := 0; i < n; i++ {
		code, _, stderr := signetRun(t, "audit", "append", "--data", dir, "--type", "document.uploaded", "--actor", "u1", "--email", "ada@example.com")
		if code != 0 {
			t.Fatalf("audit append: exit %d: %s", code, stderr)
		}
	}
	return dir
}

func sqlExec(t *testing.T, dir, query string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// TestAuditVerifyCLI checks the exit codes of signet audit verify and that
// tampering is named with its index and kind.
func TestAuditVerifyCLI(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		code   int
		want   string
	}{
		{"untouched", func(t *testing.T, dir string) {}, 0, "audit log OK: 6 events"},
		{"modified", func(t *testing.T, dir string) {
			sqlExec(t, dir, `UPDATE records SET leaf = CAST(replace(CAST(leaf AS TEXT), '"success"', '"failure"') AS BLOB) WHERE idx = 2`)
		}, 1, "modified at index 2"},
		{"deleted", func(t *testing.T, dir string) { sqlExec(t, dir, `DELETE FROM records WHERE idx = 3`) }, 1, "deleted at index 3"},
		{"truncated", func(t *testing.T, dir string) {
			sqlExec(t, dir, `DELETE FROM records WHERE idx >= 4`)
		}, 1, "truncated at index 4"},
		{"other key", func(t *testing.T, dir string) {
			other := auditFixture(t, 1)
			os.Rename(filepath.Join(other, "audit.pub"), filepath.Join(dir, "audit.pub"))
		}, 1, "forked/re-signed at index 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := auditFixture(t, 6)
			tt.tamper(t, dir)
			code, stdout, stderr := signetRun(t, "audit", "verify", "--data", dir)
			if code != tt.code || !strings.Contains(stdout+stderr, tt.want) {
				t.Fatalf("exit %d, out %q, err %q; want exit %d and %q", code, stdout, stderr, tt.code, tt.want)
			}
		})
	}
	if code, _, _ := signetRun(t, "audit", "verify"); code != 2 {
		t.Errorf("audit verify without storage: exit %d, want 2", code)
	}
	if code, _, _ := signetRun(t, "audit", "verify", "--data", t.TempDir()); code != 2 {
		t.Errorf("audit verify of an empty directory: exit %d, want 2", code)
	}
}

// TestAuditReceiptCLI round-trips proof, verify-receipt and export.
func TestAuditReceiptCLI(t *testing.T) {
	dir := auditFixture(t, 3)
	code, out, stderr := signetRun(t, "audit", "export", "--data", dir, "--since", "2000-01-01T00:00:00Z")
	if code != 0 {
		t.Fatalf("export: %d %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("export printed %d lines", len(lines))
	}
	var ev struct {
		Index int64
		Event struct{ ID string }
	}
	if err := json.Unmarshal([]byte(lines[1]), &ev); err != nil || ev.Index != 1 {
		t.Fatalf("export line %q: %v", lines[1], err)
	}
	if strings.Contains(out, "ada@example.com") {
		t.Fatalf("export reveals a sealed value")
	}
	code, receipt, stderr := signetRun(t, "audit", "proof", ev.Event.ID, "--data", dir)
	if code != 0 || !strings.HasPrefix(receipt, "c2sp.org/tlog-proof@v1\n") {
		t.Fatalf("proof: %d %q %s", code, receipt, stderr)
	}
	rfile := filepath.Join(t.TempDir(), "r.tlog-proof")
	os.WriteFile(rfile, []byte(receipt), 0o644)
	pub := filepath.Join(dir, "audit.pub")
	if code, out, stderr := signetRun(t, "audit", "verify-receipt", rfile, "--pubkey", pub); code != 0 || !strings.Contains(out, "index 1") {
		t.Fatalf("verify-receipt: %d %q %s", code, out, stderr)
	}
	other := auditFixture(t, 1)
	if code, _, _ := signetRun(t, "audit", "verify-receipt", rfile, "--pubkey", filepath.Join(other, "audit.pub")); code != 1 {
		t.Fatalf("verify-receipt with another key: exit %d, want 1", code)
	}
	if code, _, _ := signetRun(t, "audit", "export", "--data", dir, "--since", "yesterday"); code != 2 {
		t.Fatalf("export with a bad time: exit %d, want 2", code)
	}
	if code, _, _ := signetRun(t, "audit", "proof", "no-such-event", "--data", dir); code != 1 {
		t.Fatalf("proof of an unknown event: exit %d, want 1", code)
	}
}
