package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/pki/ca"
)

// pkiFixture is a PKI served over HTTP from a temporary data directory.
type pkiFixture struct {
	dir, url string
	srv      *pkiServer
}

func newPKIFixture(t *testing.T) *pkiFixture {
	t.Helper()
	for _, tool := range []string{"openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is required (make test installs it): %v", tool, err)
		}
	}
	ts := httptest.NewUnstartedServer(nil)
	url := "http://" + ts.Listener.Addr().String()
	dir := t.TempDir()
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	data, err := openPKIData(context.Background(), dir, env)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := openPKI(context.Background(), data, pkiOptions{BaseURL: url, Tenants: []string{"acme"}})
	if err != nil {
		data.close()
		t.Fatal(err)
	}
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(func() { ts.Close(); data.close() })
	f := &pkiFixture{dir: t.TempDir(), url: url, srv: srv}
	f.writePEM(t, "root.pem", srv.Cert("ca/root").Raw)
	f.writePEM(t, "acme.pem", srv.Cert("ca/acme").Raw)
	f.writePEM(t, "platform.pem", srv.Cert("ca/platform").Raw)
	return f
}

func (f *pkiFixture) writePEM(t *testing.T, name string, der []byte) string {
	t.Helper()
	p := filepath.Join(f.dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *pkiFixture) path(name string) string { return filepath.Join(f.dir, name) }

// issue issues a signer certificate under acme and writes it to name.
func (f *pkiFixture) issue(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := f.srv.authority.IssueSigner(context.Background(),
		ca.Identity{Name: "Alice", Email: "alice@example.com", Tenant: "acme"},
		ca.AuthEvidence{Methods: []string{"pwd", "otp"}, AssuranceLevel: "aal2", Time: time.Now()},
		key.Public(), ca.KeyRef{})
	if err != nil {
		t.Fatal(err)
	}
	f.writePEM(t, name, cert.Raw)
	return cert
}

func openssl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command("openssl", args...).CombinedOutput()
	return string(out), err
}

