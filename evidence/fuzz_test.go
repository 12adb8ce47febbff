package evidence

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "regenerate the bundles of testdata/")

// Seeds in testdata/: a small valid bundle (one recipient; its root in
// root.pem; its time-stamp authority lives 30 years) and broken ones.
const (
	seedValid = "testdata/valid.zip"
	seedRoot  = "testdata/root.pem"
)

// TestSeeds writes the seeds with -update, and checks that the committed
// valid bundle still verifies against its root, so that a change of the
// verifier that breaks bundles already made is seen.
func TestSeeds(t *testing.T) {
	if *update {
		fx := sharedFixture(t, 1, 30)
		rootPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fx.pki.root.Cert.Raw})
		// Deflated: a tenth of the size of the stored form, whose
		// signature /Contents are mostly zero padding.
		seeds := map[string][]byte{
			seedValid:                         deflateAll(t, fx.bundle),
			seedRoot:                          rootPEM,
			"testdata/truncated.zip":          deflateAll(t, fx.bundle)[:30000],
			"testdata/no-manifest.zip":        deflateAll(t, rezip(t, fx.bundle, map[string][]byte{PathManifest: nil})),
			"testdata/manifest-changed.zip":   deflateAll(t, rezip(t, fx.bundle, map[string][]byte{PathManifest: append(readZip(t, fx.bundle, PathManifest), ' ')})),
			"testdata/event-dropped.zip":      deflateAll(t, fx.write(t, fx.with(fx.eventPath("signed-r1-0"), nil))),
			"testdata/checkpoint-swapped.zip": deflateAll(t, rezip(t, fx.bundle, map[string][]byte{PathCheckpoint: fx.later})),
		}
		for name, data := range seeds {
			if err := os.WriteFile(name, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	bundle, err := os.ReadFile(seedValid)
	if err != nil {
		t.Fatalf("%v (go test ./evidence -run TestSeeds -update writes it)", err)
	}
	rootPEM, err := os.ReadFile(seedRoot)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(rootPEM) {
		t.Fatal("no root in " + seedRoot)
	}
	rep, err := Verify(bytes.NewReader(bundle), int64(len(bundle)), VerifyOptions{Roots: roots, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Valid() {
		t.Fatalf("the committed bundle %s does not verify:\n%s", seedValid, describe(rep))
	}
}

// FuzzVerify checks that Verify never panics, that it answers a report or
// one of its two errors, and that a report is coherent: VALID only with
// no finding, and a finding for every result that is not.
//
// Inputs that still unzip are verified in full (signatures, chains,
// proofs): a few milliseconds each, hence the smaller count in make test.
// fuzz-count: 3000x
func FuzzVerify(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.zip")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := Verify(bytes.NewReader(b), int64(len(b)), VerifyOptions{MaxFileSize: 8 << 20, MaxTotalSize: 32 << 20})
		if err != nil {
			if rep != nil {
				t.Fatal("a report and an error")
			}
			return
		}
		switch rep.Indication {
		case Valid:
			if len(rep.Findings) > 0 {
				t.Fatalf("VALID with findings %+v", rep.Findings)
			}
		case Invalid, Indeterminate:
			if len(rep.Findings) == 0 {
				t.Fatalf("%s without a finding", rep.Indication)
			}
		default:
			t.Fatalf("indication %q", rep.Indication)
		}
	})
}
