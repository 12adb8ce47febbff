//go:build !cgo

package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestSignPKCS11NoCgo checks that a build without cgo refuses pkcs11: keys
// with exit 2 and says why.
func TestSignPKCS11NoCgo(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.pdf")
	code, _, stderr := signetRun(t, "sign", "--key", "pkcs11:token=t;object=k?pin-value=1234", "--cert", "cert.pem", sample("classic.pdf"), out)
	if code != 2 || !strings.Contains(stderr, "not available in this build") || strings.Contains(stderr, "1234") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}
