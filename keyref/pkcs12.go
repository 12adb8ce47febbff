package keyref

import (
	"crypto"
	"errors"
	"fmt"
	"os"

	"software.sslmate.com/src/go-pkcs12"
)

// openPKCS12 reads a PKCS#12 file (RFC 7292). It first tries the empty
// password, which many exports use, and asks opts.Password only if that
// fails. go-pkcs12 reads both the legacy RC2/3DES + SHA-1 files and the
// PBES2/AES + SHA-256 MAC files that OpenSSL 3 writes by default.
func openPKCS12(path string, opts Options) (*Key, error) {
	if opts.CertFile != "" {
		return nil, fmt.Errorf("keyref: %s already holds its certificate: do not give a certificate file with it", path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyref: %w", err)
	}
	priv, cert, cas, err := pkcs12.DecodeChain(data, "")
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		if opts.Password == nil {
			return nil, errorf(ErrPassword, "%s needs a password", path)
		}
		pw, perr := opts.Password()
		if perr != nil {
			return nil, fmt.Errorf("keyref: password for %s: %w", path, perr)
		}
		priv, cert, cas, err = pkcs12.DecodeChain(data, string(pw))
		clear(pw)
	}
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return nil, errorf(ErrPassword, "wrong password for %s", path)
	}
	if err != nil {
		return nil, errorf(ErrNoKey, "cannot read PKCS#12 file %s: %v", path, err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, errorf(ErrUnsupportedKey, "unsupported key in %s: %s", path, fmt.Sprintf("%T", priv))
	}
	if cert == nil {
		return nil, errorf(ErrNoCertificate, "%s holds no certificate for its key", path)
	}
	chain := orderChain(cert, cas)
	if opts.ChainFile != "" {
		extra, err := ReadCertificates(opts.ChainFile)
		if err != nil {
			return nil, err
		}
		chain = orderChain(cert, append(chain[1:], extra...))
	}
	return &Key{Signer: signer, Chain: chain, Close: noClose}, nil
}