func (f *pkiFixture) ocspStatus(t *testing.T, cert string) string {
	t.Helper()
	out, err := openssl(t, "ocsp", "-issuer", f.path("acme.pem"), "-cert", f.path(cert), "-url", f.url+"/ocsp", "-CAfile", f.path("root.pem"))
	if err != nil {
		t.Fatalf("openssl ocsp: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Response verify OK") {
		t.Fatalf("openssl ocsp did not verify the response:\n%s", out)
	}
	return out
}

func (f *pkiFixture) fetchCRL(t *testing.T) *x509.RevocationList {
	t.Helper()
	resp, err := http.Get(f.url + "/crl/acme.crl")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	der, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET CRL: %d %v", resp.StatusCode, err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/pkix-crl" {
		t.Errorf("CRL content type %q", ct)
	}
	if err := os.WriteFile(f.path("crl.pem"), pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (f *pkiFixture) verifyWithCRL(t *testing.T, cert string) (string, error) {
	t.Helper()
	f.fetchCRL(t)
	return openssl(t, "verify", "-crl_check", "-CRLfile", f.path("crl.pem"), "-CAfile", f.path("root.pem"), "-untrusted", f.path("acme.pem"), f.path(cert))
}

// TestPKIRevocationWithOpenSSL checks, with openssl ocsp and openssl
// verify -crl_check against the served endpoints, that a certificate is
// good, that a revocation shows at once in both OCSP (with its reason) and
// the CRL, that other certificates stay good, and that a certificate the
// CA never recorded is unknown.
func TestPKIRevocationWithOpenSSL(t *testing.T) {
	f := newPKIFixture(t)
	leaf := f.issue(t, "leaf.pem")
	f.issue(t, "other.pem")

	if out := f.ocspStatus(t, "leaf.pem"); !strings.Contains(out, "leaf.pem: good") {
		t.Errorf("before revocation, openssl ocsp says:\n%s", out)
	}
	if out, err := f.verifyWithCRL(t, "leaf.pem"); err != nil || !strings.Contains(out, ": OK") {
		t.Errorf("before revocation, openssl verify -crl_check: %v\n%s", err, out)
	}
	before := f.fetchCRL(t)

	if _, err := f.srv.authority.Revoke(context.Background(), leaf.SerialNumber, ca.ReasonKeyCompromise, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	out := f.ocspStatus(t, "leaf.pem")
	if !strings.Contains(out, "leaf.pem: revoked") || !strings.Contains(out, "Reason: keyCompromise") {
		t.Errorf("after revocation, openssl ocsp says:\n%s", out)
	}
	if out, err := f.verifyWithCRL(t, "leaf.pem"); err == nil || !strings.Contains(out, "certificate revoked") {
		t.Errorf("after revocation, openssl verify -crl_check: %v\n%s", err, out)
	}
	after := f.fetchCRL(t)
	if after.Number.Cmp(before.Number) <= 0 {
		t.Errorf("CRL number %v after revocation, was %v", after.Number, before.Number)
	}
	if len(after.RevokedCertificateEntries) != 1 || after.RevokedCertificateEntries[0].ReasonCode != int(ca.ReasonKeyCompromise) {
		t.Errorf("CRL entries %+v", after.RevokedCertificateEntries)
	}
	if out := f.ocspStatus(t, "other.pem"); !strings.Contains(out, "other.pem: good") {
		t.Errorf("unrevoked certificate, openssl ocsp says:\n%s", out)
	}
	if out, err := f.verifyWithCRL(t, "other.pem"); err != nil {
		t.Errorf("unrevoked certificate, openssl verify -crl_check: %v\n%s", err, out)
	}

	// A certificate signed with the CA's key but never recorded.
	iss, err := f.srv.authority.Issuer("acme")
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(424242), Subject: pkix.Name{CommonName: "stray"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}, iss.Certificate, key.Public(), iss.Signer)
	if err != nil {
		t.Fatal(err)
	}
	f.writePEM(t, "stray.pem", der)
	if out := f.ocspStatus(t, "stray.pem"); !strings.Contains(out, "stray.pem: unknown") {
		t.Errorf("unrecorded certificate, openssl ocsp says:\n%s", out)
	}
}

// TestPKITimestampWithOpenSSL asks the served TSA for a token with openssl
// ts -query and verifies it with openssl ts -verify against the root.
func TestPKITimestampWithOpenSSL(t *testing.T) {
	f := newPKIFixture(t)
	data := f.path("data.txt")
	if err := os.WriteFile(data, []byte("to be time-stamped\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := openssl(t, "ts", "-query", "-data", data, "-sha256", "-cert", "-out", f.path("q.tsq")); err != nil {
		t.Fatalf("openssl ts -query: %v\n%s", err, out)
	}
	q, err := os.ReadFile(f.path("q.tsq"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(f.url+"/tsa", "application/timestamp-query", bytes.NewReader(q))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/timestamp-reply" {
		t.Fatalf("POST /tsa: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if err := os.WriteFile(f.path("r.tsr"), reply, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := openssl(t, "ts", "-verify", "-in", f.path("r.tsr"), "-queryfile", f.path("q.tsq"), "-CAfile", f.path("root.pem"))
	if err != nil || !strings.Contains(out, "Verification: OK") {
		t.Errorf("openssl ts -verify: %v\n%s", err, out)
	}
	// The token's certificate is the TSA's, with a critical timeStamping EKU.
	out, err = openssl(t, "x509", "-in", filepath.Join(f.srv.data.dir.Path(), "pki", "tsa.pem"), "-noout", "-text")
	if err != nil || !regexpMatch(`X509v3 Extended Key Usage: critical\s+Time Stamping`, out) {
		t.Errorf("TSA certificate:\n%s", out)
	}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// TestPKICommands runs signet pki issue-signer and signet pki revoke on an
// initialized data directory and checks their effect on the records.
func TestPKICommands(t *testing.T) {
	dir := t.TempDir()
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	data, err := openPKIData(context.Background(), dir, env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openPKI(context.Background(), data, pkiOptions{BaseURL: "http://127.0.0.1:9", Tenants: []string{"default"}}); err != nil {
		t.Fatal(err)
	}
	data.close()

	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"pki", "issue-signer", "--data", dir, "--name", "Bob", "--email", "bob@example.com",
		"--amr", "pwd,hwk", "--aal", "aal3", "--key-out", filepath.Join(out, "k.pem"), "--cert-out", filepath.Join(out, "c.pem")},
		nil, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("issue-signer: exit %d: %s", code, stderr.String())
	}
	if fi, err := os.Stat(filepath.Join(out, "k.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", fi, err)
	}
	b, _ := os.ReadFile(filepath.Join(out, "c.pem"))
	blk, _ := pem.Decode(b)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := ca.ParseAuthEvidence(cert)
	if err != nil || ev.AssuranceLevel != "aal3" || strings.Join(ev.Methods, ",") != "pwd,hwk" {
		t.Errorf("evidence %+v, %v", ev, err)
	}
	serial := cert.SerialNumber.Text(16)
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"--serial", serial, "--reason", "keyCompromise", "--invalid-since", "2020-01-01T00:00:00Z"}, 0},
		{[]string{"--serial", serial}, exitUsage},                     // already revoked
		{[]string{"--serial", "abc123"}, exitUsage},                   // unknown
		{[]string{"--serial", serial, "--reason", "hold"}, exitUsage}, // bad reason
	} {
		stderr.Reset()
		if got := run(append([]string{"pki", "revoke", "--data", dir}, c.args...), nil, io.Discard, &stderr); got != c.code {
			t.Errorf("revoke %v: exit %d, want %d: %s", c.args, got, c.code, stderr.String())
		}
	}
	data, err = openPKIData(context.Background(), dir, env)
	if err != nil {
		t.Fatal(err)
	}
	defer data.close()
	r, err := data.store.Get(context.Background(), cert.SerialNumber)
	if err != nil || r.Status != ca.StatusRevoked || r.Reason != ca.ReasonKeyCompromise || r.InvalidityDate.Year() != 2020 {
		t.Errorf("record after revoke: %+v, %v", r, err)
	}
}

// TestKeysRevokeRevokesCertificates: revoking a key with signet keys in a
// data directory that runs a PKI revokes the certificates issued for it.
func TestKeysRevokeRevokesCertificates(t *testing.T) {
	dir := t.TempDir()
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	data, err := openPKIData(context.Background(), dir, env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openPKI(context.Background(), data, pkiOptions{BaseURL: "http://127.0.0.1:9", Tenants: []string{"acme"}}); err != nil {
		t.Fatal(err)
	}
	keyID, _, _ := data.roles.RoleKey("ca/acme")
	issuing, err := data.roles.Certificate(context.Background(), "ca/acme")
	if err != nil {
		t.Fatal(err)
	}
	data.close()

	var stderr bytes.Buffer
	if code := run([]string{"keys", "revoke", keyID, "--data", dir, "--reason", "keyCompromise"}, nil, io.Discard, &stderr); code != 0 {
		t.Fatalf("keys revoke: exit %d: %s", code, stderr.String())
	}
	data, err = openPKIData(context.Background(), dir, env)
	if err != nil {
		t.Fatal(err)
	}
	defer data.close()
	r, err := data.store.Get(context.Background(), issuing.SerialNumber)
	if err != nil || r.Status != ca.StatusRevoked || r.Reason != ca.ReasonKeyCompromise {
		t.Fatalf("issuing CA record after key revocation: %+v, %v", r, err)
	}
}
