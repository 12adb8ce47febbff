package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"math/big"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/pdf/pdftest"
	"github.com/signet-pki/signet/internal/testpki"
	"github.com/signet-pki/signet/tsa"
)

// corpus lists the sample documents of testdata/pdf that must be signable,
// with the structure each exercises (see testdata/pdf/README.md).
var corpus = []string{
	"classic.pdf",       // classic cross-reference table (qpdf)
	"xrefstream.pdf",    // xref stream, catalog and pages in object streams (qpdf)
	"linearized.pdf",    // linearized (qpdf)
	"ghostscript.pdf",   // ghostscript pdfwrite
	"cairo.pdf",         // poppler's cairo backend
	"mupdf.pdf",         // mutool create
	"acroform.pdf",      // AcroForm with a text field and an empty signature field
	"emptyform.pdf",     // direct AcroForm with an empty /Fields
	"incremental.pdf",   // an earlier incremental update
	"hybrid.pdf",        // hybrid-reference file (/XRefStm)
	"signed-pdfsig.pdf", // already signed by poppler/NSS
}

func corpusPath(name string) string { return filepath.Join("..", "testdata", "pdf", name) }

// TestSignCorpusTwiceBT signs every sample twice at B-T and checks the result
// with pdfsig, qpdf, openssl cms/ts and Verify.
func TestSignCorpusTwiceBT(t *testing.T) {
	p := sharedPKI(t)
	for _, name := range corpus {
		t.Run(name, func(t *testing.T) {
			one := signFile(t, corpusPath(name), p.options(LevelBT))
			two := signFile(t, one, p.options(LevelBT))
			want := 2
			if name == "signed-pdfsig.pdf" {
				want = 3
			}
			checkPdfsig(t, two, want)
			checkQpdf(t, two)
			roots := p.roots
			if name == "signed-pdfsig.pdf" {
				other, err := os.ReadFile(corpusPath("signed-pdfsig-root.pem"))
				if err != nil {
					t.Fatal(err)
				}
				roots = roots.Clone()
				roots.AppendCertsFromPEM(other)
			}
			rep := verifyFile(t, two, roots)
			requireValid(t, rep, want)
			for _, s := range rep.Signatures[want-2:] {
				if s.Level != "PAdES-B-T" || s.TimestampTime == nil {
					t.Errorf("%s: level %s, timestamp %v; want PAdES-B-T with a time", s.Field, s.Level, s.TimestampTime)
				}
			}
			ours := &Report{Signatures: rep.Signatures[want-2:]}
			checkOpenSSL(t, two, p.rootPEM, ours)
		})
	}
}

// TestThreeSignatures makes three sequential B-T signatures; each stays
// valid and earlier ones report the later ones as permitted changes.
func TestThreeSignatures(t *testing.T) {
	p := sharedPKI(t)
	path := corpusPath("classic.pdf")
	for i := 0; i < 3; i++ {
		o := p.options(LevelBT)
		o.Reason = "round " + string(rune('1'+i))
		path = signFile(t, path, o)
	}
	checkPdfsig(t, path, 3)
	checkQpdf(t, path)
	rep := verifyFile(t, path, p.roots)
	requireValid(t, rep, 3)
	checkOpenSSL(t, path, p.rootPEM, rep)
	if got := len(rep.Signatures[0].PermittedChanges); got != 2 {
		t.Errorf("first signature lists %d permitted later changes, want 2: %v", got, rep.Signatures[0].PermittedChanges)
	}
	if !rep.Signatures[2].CoversWholeFile || rep.Signatures[0].CoversWholeFile {
		t.Errorf("covers-whole-file flags wrong")
	}
}

