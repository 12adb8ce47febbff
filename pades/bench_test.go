package pades_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"math"
	"testing"

	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/testpki"
	"github.com/signet-pki/signet/pades"
)

// benchFixture is an ECDSA P-256 signer under a fresh root, and a sample
// PDF of the requested padding held in memory.
type benchFixture struct {
	opts  pades.Options
	roots *x509.CertPool
	key   *ecdsa.PrivateKey
	doc   []byte
}

func newBenchFixture(b *testing.B, padding int64) *benchFixture {
	b.Helper()
	root, err := testpki.NewRoot("Signet Bench Root", testpki.ECDSAP256)
	if err != nil {
		b.Fatal(err)
	}
	cert, key, err := root.IssueSigner("Signet Bench Signer", testpki.ECDSAP256, testpki.LeafOptions{})
	if err != nil {
		b.Fatal(err)
	}
	ek, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		b.Fatalf("testpki returned a %T for ECDSA P-256", key)
	}
	var doc bytes.Buffer
	if err := pdf.WriteSample(&doc, pdf.SampleOptions{Pages: 2, Title: "Signet benchmark", Lines: []string{"in-memory"}, Padding: padding}); err != nil {
		b.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	return &benchFixture{
		opts:  pades.Options{Signer: key, Certificates: []*x509.Certificate{cert}, Level: pades.LevelBB},
		roots: roots,
		key:   ek,
		doc:   doc.Bytes(),
	}
}

// sign signs f.doc into out, which is reset first.
func (f *benchFixture) sign(b *testing.B, out *bytes.Buffer) {
	out.Reset()
	if err := pades.Sign(context.Background(), out, bytes.NewReader(f.doc), int64(len(f.doc)), f.opts); err != nil {
		b.Fatal(err)
	}
}

func benchmarkSign(b *testing.B, padding int64) {
	f := newBenchFixture(b, padding)
	var out bytes.Buffer
	out.Grow(len(f.doc) + 64<<10)
	b.SetBytes(int64(len(f.doc)))
	b.ReportAllocs()
	for b.Loop() {
		f.sign(b, &out)
	}
}

// BenchmarkSign measures an in-memory PAdES B-B signature of a small
// (about 2 KB) PDF with an ECDSA P-256 key: parsing, the incremental
// update, hashing, the CMS and the signature itself.
func BenchmarkSign(b *testing.B) { benchmarkSign(b, 0) }

// BenchmarkSign16MB is BenchmarkSign on a 16 MB PDF, where hashing and
// copying the document dominate; its MB/s is the signing throughput.
func BenchmarkSign16MB(b *testing.B) { benchmarkSign(b, 8<<20) }

// BenchmarkSignWidgets is BenchmarkSign with the filled fields of a
// typical envelope: a typed date, a typed signature and a drawn one of
// 300 points, and initials on the second page.
func BenchmarkSignWidgets(b *testing.B) {
	f := newBenchFixture(b, 0)
	drawing := make([][]pades.Point, 3)
	for i := range drawing {
		for j := range 100 {
			t := float64(j) / 99
			drawing[i] = append(drawing[i], pades.Point{X: t, Y: 0.5 + 0.4*math.Sin(t*6+float64(i))})
		}
	}
	f.opts.Widgets = []pades.Widget{
		{Page: 1, X: 72, Y: 600, W: 150, H: 30, Text: "2026-12-06"},
		{Page: 1, X: 72, Y: 500, W: 220, H: 40, Text: "Signet Bench Signer", Script: true},
		{Page: 1, X: 320, Y: 500, W: 200, H: 60, Strokes: drawing},
		{Page: 2, X: 480, Y: 40, W: 60, H: 30, Text: "SBS", Script: true},
	}
	var out bytes.Buffer
	out.Grow(len(f.doc) + 64<<10)
	b.SetBytes(int64(len(f.doc)))
	b.ReportAllocs()
	for b.Loop() {
		f.sign(b, &out)
	}
	b.StopTimer()
	rep, err := pades.Verify(bytes.NewReader(out.Bytes()), int64(out.Len()), pades.VerifyOptions{Roots: f.roots})
	if err != nil || !rep.Valid {
		b.Fatalf("the signed document does not verify: %v", err)
	}
}

func benchmarkVerify(b *testing.B, padding int64) {
	f := newBenchFixture(b, padding)
	var signed bytes.Buffer
	f.sign(b, &signed)
	doc := signed.Bytes()
	opts := pades.VerifyOptions{Roots: f.roots}
	rep, err := pades.Verify(bytes.NewReader(doc), int64(len(doc)), opts)
	if err != nil {
		b.Fatal(err)
	}
	if !rep.Valid || len(rep.Signatures) != 1 {
		b.Fatalf("the signed fixture does not verify: valid=%v, %d signatures", rep.Valid, len(rep.Signatures))
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pades.Verify(bytes.NewReader(doc), int64(len(doc)), opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerify measures validating the file BenchmarkSign produces:
// byte range, digest, CMS signature, certificate chain and the changes
// after signing.
func BenchmarkVerify(b *testing.B) { benchmarkVerify(b, 0) }

// BenchmarkVerify16MB is BenchmarkVerify on the 16 MB file of
// BenchmarkSign16MB.
func BenchmarkVerify16MB(b *testing.B) { benchmarkVerify(b, 8<<20) }

// BenchmarkRawECDSASign is the floor under BenchmarkSign: one ECDSA P-256
// signature (crypto/ecdsa SignASN1) over a SHA-256 digest, with nothing
// else.
func BenchmarkRawECDSASign(b *testing.B) {
	f := newBenchFixture(b, 0)
	digest := sha256.Sum256(f.doc)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ecdsa.SignASN1(rand.Reader, f.key, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}
