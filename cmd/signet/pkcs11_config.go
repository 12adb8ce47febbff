package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/signet-pki/signet/keyref"
)

// Environment variables for PKCS#11 keys, read only when the pkcs11: URI
// does not say.
const (
	envPKCS11Module = "SIGNET_PKCS11_MODULE"
	envPKCS11PIN    = "SIGNET_PKCS11_PIN"
	// defaultPKCS11Module is Debian's SoftHSM2 module.
	defaultPKCS11Module = "/usr/lib/softhsm/libsofthsm2.so"
)

// pkcs11Ref is what signet sign needs from a pkcs11: URI (RFC 7512) and
// the environment to reach a key.
type pkcs11Ref struct {
	module, token, pin string
	object             string
	id                 []byte
}

// resolvePKCS11 checks that u names a token by label and a private key by
// label or id, and finds the module (module-path, $SIGNET_PKCS11_MODULE,
// or Debian's SoftHSM2) and the PIN (pin-value, pin-source, or
// $SIGNET_PKCS11_PIN). Its errors never contain the PIN.
func resolvePKCS11(u *keyref.PKCS11URI, getenv func(string) string) (*pkcs11Ref, error) {
	r := &pkcs11Ref{token: u.Token, object: u.Object, id: u.ID}
	switch {
	case u.SlotID != nil || u.SlotDescription != "" || u.SlotManufacturer != "":
		return nil, errors.New("select the token by label (token=...), not by slot")
	case u.Token == "":
		return nil, errors.New("the URI names no token: add token=LABEL")
	case u.Object == "" && len(u.ID) == 0:
		return nil, errors.New("the URI names no key: add object=LABEL or id=HEX")
	case u.Type != "" && u.Type != "private":
		return nil, fmt.Errorf("type=%s: signing needs the private key (type=private or no type)", u.Type)
	}
	switch {
	case u.ModulePath != "":
		r.module = u.ModulePath
	case getenv(envPKCS11Module) != "":
		r.module = getenv(envPKCS11Module)
	case u.ModuleName != "":
		return nil, fmt.Errorf("module-name=%s: give module-path=/path/to/module.so or $%s instead", u.ModuleName, envPKCS11Module)
	default:
		r.module = defaultPKCS11Module
	}
	switch {
	case u.PINValue != "":
		r.pin = u.PINValue
	case u.PINSource != "":
		pin, err := readPINSource(u.PINSource)
		if err != nil {
			return nil, err
		}
		r.pin = pin
	case getenv(envPKCS11PIN) != "":
		r.pin = getenv(envPKCS11PIN)
	default:
		return nil, fmt.Errorf("no PIN: add pin-source=file:/path to the URI or set $%s", envPKCS11PIN)
	}
	return r, nil
}

// readPINSource reads the PIN from a pin-source (RFC 7512 §2.3): a file:
// URI or a plain path. The first line is the PIN.
func readPINSource(src string) (string, error) {
	path := src
	if strings.HasPrefix(src, "file:") {
		pu, err := url.Parse(src)
		if err != nil || pu.Path == "" || (pu.Host != "" && pu.Host != "localhost") {
			return "", errors.New("pin-source: want file:/absolute/path")
		}
		path = pu.Path
	} else if strings.Contains(src, ":") || strings.HasPrefix(src, "|") {
		return "", errors.New("pin-source: only files are supported (file:/path or a path)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("pin-source: %w", err)
	}
	pin, _, _ := strings.Cut(string(data), "\n")
	pin = strings.TrimSuffix(pin, "\r")
	if pin == "" {
		return "", fmt.Errorf("pin-source: %s is empty", path)
	}
	return pin, nil
}

// pkcs11Chain reads the signer certificate (--cert) and the intermediates
// (--chain) for a key on a token, which holds no certificate here.
func pkcs11Chain(opts keyref.Options) ([]*x509.Certificate, error) {
	if opts.CertFile == "" {
		return nil, fmt.Errorf("%w: a pkcs11: key needs --cert", keyref.ErrNoCertificate)
	}
	chain, err := keyref.ReadCertificates(opts.CertFile)
	if err != nil {
		return nil, err
	}
	if opts.ChainFile != "" {
		more, err := keyref.ReadCertificates(opts.ChainFile)
		if err != nil {
			return nil, err
		}
		chain = append(chain, more...)
	}
	return chain, nil
}
