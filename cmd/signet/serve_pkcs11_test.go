package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServePKCS11WithoutCgo: a signet built without cgo still builds, and
// its serve refuses a pkcs11 section with one line saying the build has
// no PKCS#11 support, before it creates anything.
func TestServePKCS11WithoutCgo(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "signet-nocgo")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build: %v\n%s", err, out)
	}
	cfg := writeFile(t, dir, "signet.json", `{"listen":"127.0.0.1:0","pki_listen":"127.0.0.1:0",`+
		`"pkcs11":{"module":"/usr/lib/softhsm/libsofthsm2.so","token_label":"signet","pin_env":"SIGNET_PKCS11_PIN"},"keys_at_rest":{"backend":"pkcs11"}}`)
	data := filepath.Join(dir, "data")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "serve", "--data", data, "--config", cfg)
	cmd.Env = processEnv("SIGNET_PKCS11_PIN=1234-nocgo")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("signet serve: %v, want exit 1\n%s", err, out)
	}
	if s := string(out); strings.Count(s, "\n") != 1 || !strings.Contains(s, "this build has no PKCS#11 support") || strings.Contains(s, "1234-nocgo") {
		t.Errorf("output %q: want one line saying the build has no PKCS#11 support", s)
	}
	if _, err := os.Stat(data); err == nil {
		t.Error("the refused start created the data directory")
	}
}
