package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
)

// KeyAlg names a key type and size that testpki can generate.
type KeyAlg string

// The key algorithms Signet signs with.
const (
	ECDSAP256 KeyAlg = "ecdsa-p256"
	ECDSAP384 KeyAlg = "ecdsa-p384"
	RSA2048   KeyAlg = "rsa-2048"
	RSA3072   KeyAlg = "rsa-3072"
	RSA4096   KeyAlg = "rsa-4096"
)

// KeyAlgs lists every supported KeyAlg, smallest and fastest first.
var KeyAlgs = []KeyAlg{ECDSAP256, ECDSAP384, RSA2048, RSA3072, RSA4096}

// NewKey generates a fresh private key of the given algorithm.
func NewKey(alg KeyAlg) (crypto.Signer, error) {
	switch alg {
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECDSAP384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case RSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case RSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	}
	return nil, fmt.Errorf("testpki: unknown key algorithm %q", alg)
}
