package testpki

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

// WritePEM writes certs to path as a sequence of PEM "CERTIFICATE" blocks
// (RFC 7468 §5), in the order given, replacing any existing file.
func WritePEM(path string, certs ...*x509.Certificate) error {
	var buf []byte
	for _, c := range certs {
		buf = append(buf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		return fmt.Errorf("testpki: %w", err)
	}
	return nil
}

// WriteKeyPEM writes key to path as an unencrypted PKCS#8 "PRIVATE KEY" PEM
// block (RFC 5958, RFC 7468 §10) readable only by its owner (mode 0600).
func WriteKeyPEM(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("testpki: encode key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("testpki: %w", err)
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("testpki: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return fmt.Errorf("testpki: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("testpki: %w", err)
	}
	return nil
}
