// Package pdfsigtest signs PDFs with poppler's pdfsig for Signet's tests, so
// that the verifier is tested on files another producer wrote.
//
// [New] makes a throwaway RSA-2048 root and signer with internal/testpki,
// exports the signer as PKCS#12 with openssl and imports it, with the root
// marked trusted, into a fresh NSS database (certutil, pk12util). Missing
// tools fail the test: `make test` installs poppler-utils, libnss3-tools
// and openssl.
package pdfsigtest

import (
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/testpki"
)

// Nick is the NSS nickname of the signer.
const Nick = "signer"

// Signer is an NSS database holding a signer for pdfsig.
type Signer struct {
	// DB is the NSS database, in the "sql:DIR" form pdfsig's -nssdir takes.
	DB string
	// Root is the trust anchor of the signer's certificate.
	Root *x509.Certificate
	// RootPEM is a PEM file holding Root.
	RootPEM string
	// Cert is the signer's certificate.
	Cert *x509.Certificate
}

// New makes a signer in a new NSS database under t.TempDir.
func New(t testing.TB) *Signer {
	t.Helper()
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	root, err := testpki.NewRoot("Signet pdfsig Test Root", testpki.RSA2048)
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := root.IssueSigner("Signet pdfsig Test Signer", testpki.RSA2048, testpki.LeafOptions{Email: "pdfsig@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	s := &Signer{DB: "sql:" + p("nss"), Root: root.Cert, RootPEM: p("root.pem"), Cert: cert}
	for _, err := range []error{
		testpki.WritePEM(s.RootPEM, root.Cert),
		testpki.WritePEM(p("signer.pem"), cert),
		testpki.WriteKeyPEM(p("signer.key"), key),
		os.Mkdir(p("nss"), 0o700),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	run(t, "openssl", "pkcs12", "-export", "-inkey", p("signer.key"), "-in", p("signer.pem"),
		"-certfile", s.RootPEM, "-name", Nick, "-passout", "pass:pdfsigtest", "-out", p("signer.p12"))
	run(t, "certutil", "-N", "-d", s.DB, "--empty-password")
	run(t, "pk12util", "-i", p("signer.p12"), "-d", s.DB, "-W", "pdfsigtest")
	run(t, "certutil", "-A", "-d", s.DB, "-n", "root", "-t", "CT,C,C", "-i", s.RootPEM)
	return s
}

// AddSignature runs `pdfsig -add-signature` to sign in with a new signature
// field named field, and returns the path of the signed file (in
// t.TempDir).
func (s *Signer) AddSignature(t testing.TB, in, field string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "pdfsig-signed.pdf")
	run(t, "pdfsig", "-nssdir", s.DB, "-nick", Nick, "-add-signature", "-new-signature-field-name", field, in, out)
	if st, err := os.Stat(out); err != nil || st.Size() == 0 {
		t.Fatalf("pdfsig -add-signature wrote no file: %v", err)
	}
	return out
}

// Report runs pdfsig on path with the database's trust settings and returns
// its output. (The certificates name no OCSP responder, so pdfsig stays
// offline; poppler 22.12's -no-ocsp would report "Unknown issue with
// Certificate" instead of a trusted chain.)
func (s *Signer) Report(t testing.TB, path string) string {
	t.Helper()
	return run(t, "pdfsig", "-nssdir", s.DB, path)
}

// run runs a tool and fails the test when it cannot be run or fails.
// NSS prints a harmless NSS_Shutdown message on some exits; only the exit
// status counts.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed; run make test, which installs it", name)
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
