package pdf_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/testpki"
	"github.com/signet-pki/signet/pades"
)

// TestWriteTextSignable signs a written text document with pades and
// checks the signature with pades.Verify and poppler's pdfsig.
func TestWriteTextSignable(t *testing.T) {
	var doc bytes.Buffer
	if err := pdf.WriteText(&doc, pdf.TextDocument{
		Title:   "Signable",
		Created: time.Now(),
		Sections: []pdf.TextSection{{Heading: "Facts", Blocks: []pdf.TextBlock{
			{Text: "A paragraph.", Rows: []pdf.TextRow{{Key: "Key", Value: "Value"}}},
		}}},
	}); err != nil {
		t.Fatal(err)
	}
	data := doc.Bytes()
	r, err := pdf.Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if err := pades.CheckSignable(r); err != nil {
		t.Fatalf("CheckSignable: %v", err)
	}
	root, err := testpki.NewRoot("Text Root", testpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := root.IssueSigner("Text Signer", testpki.ECDSAP256, testpki.LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var signed bytes.Buffer
	if err := pades.Sign(context.Background(), &signed, bytes.NewReader(data), int64(len(data)),
		pades.Options{Signer: key, Certificates: []*x509.Certificate{cert}}); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	rep, err := pades.Verify(bytes.NewReader(signed.Bytes()), int64(signed.Len()), pades.VerifyOptions{Roots: roots})
	if err != nil || !rep.Valid || len(rep.Signatures) != 1 {
		t.Fatalf("Verify: %v %+v", err, rep)
	}
	path := filepath.Join(t.TempDir(), "signed.pdf")
	if err := os.WriteFile(path, signed.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	bin, err := exec.LookPath("pdfsig")
	if err != nil {
		t.Fatal("pdfsig is not installed; run make test, which installs it")
	}
	out, _ := exec.Command(bin, path).CombinedOutput()
	if !strings.Contains(string(out), "Signature Validation: Signature is Valid.") {
		t.Errorf("pdfsig:\n%s", out)
	}
}
