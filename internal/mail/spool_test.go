package mail

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// TestSpoolReadBack reads spooled messages back per recipient, in the
// order they were sent, with the subject decoded and line ends restored.
func TestSpoolReadBack(t *testing.T) {
	ctx := context.Background()
	s := &Spool{Dir: filepath.Join(t.TempDir(), "outbox")}
	if msgs, err := s.To("ann@example.com"); err != nil || len(msgs) != 0 {
		t.Fatalf("missing outbox: %v %v", msgs, err)
	}
	sent := []Message{
		{To: "ann@example.com", Subject: "Please sign «Agreement»", Body: "Open https://x.invalid/#link\nThanks"},
		{To: "bob@example.com", Subject: "Other", Body: "not Ann's"},
		{To: "Ann@Example.com", Subject: "Your code", Body: "Your code is 123456\r\nbye\n"},
	}
	for _, m := range sent {
		if err := s.Send(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	// A temporary file of an interrupted Send and a stray file are skipped.
	if err := os.WriteFile(filepath.Join(s.Dir, ".spool-123"), []byte("partial"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "README"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := s.Wait(ctx, "ann@example.com", 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []Message{sent[0], {To: "Ann@Example.com", Subject: "Your code", Body: "Your code is 123456\nbye\n"}}
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	wctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := s.Wait(wctx, "ann@example.com", 3); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting for a third message: %v", err)
	}
}

// TestSpoolReadBackRejects fails on a .eml file that Send did not write,
// and on one larger than the bound, instead of skipping it.
func TestSpoolReadBackRejects(t *testing.T) {
	for name, content := range map[string][]byte{
		"no To":          []byte("Subject: x\r\n\r\nbody\r\n"),
		"named To":       []byte("To: Ann <ann@example.com>\r\nSubject: x\r\n\r\nbody\r\n"),
		"bad subject":    []byte("To: <ann@example.com>\r\nSubject: =?x-unknown?q?a?=\r\n\r\nbody\r\n"),
		"no final CRLF":  []byte("To: <ann@example.com>\r\nSubject: x\r\n\r\nbody"),
		"no header end":  []byte("To: <ann@example.com>"),
		"too large file": append([]byte("To: <ann@example.com>\r\n\r\n"), make([]byte, maxSpoolFileSize)...),
	} {
		t.Run(name, func(t *testing.T) {
			s := &Spool{Dir: t.TempDir()}
			if err := os.WriteFile(filepath.Join(s.Dir, "m.eml"), content, 0o600); err != nil {
				t.Fatal(err)
			}
			if msgs, err := s.To("ann@example.com"); err == nil {
				t.Errorf("read %+v", msgs)
			}
		})
	}
}

// FuzzParseSpooled checks that ParseSpooled never panics, and that what
// Send writes for a message it accepts reads back: the address and the body
// (CRLF as LF) always, the subject whenever it is one that a header keeps
// as written (no surrounding white space, no text that looks like an
// encoded word). TestSpoolReadBack covers the files themselves.
func FuzzParseSpooled(f *testing.F) {
	f.Add("ann@example.com", "Your code", "Your code is 123456\nbye", []byte("To: <ann@example.com>\r\nSubject: x\r\n\r\nbody\r\n"))
	f.Add("b.o+b@example.org", "Bitte unterschreiben: «Vertrag» ✓", "line\r\n\r\nlast\r", []byte("To: <a@b>\r\nSubject: =?utf-8?q?=C3=A9?=\r\n\r\n\r\n"))
	f.Add("x@y.z", "", "", []byte("garbage"))
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, to, subject, body string, raw []byte) {
		if m, err := ParseSpooled(raw); err == nil {
			if bareAddress(m.To) != nil {
				t.Errorf("parsed To %q is not a bare address", m.To)
			}
		}
		m := Message{To: to, Subject: subject, Body: body}
		if m.Validate() != nil {
			return
		}
		b := spoolFile(m, t0)
		got, err := ParseSpooled([]byte(b))
		if err != nil {
			t.Fatalf("Send would write %q, which does not parse: %v", b, err)
		}
		if got.To != to {
			t.Errorf("To %q read back as %q", to, got.To)
		}
		if want := strings.ReplaceAll(body, "\r\n", "\n"); got.Body != want {
			t.Errorf("body %q read back as %q, want %q", body, got.Body, want)
		}
		if strings.TrimSpace(subject) == subject && !strings.Contains(subject, "=?") && got.Subject != subject {
			t.Errorf("subject %q read back as %q", subject, got.Subject)
		}
	})
}
