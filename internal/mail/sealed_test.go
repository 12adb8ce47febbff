package mail

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/secretscan"
)

// TestSealedSpool: with a key, the spool's files hold neither the
// address, the subject nor the body (link and code) in any encoding,
// and read back with the key only; a file renamed to another message's
// name does not open.
func TestSealedSpool(t *testing.T) {
	ctx := context.Background()
	key := bytes.Repeat([]byte{7}, 32)
	s := &Spool{Dir: filepath.Join(t.TempDir(), "outbox"), Key: key}
	secrets := []string{"marker-ann-5f1c@example.com", "Please sign marker-subject-77a1", "https://x.invalid/sign#marker-link-6c0d9e", "code is 918273"}
	m := Message{To: secrets[0], Subject: secrets[1], Body: "Open " + secrets[2] + "\nYour " + secrets[3]}
	if err := s.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, Message{To: "bob@example.com", Subject: "x", Body: "y"}); err != nil {
		t.Fatal(err)
	}
	if n := secretscan.Check(t, s.Dir, secrets...); n != 2 {
		t.Fatalf("%d files in the outbox, want 2", n)
	}
	got, err := s.To(secrets[0])
	if err != nil || len(got) != 1 || got[0] != m {
		t.Fatalf("read back: %+v, %v", got, err)
	}
	// Without the key, or with another, nothing reads.
	if msgs, err := (&Spool{Dir: s.Dir}).To(secrets[0]); err != nil || len(msgs) != 0 {
		t.Fatalf("read without key: %v, %v", msgs, err)
	}
	if _, err := (&Spool{Dir: s.Dir, Key: bytes.Repeat([]byte{8}, 32)}).To(secrets[0]); !errors.Is(err, ErrBadSpoolFile) {
		t.Fatalf("read with another key: %v, want ErrBadSpoolFile", err)
	}
	// One file's content under another's name does not open.
	names, _ := filepath.Glob(filepath.Join(s.Dir, "*.sealed"))
	if len(names) != 2 {
		t.Fatalf("files %v", names)
	}
	a, _ := os.ReadFile(names[0])
	if err := os.WriteFile(names[1], a, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.To(secrets[0]); !errors.Is(err, ErrBadSpoolFile) {
		t.Fatalf("moved file: %v, want ErrBadSpoolFile", err)
	}
}

// TestSealClear: messages spooled in clear are sealed in place, once.
func TestSealClear(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "outbox")
	m := Message{To: "ann@example.com", Subject: "Your code", Body: "Your code is marker-code-41d2"}
	if err := (&Spool{Dir: dir}).Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	s := &Spool{Dir: dir, Key: bytes.Repeat([]byte{7}, 32)}
	if n, err := s.SealClear(ctx); err != nil || n != 1 {
		t.Fatalf("SealClear = %d, %v; want 1", n, err)
	}
	if n, err := s.SealClear(ctx); err != nil || n != 0 {
		t.Fatalf("second SealClear = %d, %v; want 0", n, err)
	}
	secretscan.Check(t, dir, "marker-code-41d2")
	got, err := s.To("ann@example.com")
	if err != nil || len(got) != 1 || got[0] != m {
		t.Fatalf("read back: %+v, %v", got, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || !strings.HasSuffix(entries[0].Name(), ".sealed") {
		t.Fatalf("outbox holds %v", entries)
	}
}
