package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestReleaseBinaryLinksNoTestServer enforces the rule "the release binary
// links no test support": no SMTP server library (github.com/emersion/...,
// which internal/mail/mailtest wraps) and none of the module's test-support
// packages (mailtest, testpki, pgtest, pdfsigtest, pdftest, storetest,
// witnesstest, secretscan, softhsmtest, webtest) and no browser driver
// (github.com/chromedp/..., which internal/web/webtest wraps). `signet quickstart` reads the signers' mail
// from the data directory's outbox instead of running an SMTP server.
func TestReleaseBinaryLinksNoTestServer(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const module = "github.com/signet-pki/signet/"
	testSupport := []string{"mailtest", "testpki", "pgtest", "pdfsigtest", "pdftest", "storetest", "witnesstest", "secretscan", "softhsmtest", "webtest"}
	var n int
	for _, pkg := range strings.Fields(string(out)) {
		n++
		if strings.HasPrefix(pkg, "github.com/emersion/") {
			t.Errorf("rule \"the release binary links no test support\": cmd/signet depends on %s, an SMTP server library", pkg)
		}
		if strings.HasPrefix(pkg, "github.com/chromedp/") {
			t.Errorf("rule \"the release binary links no test support\": cmd/signet depends on %s, a browser driver", pkg)
		}
		if rest, ok := strings.CutPrefix(pkg, module); ok {
			for _, elem := range strings.Split(rest, "/") {
				for _, ts := range testSupport {
					if elem == ts {
						t.Errorf("rule \"the release binary links no test support\": cmd/signet depends on %s", pkg)
					}
				}
			}
		}
	}
	if n < 50 || !strings.Contains(string(out), module+"pades\n") {
		t.Fatalf("go list -deps printed %d packages, without pades: not the dependency list", n)
	}
}
