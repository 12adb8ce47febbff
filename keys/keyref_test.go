package keys_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/signet-pki/signet/keyref"
	"github.com/signet-pki/signet/keys"
)

// keyrefOptions writes a self-signed certificate for pub (or a throwaway
// file if pub is nil) and returns options naming it.
func keyrefOptions(t *testing.T, s crypto.Signer) keyref.Options {
	t.Helper()
	path := filepath.Join(t.TempDir(), "cert.pem")
	if s != nil {
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Signet key store signer"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, s.Public(), s)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return keyref.Options{CertFile: path}
}

func TestOpenRef(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	k := f.create(t, keys.CreateRequest{Purpose: keys.PurposeDocumentSigning})
	s, _, err := f.m.Signer(ctx, k.ID, keys.PurposeDocumentSigning)
	if err != nil {
		t.Fatal(err)
	}
	opts := keyrefOptions(t, s)
	opts.Store = f.m.OpenRef
	key, err := keyref.Open("signet:"+k.ID, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer key.Close()
	sign(t, key.Signer)

	// A certificate for another key is refused by keyref's own check.
	other := f.create(t, keys.CreateRequest{Purpose: keys.PurposeDocumentSigning})
	if _, err := keyref.Open("signet:"+other.ID, opts); !errors.Is(err, keyref.ErrKeyMismatch) {
		t.Errorf("mismatched certificate: err = %v, want ErrKeyMismatch", err)
	}
	if _, err := keyref.Open("signet:nope", opts); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("unknown key: err = %v, want ErrNotFound", err)
	}
}
