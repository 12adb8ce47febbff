package server_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/tsa"
)

// TestTSARenewedAtStart: started with a clock two years on, the server
// issues the built-in TSA a new certificate (the old one has expired) and
// keeps its key.
func TestTSARenewedAtStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, dir, nil)
	before := tsaCert(t, r)
	r.stop()

	later := time.Now().AddDate(2, 0, 0)
	r2 := start(t, dir, nil, server.WithClock(func() time.Time { return later }))
	after := tsaCert(t, r2)
	if bytes.Equal(before.Raw, after.Raw) {
		t.Fatal("the TSA certificate was not renewed")
	}
	if !after.NotAfter.After(later) {
		t.Errorf("renewed certificate expires %v, before the clock %v", after.NotAfter, later)
	}
	if !bytes.Equal(before.RawSubjectPublicKeyInfo, after.RawSubjectPublicKeyInfo) {
		t.Errorf("renewal changed the TSA key")
	}
}

// tsaCert asks the built-in TSA for a token and returns the certificate
// that signed it.
func tsaCert(t *testing.T, r *running) *x509.Certificate {
	t.Helper()
	digest := sha256.Sum256([]byte("renewal"))
	c := &tsa.Client{URLs: []string{"http://" + r.srv.PKIAddr().String() + "/tsa"}}
	tok, err := c.Timestamp(context.Background(), crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tok.SignedData.SignerCertificate()
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// TestIssuingCARenewedAtStart: started with a clock four years on (the
// platform issuing CA's five-year certificate is past two thirds of its
// life), the server gives the CA a new certificate from the root for the
// same key, serves it, and issues under it.
func TestIssuingCARenewedAtStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, dir, nil)
	before := caCert(t, r, "platform")
	r.stop()

	later := time.Now().AddDate(4, 0, 0)
	r2 := start(t, dir, nil, server.WithClock(func() time.Time { return later }))
	after := caCert(t, r2, "platform")
	if bytes.Equal(before.Raw, after.Raw) {
		t.Fatal("the issuing CA certificate was not renewed")
	}
	if !bytes.Equal(before.RawSubjectPublicKeyInfo, after.RawSubjectPublicKeyInfo) || !after.IsCA {
		t.Errorf("renewal changed the CA key or made a non-CA certificate")
	}
	if !after.NotAfter.After(later.AddDate(1, 0, 0)) {
		t.Errorf("renewed certificate expires %v", after.NotAfter)
	}
	// The TSA's certificate, issued at this start by the platform CA,
	// chains to the renewed certificate.
	if err := tsaCert(t, r2).CheckSignatureFrom(after); err != nil {
		t.Errorf("TSA certificate not issued under the renewed CA certificate: %v", err)
	}
}

// caCert fetches issuing CA name's certificate from the PKI listener.
func caCert(t *testing.T, r *running, name string) *x509.Certificate {
	t.Helper()
	resp, err := http.Get("http://" + r.srv.PKIAddr().String() + "/ca/" + name + ".crt")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	der, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /ca/%s.crt: %d %v", name, resp.StatusCode, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