// TestAlgorithms signs with every supported key type and digest.
func TestAlgorithms(t *testing.T) {
	p := sharedPKI(t)
	cases := []struct {
		alg    testpki.KeyAlg
		hash   crypto.Hash
		pss    bool
		sigAlg string
	}{
		{testpki.ECDSAP256, crypto.SHA256, false, "ECDSA-SHA256"},
		{testpki.ECDSAP384, crypto.SHA384, false, "ECDSA-SHA384"},
		{testpki.ECDSAP384, crypto.SHA512, false, "ECDSA-SHA512"},
		{testpki.RSA2048, crypto.SHA256, false, "SHA256-RSA"},
		{testpki.RSA2048, crypto.SHA256, true, "SHA256-RSAPSS"},
		{testpki.RSA3072, crypto.SHA384, true, "SHA384-RSAPSS"},
		{testpki.RSA4096, crypto.SHA512, false, "SHA512-RSA"},
	}
	for _, c := range cases {
		name := string(c.alg) + "-" + c.hash.String()
		if c.pss {
			name += "-pss"
		}
		t.Run(name, func(t *testing.T) {
			cert, key, err := p.root.IssueSigner("Algo "+name, c.alg, testpki.LeafOptions{})
			if err != nil {
				t.Fatal(err)
			}
			o := Options{Signer: key, Certificates: []*x509.Certificate{cert}, Hash: c.hash, PSS: c.pss, Level: LevelBT,
				Timestamper: &tsa.Client{URLs: []string{p.tsaURL}}}
			out := signFile(t, corpusPath("xrefstream.pdf"), o)
			rep := verifyFile(t, out, p.roots)
			requireValid(t, rep, 1)
			if got := rep.Signatures[0].SignatureAlgorithm; got != c.sigAlg {
				t.Errorf("signature algorithm %s, want %s", got, c.sigAlg)
			}
			checkOpenSSL(t, out, p.rootPEM, rep)
			checkPdfsig(t, out, 1)
		})
	}
}

