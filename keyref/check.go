package keyref

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
)

// check enforces the invariants of a resolved Key: a chain with the key's
// certificate first, a certificate that matches the signer, and a supported
// key type. keySrc and certSrc name the files for error messages; certSrc
// is empty when the certificate came with the key.
func check(k *Key, keySrc, certSrc string) error {
	if len(k.Chain) == 0 || k.Chain[0] == nil {
		return errorf(ErrNoCertificate, "no certificate for the key in %s", keySrc)
	}
	if err := checkAlgorithm(k.Signer.Public(), keySrc); err != nil {
		return err
	}
	type equaler interface {
		Equal(crypto.PublicKey) bool
	}
	pub, ok := k.Signer.Public().(equaler)
	if !ok || !pub.Equal(k.Chain[0].PublicKey) {
		if certSrc == "" || certSrc == keySrc {
			return errorf(ErrKeyMismatch, "the certificate in %s does not match its private key", keySrc)
		}
		return errorf(ErrKeyMismatch, "certificate %s does not match the private key in %s", certSrc, keySrc)
	}
	return nil
}

// checkAlgorithm accepts RSA keys of 2048 to 4096 bits and ECDSA keys on
// P-256 or P-384, the keys ETSI TS 119 312 lists for signatures and that
// Signet signs with.
func checkAlgorithm(pub crypto.PublicKey, src string) error {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if n := p.N.BitLen(); n < 2048 || n > 4096 {
			return errorf(ErrUnsupportedKey, "unsupported key in %s: RSA %d bits (want RSA 2048-4096 or ECDSA P-256/P-384)", src, n)
		}
		return nil
	case *ecdsa.PublicKey:
		if p.Curve == elliptic.P256() || p.Curve == elliptic.P384() {
			return nil
		}
		return errorf(ErrUnsupportedKey, "unsupported key in %s: ECDSA %s (want RSA 2048-4096 or ECDSA P-256/P-384)", src, p.Curve.Params().Name)
	}
	return errorf(ErrUnsupportedKey, "unsupported key in %s: %s (want RSA 2048-4096 or ECDSA P-256/P-384)", src, keyTypeName(pub))
}

func keyTypeName(pub crypto.PublicKey) string {
	// The dynamic type only: never the key's value.
	return fmt.Sprintf("key type %T", pub)
}

// orderChain returns leaf followed by the certificates of pool in issuing
// order (each certificate's issuer after it), then any certificates that do
// not link, in their original order. Duplicates of leaf are dropped.
func orderChain(leaf *x509.Certificate, pool []*x509.Certificate) []*x509.Certificate {
	chain := []*x509.Certificate{leaf}
	used := make([]bool, len(pool))
	for i, c := range pool {
		if c == nil || c.Equal(leaf) {
			used[i] = true
		}
	}
	for cur := leaf; ; {
		next := -1
		for i, c := range pool {
			if !used[i] && bytes.Equal(cur.RawIssuer, c.RawSubject) && cur.CheckSignatureFrom(c) == nil {
				next = i
				break
			}
		}
		if next < 0 || bytes.Equal(cur.RawIssuer, cur.RawSubject) {
			break
		}
		used[next] = true
		cur = pool[next]
		chain = append(chain, cur)
	}
	for i, c := range pool {
		if !used[i] {
			chain = append(chain, c)
		}
	}
	return chain
}
