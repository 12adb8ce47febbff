package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExportServiceKeyCLI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	out := filepath.Join(t.TempDir(), "service.key")
	if code, _, errb := signetRun(t, "keys", "export-service-key", "--out", out, "--data", dir); code != 2 || !strings.Contains(errb, "no master key") {
		t.Fatalf("export without a master key: exit %d: %s", code, errb)
	}
	if code, _, errb := signetRun(t, "keys", "create", "--purpose", "tls", "--data", dir); code != 0 {
		t.Fatalf("keys create: exit %d: %s", code, errb)
	}
	if code, stdout, errb := signetRun(t, "keys", "export-service-key", "--out", out, "--data", dir); code != 0 || stdout != "" {
		t.Fatalf("export: exit %d: %s%s", code, stdout, errb)
	}
	st, err := os.Stat(out)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("service key file: %v %v", err, st.Mode())
	}
	b, _ := os.ReadFile(out)
	if !strings.HasPrefix(string(b), "signet-service-key-v1:") {
		t.Fatalf("service key file holds %.30q", b)
	}
	if code, _, errb := signetRun(t, "keys", "export-service-key", "--out", out, "--data", dir); code != 1 || !strings.Contains(errb, "exists") {
		t.Fatalf("export over an existing file: exit %d: %s", code, errb)
	}
}

func TestServeRoleRefusalsCLI(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cfg := filepath.Join(t.TempDir(), "signet.json")
	if err := os.WriteFile(cfg, []byte(`{"signer":{"url":"https://127.0.0.1:1"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errb := signetRun(t, "serve", "--role", "signer", "--data", dir); code != 2 || !strings.Contains(errb, "role signer needs signer.listen") {
		t.Fatalf("signer without listen: exit %d: %s", code, errb)
	}
	t.Setenv("SIGNET_MASTER_KEY", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	code, _, errb := signetRun(t, "serve", "--role", "api", "--config", cfg, "--data", dir, "--listen", "127.0.0.1:0", "--pki-listen", "127.0.0.1:0")
	if code != 1 || !strings.Contains(errb, "a master key is set") || strings.Count(strings.TrimSpace(errb), "\n") != 0 {
		t.Fatalf("api role with SIGNET_MASTER_KEY: exit %d: %s", code, errb)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the refused start created the data directory: %v", err)
	}
}
