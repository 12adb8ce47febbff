package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/signet-pki/signet/keyref"
	"github.com/signet-pki/signet/keys"
)

// certFor writes a self-signed certificate for s and returns its path.
func certFor(t *testing.T, s crypto.Signer) string {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Signet key store signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, s.Public(), s)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cert.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOpenSignetRef resolves signet:KEY-ID references through a key store
// in a data directory: a document-signing or platform-seal key with its
// certificate signs through the manager; a mismatched certificate, an
// unknown key, a key of another purpose and a missing certificate are
// refused, the last two before anything is signed, and a refused purpose
// is recorded in the audit log.
func TestOpenSignetRef(t *testing.T) {
	ctx := context.Background()
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	m, d, err := openKeys(ctx, location{dir: t.TempDir()}, env)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	log, err := d.AuditLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	create := func(p keys.Purpose) (*keys.Key, string) {
		k, err := m.Create(ctx, keys.CreateRequest{Purpose: p, Algorithm: keys.ECDSAP256})
		if err != nil {
			t.Fatal(err)
		}
		if p != keys.PurposeDocumentSigning && p != keys.PurposePlatformSeal {
			return k, ""
		}
		s, _, err := m.Signer(ctx, k.ID, p)
		if err != nil {
			t.Fatal(err)
		}
		return k, certFor(t, s)
	}
	signing, signingCert := create(keys.PurposeDocumentSigning)
	seal, sealCert := create(keys.PurposePlatformSeal)
	tsa, _ := create(keys.PurposeTimestamping)
	store := func(ref string, opts keyref.Options) (*keyref.Key, error) { return openSignetRef(m, ref, opts) }

	for _, tc := range []struct {
		name string
		id   string
		cert string
	}{{"document-signing", signing.ID, signingCert}, {"platform-seal", seal.ID, sealCert}} {
		t.Run(tc.name, func(t *testing.T) {
			before := log.Size()
			k, err := keyref.Open("signet:"+tc.id, keyref.Options{CertFile: tc.cert, Store: store})
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			digest := sha256.Sum256([]byte("document"))
			if _, err := k.Signer.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
				t.Fatal(err)
			}
			if log.Size() <= before {
				t.Error("a signature through the reference was not recorded")
			}
		})
	}

	refused := []struct {
		name string
		ref  string
		cert string
		want error
	}{
		{"certificate of another key", "signet:" + seal.ID, signingCert, keyref.ErrKeyMismatch},
		{"unknown key", "signet:nope", signingCert, keys.ErrNotFound},
		{"timestamping key", "signet:" + tsa.ID, signingCert, keys.ErrPurpose},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			before := log.Size()
			_, err := keyref.Open(tc.ref, keyref.Options{CertFile: tc.cert, Store: store})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want == keys.ErrPurpose && log.Size() != before+1 {
				t.Errorf("refused purpose: %d events recorded, want 1", log.Size()-before)
			}
		})
	}
	t.Run("no certificate", func(t *testing.T) {
		if _, err := openSignetRef(m, "signet:"+signing.ID, keyref.Options{}); err == nil {
			t.Fatal("opened without a certificate")
		}
	})
	t.Run("not a signet reference", func(t *testing.T) {
		if _, err := openSignetRef(m, "signet:", keyref.Options{CertFile: signingCert}); err == nil {
			t.Fatal("opened an empty id")
		}
	})
}
