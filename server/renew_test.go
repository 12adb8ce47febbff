package server_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"path/filepath"
	"testing"
	"time"

	"github.com/signet-pki/signet/server"
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
