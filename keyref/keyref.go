package keyref

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Key is a resolved signing key with its certificate chain.
type Key struct {
	// Signer signs with the private key. For hardware and remote keys it
	// is only usable until Close is called.
	Signer crypto.Signer
	// Chain holds the key's certificate at index 0, followed by the
	// certificates that lead towards a root, issuer first.
	Chain []*x509.Certificate
	// Close releases what the key holds (a PKCS#11 session, a connection).
	// It is never nil; calling it more than once is the backend's business
	// and should be avoided.
	Close func() error
}

// Options carries what a reference may need beyond itself.
type Options struct {
	// CertFile names the signer's certificate, PEM or DER, for key sources
	// that hold no certificate (plain private key files). Further PEM
	// certificates in the same file are appended to the chain.
	CertFile string
	// ChainFile names PEM (or single DER) certificates of the issuing CAs.
	ChainFile string
	// Password is called only when a PKCS#12 file or an encrypted private
	// key needs a password. The returned bytes are not kept.
	Password func() ([]byte, error)
	// PKCS11 opens a key on a PKCS#11 token. Nil until a PKCS#11 backend
	// is wired in: pkcs11: references then fail with ErrBackendUnavailable.
	PKCS11 func(u *PKCS11URI, opts Options) (*Key, error)
	// Store opens a "signet:" reference from Signet's key store. Nil means
	// signet: references fail with ErrBackendUnavailable.
	Store func(ref string, opts Options) (*Key, error)
}

// Errors that callers branch on. Errors returned by Open wrap one of these
// where it applies; test with errors.Is.
var (
	// ErrBackendUnavailable means the reference names a backend (PKCS#11,
	// key store) that the caller did not provide.
	ErrBackendUnavailable = errors.New("keyref: backend unavailable")
	// ErrKeyMismatch means the certificate's public key is not the key's.
	ErrKeyMismatch = errors.New("keyref: certificate does not match key")
	// ErrUnsupportedKey means the key is not RSA 2048–4096 or ECDSA
	// P-256/P-384.
	ErrUnsupportedKey = errors.New("keyref: unsupported key")
	// ErrPassword means the password was wrong or none was available.
	ErrPassword = errors.New("keyref: wrong password")
	// ErrNoCertificate means no certificate was found for the key.
	ErrNoCertificate = errors.New("keyref: no certificate")
	// ErrNoKey means the file holds no private key Signet can read.
	ErrNoKey = errors.New("keyref: no private key")
	// ErrInvalidURI means a pkcs11: reference is not a valid RFC 7512 URI.
	ErrInvalidURI = errors.New("keyref: invalid PKCS#11 URI")
)

// refError is a one-line message that still matches its sentinel with
// errors.Is.
type refError struct {
	msg string
	err error
}

func (e *refError) Error() string { return e.msg }
func (e *refError) Unwrap() error { return e.err }

// errorf formats a "keyref: "-prefixed message wrapping sentinel.
func errorf(sentinel error, format string, args ...any) error {
	return &refError{msg: "keyref: " + fmt.Sprintf(format, args...), err: sentinel}
}

func noClose() error { return nil }

// Open resolves ref into a signing key and its certificate chain. The forms
// of ref are listed in the package documentation. On success the caller
// must call the returned Key's Close when done.
func Open(ref string, opts Options) (*Key, error) {
	if ref == "" {
		return nil, errors.New("keyref: empty key reference")
	}
	var (
		k   *Key
		err error
		src = ref
	)
	switch {
	case hasPrefixFold(ref, "pkcs11:"):
		u, perr := ParsePKCS11URI(ref)
		if perr != nil {
			return nil, perr
		}
		if opts.PKCS11 == nil {
			return nil, errorf(ErrBackendUnavailable, "PKCS#11 keys are not available in this build (pkcs11: reference)")
		}
		src = u.Redacted()
		if k, err = opts.PKCS11(u, opts); err != nil {
			return nil, fmt.Errorf("keyref: open %s: %w", src, err)
		}
	case strings.HasPrefix(ref, "signet:"):
		if strings.TrimPrefix(ref, "signet:") == "" {
			return nil, errors.New("keyref: signet: reference without a key id")
		}
		if opts.Store == nil {
			return nil, errorf(ErrBackendUnavailable, "the key store is not available here (%s)", ref)
		}
		if k, err = opts.Store(ref, opts); err != nil {
			return nil, fmt.Errorf("keyref: open %s: %w", ref, err)
		}
	case isPKCS12Name(ref):
		k, err = openPKCS12(ref, opts)
	default:
		k, err = openKeyFile(ref, opts)
	}
	if err != nil {
		return nil, err
	}
	if k == nil || k.Signer == nil {
		return nil, errorf(ErrNoKey, "no signing key from %s", src)
	}
	if k.Close == nil {
		k.Close = noClose
	}
	if err := check(k, src, opts.CertFile); err != nil {
		k.Close()
		return nil, err
	}
	return k, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func isPKCS12Name(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".p12" || ext == ".pfx"
}
