package secretscan_test

import (
	"encoding/base64"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/signet-pki/signet/internal/secretscan"
)

// recorder collects the errors Check reports.
type recorder struct {
	testing.TB
	errors int
}

func (r *recorder) Errorf(string, ...any) { r.errors++ }
func (r *recorder) Helper()               {}

// TestCheck: each encoding of a secret in a file is found, in nested
// directories; an unrelated file is not reported.
func TestCheck(t *testing.T) {
	raw := []byte("0123456789abcdef0123456789abcdef")
	secret := "sk_" + base64.RawURLEncoding.EncodeToString(raw)
	for name, content := range map[string]string{
		"plain":       "x" + secret + "y",
		"raw":         "x" + string(raw) + "y",
		"hex":         hex.EncodeToString(raw),
		"base64":      base64.StdEncoding.EncodeToString(raw),
		"base64 of s": base64.StdEncoding.EncodeToString([]byte(secret)),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			sub := filepath.Join(dir, "a", "b")
			if err := os.MkdirAll(sub, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(sub, "f-wal"), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "other"), []byte("nothing"), 0o600); err != nil {
				t.Fatal(err)
			}
			r := &recorder{TB: t}
			if n := secretscan.Check(r, dir, secret); n != 2 || r.errors != 1 {
				t.Fatalf("read %d files, %d reports", n, r.errors)
			}
		})
	}
}
