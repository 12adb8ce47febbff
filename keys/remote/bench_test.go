package remote_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/signet-pki/signet/keys"
)

// BenchmarkSign compares one ECDSA P-256 signature through the signer
// (HTTPS with mutual TLS on loopback, connections reused) with the same
// signature made by the backend in process.
func BenchmarkSign(b *testing.B) {
	f := startSigner(b, 0)
	c := f.dial(b)
	ctx := context.Background()
	h, _, err := c.Generate(ctx, keys.ECDSAP256, "bench")
	if err != nil {
		b.Fatal(err)
	}
	d := sha256.Sum256([]byte("digest"))
	b.Run("remote", func(b *testing.B) {
		s, err := c.Signer(ctx, h)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := s.Sign(rand.Reader, d[:], crypto.SHA256); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("local", func(b *testing.B) {
		s, err := f.backend.Signer(ctx, h)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := s.Sign(rand.Reader, d[:], crypto.SHA256); err != nil {
				b.Fatal(err)
			}
		}
	})
}