// TestCertification covers DocMDP: P=2 permits a later approval signature,
// P=1 refuses any further signature, and certification must come first.
func TestCertification(t *testing.T) {
	p := sharedPKI(t)
	o := p.options(LevelBT)
	o.Certify = 2
	cert2 := signFile(t, corpusPath("acroform.pdf"), o)
	both := signFile(t, cert2, p.options(LevelBT))
	rep := verifyFile(t, both, p.roots)
	requireValid(t, rep, 2)
	if rep.Signatures[0].Kind != "certification" || rep.Signatures[0].DocMDP != 2 {
		t.Errorf("first signature: kind %s P=%d, want certification P=2", rep.Signatures[0].Kind, rep.Signatures[0].DocMDP)
	}
	checkPdfsig(t, both, 2)
	checkQpdf(t, both)

	o.Certify = 1
	cert1 := signFile(t, corpusPath("classic.pdf"), o)
	data, _ := os.ReadFile(cert1)
	err := Sign(context.Background(), &bytes.Buffer{}, bytes.NewReader(data), int64(len(data)), p.options(LevelBB))
	if !errors.Is(err, ErrCertified) {
		t.Errorf("signing a P=1 document: %v, want ErrCertified", err)
	}
	// CheckSignable tells the same before any signing is attempted, and
	// passes the P=2 and uncertified documents.
	for path, want := range map[string]error{cert1: ErrCertified, cert2: nil, corpusPath("classic.pdf"): nil} {
		b, _ := os.ReadFile(path)
		r, err := pdf.Open(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckSignable(r); !errors.Is(err, want) || (want == nil && err != nil) {
			t.Errorf("CheckSignable(%s) = %v, want %v", filepath.Base(path), err, want)
		}
	}
	o.Certify = 3
	data, _ = os.ReadFile(both)
	err = Sign(context.Background(), &bytes.Buffer{}, bytes.NewReader(data), int64(len(data)), o)
	if !errors.Is(err, ErrAlreadySigned) {
		t.Errorf("certifying a signed document: %v, want ErrAlreadySigned", err)
	}
}

// TestSignKeepsDecodingBudget signs a decompression bomb whose form
// fields sit in twelve object streams of 32 MiB each: reading the fields
// exceeds the default decoding budget, and Sign fails with ErrBudget
// instead of inflating 384 MiB.
func TestSignKeepsDecodingBudget(t *testing.T) {
	p := sharedPKI(t)
	bomb := pdftest.Bomb(12, 32<<20)
	err := Sign(context.Background(), &bytes.Buffer{}, bytes.NewReader(bomb), int64(len(bomb)), p.options(LevelBB))
	if !errors.Is(err, pdf.ErrBudget) {
		t.Fatalf("signing a decompression bomb: %v, want pdf.ErrBudget", err)
	}
}

// TestTSAFailsClosed: a TSA that answers with a wrong nonce or imprint, or
// not at all, makes signing fail; no B-B fallback.
func TestTSAFailsClosed(t *testing.T) {
	p := sharedPKI(t)
	cases := map[string]func(*tsa.Request){
		"wrong nonce":   func(r *tsa.Request) { r.Nonce = new(big.Int).Add(r.Nonce, big.NewInt(1)) },
		"wrong imprint": func(r *tsa.Request) { r.Digest[0] ^= 0xff },
	}
	data, _ := os.ReadFile(corpusPath("classic.pdf"))
	for name, rewrite := range cases {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(tamperingTSA(p.tsaSrv, rewrite))
			defer srv.Close()
			o := p.options(LevelBT)
			o.Timestamper = &tsa.Client{URLs: []string{srv.URL}}
			err := Sign(context.Background(), &bytes.Buffer{}, bytes.NewReader(data), int64(len(data)), o)
			if !errors.Is(err, tsa.ErrNoToken) {
				t.Fatalf("Sign with %s: %v, want an error wrapping tsa.ErrNoToken", name, err)
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		o := p.options(LevelBT)
		o.Timestamper = &tsa.Client{URLs: []string{"http://127.0.0.1:1/"}, Timeout: time.Second}
		err := Sign(context.Background(), &bytes.Buffer{}, bytes.NewReader(data), int64(len(data)), o)
		if !errors.Is(err, tsa.ErrNoToken) {
			t.Fatalf("Sign: %v, want tsa.ErrNoToken", err)
		}
	})
	t.Run("B-T without TSA", func(t *testing.T) {
		o := p.options(LevelBB)
		o.Level = LevelBT
		err := Sign(context.Background(), &bytes.Buffer{}, bytes.NewReader(data), int64(len(data)), o)
		if !errors.Is(err, ErrNoTimestamp) {
			t.Fatalf("Sign: %v, want ErrNoTimestamp", err)
		}
	})
}

// TestBadInput checks that unusable documents and keys give one clear error.
func TestBadInput(t *testing.T) {
	p := sharedPKI(t)
	expired, expKey, err := p.root.IssueSigner("Expired Signer", testpki.ECDSAP256, testpki.LeafOptions{
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := p.root.IssueSigner("Someone Else", testpki.ECDSAP256, testpki.LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		file    string
		opts    func(*Options)
		want    error
		wantMsg string
	}{
		{"notpdf.pdf", nil, pdf.ErrNotPDF, "not a PDF"},
		{"truncated.pdf", nil, pdf.ErrNoStartXref, "truncated"},
		{"broken-xref.pdf", nil, pdf.ErrBrokenXref, "cross-reference"},
		{"encrypted.pdf", nil, pdf.ErrEncrypted, "encrypted"},
		{"classic.pdf", func(o *Options) { o.Signer, o.Certificates = expKey, []*x509.Certificate{expired} }, ErrCertificateExpired, "not valid at the signing time"},
		{"classic.pdf", func(o *Options) { o.Certificates = []*x509.Certificate{other} }, nil, "does not match"},
	}
	for _, c := range cases {
		t.Run(c.file+"/"+c.wantMsg, func(t *testing.T) {
			data, err := os.ReadFile(corpusPath(c.file))
			if err != nil {
				t.Fatal(err)
			}
			o := p.options(LevelBB)
			if c.opts != nil {
				c.opts(&o)
			}
			err = Sign(context.Background(), &bytes.Buffer{}, bytes.NewReader(data), int64(len(data)), o)
			if err == nil || (c.want != nil && !errors.Is(err, c.want)) || !strings.Contains(err.Error(), c.wantMsg) {
				t.Fatalf("Sign: %v, want %v containing %q", err, c.want, c.wantMsg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

// TestVisible adds a visible signature with a text appearance.
func TestVisible(t *testing.T) {
	p := sharedPKI(t)
	o := p.options(LevelBB)
	o.Visible = &Visible{Page: 2, X: 72, Y: 72, W: 220, H: 50}
	o.Reason = "Approved"
	out := signFile(t, corpusPath("ghostscript.pdf"), o)
	checkPdfsig(t, out, 1)
	checkQpdf(t, out)
	requireValid(t, verifyFile(t, out, p.roots), 1)
	o.Visible = &Visible{Page: 9, X: 1, Y: 1, W: 10, H: 10}
	data, _ := os.ReadFile(corpusPath("ghostscript.pdf"))
	if err := Sign(context.Background(), &bytes.Buffer{}, bytes.NewReader(data), int64(len(data)), o); err == nil || !strings.Contains(err.Error(), "page 9") {
		t.Errorf("visible signature on a missing page: %v", err)
	}
}

// TestContentsTooSmall: a CMS that does not fit is an error, not a
// truncation.
func TestContentsTooSmall(t *testing.T) {
	p := sharedPKI(t)
	o := p.options(LevelBB)
	o.ContentsSize = 100
	data, _ := os.ReadFile(corpusPath("classic.pdf"))
	err := Sign(context.Background(), &bytes.Buffer{}, bytes.NewReader(data), int64(len(data)), o)
	if !errors.Is(err, ErrContentsTooSmall) {
		t.Fatalf("Sign: %v, want ErrContentsTooSmall", err)
	}
}
