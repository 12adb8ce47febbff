package pades

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/signet-pki/signet/tsa"
)

// TestValidationData extracts the validation material of signed PDFs: a
// B-LTA file yields its signer, its chain and the TSA's certificate, the
// revocation data of its DSS, and both time-stamp tokens (the
// signature's, then the document time-stamp); a B-B file only its
// signer's certificates; an unsigned file nothing.
func TestValidationData(t *testing.T) {
	p := newLTVPKI(t)
	read := func(path string) *Validation {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		v, err := ValidationData(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("ValidationData: %v", err)
		}
		return v
	}
	has := func(v *Validation, cn string) bool {
		for _, c := range v.Certs {
			if c.Subject.CommonName == cn {
				return true
			}
		}
		return false
	}

	lta := read(signToFile(t, corpusPath("classic.pdf"), p.options(LevelBLTA)))
	for _, cn := range []string{"Long Term Signer", "Long Term TSA", p.root.Cert.Subject.CommonName} {
		if !has(lta, cn) {
			t.Errorf("B-LTA: no certificate %q among %d", cn, len(lta.Certs))
		}
	}
	if len(lta.OCSPs)+len(lta.CRLs) == 0 {
		t.Error("B-LTA: no revocation data from the DSS")
	}
	if len(lta.Timestamps) != 2 {
		t.Fatalf("B-LTA: %d time-stamp tokens, want 2", len(lta.Timestamps))
	}
	for i, der := range lta.Timestamps {
		if _, err := tsa.ParseToken(der); err != nil {
			t.Errorf("token %d: %v", i, err)
		}
	}

	bb := read(signToFile(t, corpusPath("classic.pdf"), p.options(LevelBB)))
	if !has(bb, "Long Term Signer") || len(bb.Timestamps) != 0 || len(bb.OCSPs)+len(bb.CRLs) != 0 {
		t.Errorf("B-B: %d certificates, %d tokens, %d OCSP, %d CRL", len(bb.Certs), len(bb.Timestamps), len(bb.OCSPs), len(bb.CRLs))
	}

	plain := read(corpusPath("classic.pdf"))
	if len(plain.Certs)+len(plain.Timestamps)+len(plain.OCSPs)+len(plain.CRLs) != 0 {
		t.Errorf("unsigned PDF: %+v", plain)
	}

	if _, err := ValidationData(bytes.NewReader([]byte("not a pdf")), 9); err == nil {
		t.Error("not a PDF: no error")
	}
}

// FuzzValidationData runs ValidationData on arbitrary bytes: material or
// an error, never a panic or a hang; every token it returns parses.
// Seeds are the sample corpus (one file signed by pdfsig).
func FuzzValidationData(f *testing.F) {
	paths, err := filepath.Glob(corpusPath("*.pdf"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no sample PDFs: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ValidationData(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for i, der := range v.Timestamps {
			if _, err := tsa.ParseToken(der); err != nil {
				t.Errorf("token %d does not parse: %v", i, err)
			}
		}
		for i, c := range v.Certs {
			if c == nil || len(c.Raw) == 0 {
				t.Errorf("certificate %d is empty", i)
			}
		}
	})
}
