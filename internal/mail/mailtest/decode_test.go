package mailtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzDecode: decoding any received message never panics, and a decoded
// body never keeps a CRLF.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncode is 123456=\r\n still\r\n"))
	f.Add([]byte("Subject: plain\r\n\r\nbody\r\n"))
	f.Add([]byte("no header at all"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := Message{Raw: raw}
		if err := decode(&m); err != nil {
			return
		}
		if strings.Contains(m.Body, "\r\n") {
			t.Fatalf("decoded body keeps CRLF: %q", m.Body)
		}
	})
}

func TestDecode(t *testing.T) {
	m := Message{Raw: []byte("Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nyour code is 123456=\r\n, soft break\r\nA=3DB\r\n")}
	if err := decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Grüße" {
		t.Errorf("subject %q", m.Subject)
	}
	if m.Body != "your code is 123456, soft break\nA=B\n" {
		t.Errorf("body %q", m.Body)
	}
	if err := decode(&Message{Raw: []byte("\x00")}); err == nil {
		t.Error("decoding garbage succeeded")
	}
}

func TestFuzzCorpusPresent(t *testing.T) {
	ents, err := os.ReadDir(filepath.Join("testdata", "fuzz", "FuzzDecode"))
	if err != nil || len(ents) == 0 {
		t.Fatalf("seed corpus testdata/fuzz/FuzzDecode missing: %v", err)
	}
}
