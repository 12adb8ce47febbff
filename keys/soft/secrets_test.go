package soft_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"math/big"
	"testing"

	"github.com/signet-pki/signet/keys/soft"
)

type bigInt = big.Int

// privateBytes returns the private scalars of handle h. Only tests can get
// at them, by reaching into the signer through the crypto.Signer's
// concrete key type via the test-only export.
func privateBytes(t *testing.T, b *soft.Backend, h string) [][]byte {
	t.Helper()
	priv, err := soft.PrivateKeyForTest(context.Background(), b, h)
	if err != nil {
		t.Fatal(err)
	}
	switch k := priv.(type) {
	case *ecdsa.PrivateKey:
		d, _ := k.Bytes()
		return [][]byte{d}
	case *rsa.PrivateKey:
		return [][]byte{k.D.Bytes(), k.Primes[0].Bytes(), k.Primes[1].Bytes()}
	case ed25519.PrivateKey:
		return [][]byte{k.Seed()}
	}
	t.Fatalf("unexpected key type %T", priv)
	return nil
}
