package ca_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"testing"

	"github.com/signet-pki/signet/pki/ca"
	"github.com/signet-pki/signet/tsa"
)

// BenchmarkTSATokens measures RFC 3161 tokens per second from a tsa.Server
// whose ECDSA P-256 certificate the internal CA issued, with certReq set
// (the token carries the TSA and platform CA certificates).
func BenchmarkTSATokens(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	platform, err := f.a.NewIssuing(ctx, ca.IssuingRequest{Name: ca.PlatformName, Signer: newKey(b)})
	if err != nil {
		b.Fatal(err)
	}
	key := newKey(b)
	cert, err := f.a.IssueTSA(ctx, ca.PlatformName, key.Public(), ca.KeyRef{}, 0)
	if err != nil {
		b.Fatal(err)
	}
	srv := &tsa.Server{Signer: key, Certificate: cert, Chain: []*x509.Certificate{platform.Certificate}, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 1, 2}, Hash: crypto.SHA256}
	d := sha256.Sum256([]byte("document"))
	req, err := (&tsa.Request{Hash: crypto.SHA256, Digest: d[:], CertReq: true}).Marshal()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := srv.Respond(req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
}
