package cms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"testing"
)

// benchKinds are the keys the sign and verify benchmarks compare.
var benchKinds = []string{"p256", "rsa2048"}

// BenchmarkSign measures Sign plus Marshal of a detached SHA-256 signature,
// i.e. the CMS cost of one PAdES signature beyond hashing the document.
func BenchmarkSign(b *testing.B) {
	for _, kind := range benchKinds {
		b.Run(kind, func(b *testing.B) {
			key := testKey(b, kind)
			ca := rootCA(b)
			cert := ca.issue(b, key.Public(), 3000, "Bench "+kind)
			digest := sha256.Sum256([]byte("document byte ranges"))
			opts := SignOptions{Hash: crypto.SHA256, Certificates: []*x509.Certificate{cert, ca.cert}}
			b.ReportAllocs()
			for b.Loop() {
				sd, err := Sign(key, digest[:], opts)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := sd.Marshal(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify measures Parse plus Verify of a detached SHA-256
// signature.
func BenchmarkVerify(b *testing.B) {
	for _, kind := range benchKinds {
		b.Run(kind, func(b *testing.B) {
			key := testKey(b, kind)
			ca := rootCA(b)
			cert := ca.issue(b, key.Public(), 3001, "Bench "+kind)
			digest := sha256.Sum256([]byte("document byte ranges"))
			sd, err := Sign(key, digest[:], SignOptions{Hash: crypto.SHA256, Certificates: []*x509.Certificate{cert, ca.cert}})
			if err != nil {
				b.Fatal(err)
			}
			der, err := sd.Marshal()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				p, err := Parse(der)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := p.Verify(digest[:]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkECDSASignASN1 is the floor for BenchmarkSign/p256: one raw
// ecdsa.SignASN1 over a SHA-256 digest, with no CMS around it.
func BenchmarkECDSASignASN1(b *testing.B) {
	key := testKey(b, "p256").(*ecdsa.PrivateKey)
	digest := sha256.Sum256([]byte("document byte ranges"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ecdsa.SignASN1(rand.Reader, key, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}
