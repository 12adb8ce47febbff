package auditlog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// TestLoadCheckpointKey creates the key once (0600), reloads the same key,
// and refuses a key file others can read.
func TestLoadCheckpointKey(t *testing.T) {
	dir := t.TempDir()
	key, pub := filepath.Join(dir, "audit.key"), filepath.Join(dir, "audit.pub")
	s1, err := LoadCheckpointKey(key, pub, "test.local/audit")
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(key)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", st.Mode().Perm())
	}
	s2, err := LoadCheckpointKey(key, pub, "test.local/audit")
	if err != nil || s1.KeyHash() != s2.KeyHash() {
		t.Fatalf("reload: %v", err)
	}
	vb, _ := os.ReadFile(pub)
	v, err := note.NewVerifier(strings.TrimSpace(string(vb)))
	if err != nil || v.KeyHash() != s1.KeyHash() || v.Name() != "test.local/audit" {
		t.Fatalf("verifier key: %v", err)
	}
	os.Chmod(key, 0o644)
	if _, err := LoadCheckpointKey(key, pub, "test.local/audit"); err == nil {
		t.Error("a world-readable key file was accepted")
	}
}
