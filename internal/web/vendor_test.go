package web_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// pdfjsVersion is the pdfjs-dist release vendored under
// static/vendor/pdfjs/, read from the Makefile's PDFJS_VERSION.
func pdfjsVersion(t *testing.T) string {
	t.Helper()
	mk, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^PDFJS_VERSION := (\S+)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("the Makefile sets no PDFJS_VERSION")
	}
	return string(m[1])
}

// TestVendoredPDFJS: the committed PDF.js files are byte for byte those of
// the npm package pdfjs-dist that make test installs (SIGNET_NODE_DIR,
// else ~/.cache/signet-node), at the Makefile's version; make web-vendor
// copies them again.
func TestVendoredPDFJS(t *testing.T) {
	dir := os.Getenv("SIGNET_NODE_DIR")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatalf("no home directory: %v (run make test)", err)
		}
		dir = filepath.Join(home, ".cache", "signet-node")
	}
	pkg := filepath.Join(dir, "node_modules", "pdfjs-dist")
	meta, err := os.ReadFile(filepath.Join(pkg, "package.json"))
	if err != nil {
		t.Fatalf("npm pdfjs-dist is not installed in %s: run make test", dir)
	}
	var p struct{ Version string }
	if err := json.Unmarshal(meta, &p); err != nil {
		t.Fatal(err)
	}
	if want := pdfjsVersion(t); p.Version != want {
		t.Fatalf("pdfjs-dist %s installed in %s, want %s: run make test", p.Version, dir, want)
	}
	for vendored, upstream := range map[string]string{
		"pdf.min.mjs":        "build/pdf.min.mjs",
		"pdf.worker.min.mjs": "build/pdf.worker.min.mjs",
		"LICENSE":            "LICENSE",
	} {
		got, err := os.ReadFile(filepath.Join("static", "vendor", "pdfjs", vendored))
		if err != nil {
			t.Errorf("%s: %v (run make web-vendor)", vendored, err)
			continue
		}
		want, err := os.ReadFile(filepath.Join(pkg, upstream))
		if err != nil {
			t.Fatal(err)
		}
		if g, w := sha256.Sum256(got), sha256.Sum256(want); !bytes.Equal(g[:], w[:]) {
			t.Errorf("static/vendor/pdfjs/%s: SHA-256 %x, pdfjs-dist's %s %x (run make web-vendor)", vendored, g, upstream, w)
		}
	}
}
