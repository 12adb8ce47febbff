package main

import (
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/signet-pki/signet/evidence"
)

// bundleSample is a committed evidence bundle (evidence/testdata: one
// recipient, a time-stamp authority that lives 30 years) and its root.
func bundleSample(name string) string { return filepath.Join("..", "..", "evidence", "testdata", name) }

// TestVerifyBundleCLI: `signet verify BUNDLE.zip` checks a bundle offline,
// prints one line per check and finding and the indication, and exits 0
// only when it is VALID.
func TestVerifyBundleCLI(t *testing.T) {
	root := bundleSample("root.pem")
	valid := bundleSample("valid.zip")
	_, otherKey, err := note.GenerateKey(rand.Reader, "signet.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "log.vkey")
	if err := os.WriteFile(keyFile, []byte(otherKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"valid", []string{"--trust", root, valid}, 0, []string{"- manifest-signature", "- story", "passed", "renew by", "\nVALID\n"}},
		{"no trust anchors", []string{valid}, 1, []string{"manifest-timestamp-untrusted", "INDETERMINATE (NO_CERTIFICATE_CHAIN_FOUND)"}},
		{"past the time-stamp authority", []string{"--trust", root, "--at", time.Now().AddDate(31, 0, 0).Format(time.RFC3339), valid}, 1,
			[]string{"! manifest-timestamp-expired", "INDETERMINATE (OUT_OF_BOUNDS_NO_POE)"}},
		{"ten years on", []string{valid, "--trust", root, "--at", time.Now().AddDate(10, 0, 0).Format(time.RFC3339)}, 0, []string{"\nVALID\n"}},
		{"manifest changed", []string{"--trust", root, bundleSample("manifest-changed.zip")}, 1, []string{"! manifest-signature", "INVALID"}},
		{"event dropped", []string{"--trust", root, bundleSample("event-dropped.zip")}, 1, []string{"! story-not-signed", "INVALID"}},
		{"checkpoint swapped", []string{"--trust", root, bundleSample("checkpoint-swapped.zip")}, 1, []string{"! file-modified", "INVALID"}},
		{"another log key", []string{"--trust", root, "--log-key", otherKey, valid}, 1, []string{"! checkpoint-signature", "INVALID"}},
		{"another log key from a file", []string{"--trust", root, "--log-key", keyFile, valid}, 1, []string{"! checkpoint-signature"}},
		{"not a bundle", []string{"--trust", root, bundleSample("truncated.zip")}, 2, nil},
		{"bad time", []string{"--at", "tomorrow", valid}, 2, nil},
		{"missing log key file", []string{"--log-key", "/nonexistent/log.vkey", valid}, 2, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := signetRun(t, append([]string{"verify"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, stdout, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("output lacks %q:\n%s", w, stdout)
				}
			}
		})
	}
}

func TestVerifyBundleCLIJSON(t *testing.T) {
	code, stdout, stderr := signetRun(t, "verify", "--json", "--trust", bundleSample("root.pem"), bundleSample("valid.zip"))
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	var rep evidence.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Indication != evidence.Valid || len(rep.Checks) == 0 || rep.EnvelopeID == "" || len(rep.Documents) != 2 {
		t.Fatalf("report %+v", rep)
	}
}
