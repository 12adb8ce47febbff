package server_test

import (
	"bytes"
	"crypto/x509"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ocsp"
)

// TestOCSPResponder: the OCSP URL that the server's certificates carry
// answers "good" for the built-in TSA's certificate, signed by a delegated
// responder of the platform CA.
func TestOCSPResponder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, dir, nil)
	cert := tsaCert(t, r)
	if len(cert.OCSPServer) == 0 {
		t.Fatal("the TSA certificate names no OCSP responder")
	}
	res, err := http.Get(cert.IssuingCertificateURL[0])
	if err != nil {
		t.Fatal(err)
	}
	der, _ := io.ReadAll(res.Body)
	res.Body.Close()
	issuer, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	req, err := ocsp.CreateRequest(cert, issuer, nil)
	if err != nil {
		t.Fatal(err)
	}
	hres, err := http.Post(cert.OCSPServer[0], "application/ocsp-request", bytes.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(hres.Body)
	hres.Body.Close()
	resp, err := ocsp.ParseResponseForCert(body, cert, issuer)
	if err != nil {
		t.Fatalf("OCSP response: %v (HTTP %d)", err, hres.StatusCode)
	}
	if resp.Status != ocsp.Good {
		t.Errorf("status %d, want good", resp.Status)
	}
	if resp.Certificate == nil || resp.Certificate.Equal(issuer) {
		t.Errorf("response not signed by a delegated responder")
	}
}
