package keyref

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
)

// openKeyFile reads a software private key from path and its certificate
// chain from opts.CertFile and opts.ChainFile.
func openKeyFile(path string, opts Options) (*Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyref: %w", err)
	}
	signer, err := parsePrivateKey(data, path, opts.Password)
	clear(data)
	if err != nil {
		return nil, err
	}
	if opts.CertFile == "" {
		return nil, errorf(ErrNoCertificate, "no certificate for the key in %s: give its certificate file (--cert)", path)
	}
	certs, err := ReadCertificates(opts.CertFile)
	if err != nil {
		return nil, err
	}
	var pool []*x509.Certificate
	pool = append(pool, certs[1:]...)
	if opts.ChainFile != "" {
		chain, err := ReadCertificates(opts.ChainFile)
		if err != nil {
			return nil, err
		}
		pool = append(pool, chain...)
	}
	return &Key{Signer: signer, Chain: orderChain(certs[0], pool), Close: noClose}, nil
}

// parsePrivateKey decodes the first private key in data: a PEM block of
// type "PRIVATE KEY" or "ENCRYPTED PRIVATE KEY" (RFC 7468 §10, §11),
// "RSA PRIVATE KEY" (PKCS#1) or "EC PRIVATE KEY" (SEC 1, RFC 5915), or the
// same structures in DER.
func parsePrivateKey(data []byte, path string, password func() ([]byte, error)) (crypto.Signer, error) {
	if bytes.Contains(data, []byte("-----BEGIN")) {
		rest := data
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				return nil, errorf(ErrNoKey, "no private key in %s", path)
			}
			switch block.Type {
			case "PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
				if block.Headers["Proc-Type"] != "" {
					return nil, errorf(ErrNoKey, "%s uses legacy PEM encryption, which Signet does not read: convert it with `openssl pkey -in %s -aes256 -out NEW.pem`", path, path)
				}
				return parseDERKey(block.Bytes, path)
			case "ENCRYPTED PRIVATE KEY":
				return decryptKey(block.Bytes, path, password)
			}
		}
	}
	if k, err := parseDERKey(data, path); err == nil {
		return k, nil
	}
	if isEncryptedPKCS8(data) {
		return decryptKey(data, path, password)
	}
	return nil, errorf(ErrNoKey, "no private key in %s (want PEM or DER PKCS#8, PKCS#1 or SEC 1)", path)
}

func parseDERKey(der []byte, path string) (crypto.Signer, error) {
	var key any
	var err error
	if key, err = x509.ParsePKCS8PrivateKey(der); err != nil {
		if key, err = x509.ParsePKCS1PrivateKey(der); err != nil {
			if key, err = x509.ParseECPrivateKey(der); err != nil {
				return nil, errorf(ErrNoKey, "cannot parse the private key in %s", path)
			}
		}
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, errorf(ErrUnsupportedKey, "unsupported key in %s: %T", path, key)
	}
	return signer, nil
}

// ReadCertificates reads one or more certificates from a PEM file (every
// "CERTIFICATE" block, in order) or a single DER certificate. A file
// without any fails with an error wrapping [ErrNoCertificate].
func ReadCertificates(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyref: %w", err)
	}
	var certs []*x509.Certificate
	if bytes.Contains(data, []byte("-----BEGIN")) {
		rest := data
		for {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			if block.Type != "CERTIFICATE" {
				continue
			}
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, errorf(ErrNoCertificate, "bad certificate in %s: %v", path, err)
			}
			certs = append(certs, c)
		}
	} else if c, err := x509.ParseCertificate(data); err == nil {
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errorf(ErrNoCertificate, "no certificate in %s", path)
	}
	return certs, nil
}
