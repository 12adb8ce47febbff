package mail

import (
	"bytes"
	"io"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzCompose checks that any subject and body survive composition: the
// message parses, the subject decodes to the input and the body decodes
// to the input with line endings normalized; header injection is refused.
func FuzzCompose(f *testing.F) {
	f.Add("Your Signet code", "Your code is 123456.\n")
	f.Add("Grüße — ✓", "line one\r\nline two\n\n=3D trailing space \n")
	f.Add("", strings.Repeat("x", 200))
	s, err := NewSMTP(Config{Host: "h", From: "signet@example.org", FromName: "Signet", Now: func() time.Time { return time.Unix(0, 0) }, Rand: bytes.NewReader(make([]byte, 1<<20))})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, subject, body string) {
		s.cfg.Rand = bytes.NewReader(make([]byte, 16))
		m := Message{To: "a@example.com", Subject: subject, Body: body}
		if m.Validate() != nil {
			return
		}
		raw, err := s.compose(m)
		if err != nil {
			t.Fatal(err)
		}
		pm, err := netmail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("composed message does not parse: %v", err)
		}
		if len(pm.Header["Subject"]) != 1 || len(pm.Header["To"]) != 1 {
			t.Fatalf("header fields duplicated: %v", pm.Header)
		}
		got, err := new(mime.WordDecoder).DecodeHeader(pm.Header.Get("Subject"))
		if err != nil {
			t.Fatal(err)
		}
		if want := strings.TrimSpace(subject); strings.TrimSpace(got) != want && isPrintable(subject) {
			t.Fatalf("subject %q, want %q", got, subject)
		}
		b, err := io.ReadAll(quotedprintable.NewReader(pm.Body))
		if err != nil {
			t.Fatalf("body does not decode: %v", err)
		}
		want := strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n") + "\r\n"
		if string(b) != want && !strings.Contains(body, "\r") {
			t.Fatalf("body %q, want %q", b, want)
		}
	})
}

func isPrintable(s string) bool {
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

func TestFuzzCorpusPresent(t *testing.T) {
	ents, err := os.ReadDir(filepath.Join("testdata", "fuzz", "FuzzCompose"))
	if err != nil || len(ents) == 0 {
		t.Fatalf("seed corpus testdata/fuzz/FuzzCompose missing: %v", err)
	}
}
