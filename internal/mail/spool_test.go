package mail

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSpool writes owner-only message files and refuses invalid messages.
func TestSpool(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	s := &Spool{Dir: dir}
	if err := s.Send(context.Background(), Message{To: "ann@example.com", Subject: "Your code", Body: "123456\nbye"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), Message{To: "bad\r\nBcc: x@example.com", Subject: "x", Body: "y"}); err == nil {
		t.Fatal("header injection accepted")
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 || !strings.HasSuffix(entries[0].Name(), ".eml") {
		t.Fatalf("outbox: %v %v", entries, err)
	}
	st, _ := os.Stat(filepath.Join(dir, entries[0].Name()))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("message mode %v, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(filepath.Join(dir, entries[0].Name()))
	if !strings.Contains(string(b), "To: <ann@example.com>\r\n") || !strings.Contains(string(b), "123456\r\nbye") {
		t.Errorf("message:\n%s", b)
	}
}
