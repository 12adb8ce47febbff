// Package softhsmtest is test support: SoftHSM2 tokens in a temporary
// directory for tests of code that uses keys/pkcs11 (the server with a
// pkcs11 section, the e2e flows). SoftHSM reads SOFTHSM2_CONF once per
// process, so the tokens are made once per test binary, before anything
// loads the module. A missing SoftHSM2 or OpenSC fails the test, never
// skips it: make test installs both.
package softhsmtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// Module is Debian's SoftHSM2 PKCS#11 module.
const Module = "/usr/lib/softhsm/libsofthsm2.so"

// PIN is the user PIN of every token; soPIN their security officer's.
const (
	PIN   = "2468-softhsmtest-pin"
	soPIN = "13572468"
)

var (
	once   sync.Once
	made   []string
	errSet error
)

// Tokens points SOFTHSM2_CONF, for the whole process, at a fresh token
// directory holding one initialized token per label (user PIN [PIN]).
// Every call in a process must name the same labels: SoftHSM reads its
// configuration once.
func Tokens(t testing.TB, labels ...string) {
	t.Helper()
	once.Do(func() { made, errSet = labels, setUp(labels) })
	if errSet != nil {
		t.Fatalf("SoftHSM2 tokens: %v", errSet)
	}
	if !slices.Equal(made, labels) {
		t.Fatalf("softhsmtest: tokens %v asked for, but this process made %v", labels, made)
	}
}

func setUp(labels []string) error {
	for _, tool := range []string{"softhsm2-util", "pkcs11-tool"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: install softhsm2 and opensc, or run make test, which installs them", tool)
		}
	}
	if _, err := os.Stat(Module); err != nil {
		return fmt.Errorf("SoftHSM2 module: %w (install softhsm2, or run make test, which installs it)", err)
	}
	dir, err := os.MkdirTemp("", "signet-softhsmtest-")
	if err != nil {
		return err
	}
	tokens := filepath.Join(dir, "tokens")
	if err := os.Mkdir(tokens, 0o700); err != nil {
		return err
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	body := fmt.Sprintf("directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", tokens)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return err
	}
	if err := os.Setenv("SOFTHSM2_CONF", conf); err != nil {
		return err
	}
	for _, l := range labels {
		out, err := exec.Command("softhsm2-util", "--init-token", "--free", "--label", l, "--so-pin", soPIN, "--pin", PIN).CombinedOutput()
		if err != nil {
			return fmt.Errorf("softhsm2-util --init-token %s: %v\n%s", l, err, out)
		}
	}
	return nil
}

// Tool runs OpenSC's pkcs11-tool, logged in to the token labelled label,
// with args, and returns its combined output.
func Tool(label string, args ...string) ([]byte, error) {
	base := []string{"--module", Module, "--token-label", label, "--login", "--pin", PIN}
	return exec.Command("pkcs11-tool", append(base, args...)...).CombinedOutput()
}
