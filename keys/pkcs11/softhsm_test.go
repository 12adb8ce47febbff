//go:build cgo

package pkcs11

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The SoftHSM2 fixture: one token directory for the whole test binary,
// because SoftHSM reads SOFTHSM2_CONF once per process.
const (
	softhsmModule = "/usr/lib/softhsm/libsofthsm2.so"
	testToken     = "signet-test"
	otherToken    = "signet-other"
	testPIN       = "1234-test-pin"
	otherPIN      = "5678-other-pin"
	soPIN         = "12345678"
)

var tokenDir string

// TestMain makes a SoftHSM2 configuration with two fresh tokens and points
// SOFTHSM2_CONF at it before any test loads the module. A missing
// softhsm2-util, pkcs11-tool or module fails the tests: make test installs
// the softhsm2 and opensc packages.
func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	for _, tool := range []string{"softhsm2-util", "pkcs11-tool"} {
		if _, err := exec.LookPath(tool); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: %s not found (install softhsm2 and opensc, or run make test)\n", tool)
			return 1
		}
	}
	if _, err := os.Stat(softhsmModule); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: SoftHSM2 module: %v (install softhsm2, or run make test)\n", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "signet-softhsm-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	tokenDir = filepath.Join(dir, "tokens")
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.Mkdir(tokenDir, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	body := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokenDir)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	os.Setenv("SOFTHSM2_CONF", conf)
	for _, tok := range []struct{ label, pin string }{{testToken, testPIN}, {otherToken, otherPIN}} {
		out, err := exec.Command("softhsm2-util", "--init-token", "--free", "--label", tok.label,
			"--so-pin", soPIN, "--pin", tok.pin).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: softhsm2-util --init-token %s: %v\n%s", tok.label, err, out)
			return 1
		}
	}
	return m.Run()
}

// openTest opens the test token and closes it at the end of the test.
func openTest(t testing.TB, maxSessions int) *Backend {
	t.Helper()
	b, err := Open(context.Background(), Config{Module: softhsmModule, TokenLabel: testToken, PIN: testPIN, MaxSessions: maxSessions})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// pkcs11Tool runs OpenSC's pkcs11-tool on the test token.
func pkcs11Tool(args ...string) ([]byte, error) {
	base := []string{"--module", softhsmModule, "--token-label", testToken, "--login", "--pin", testPIN}
	return exec.Command("pkcs11-tool", append(base, args...)...).CombinedOutput()
}
