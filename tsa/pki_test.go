package tsa

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Test PKI validity: wide enough that openssl, which validates chains at the
// real current time, accepts it.
var (
	pkiNotBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	pkiNotAfter  = time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC)
	// testNow is the fixed clock of test servers and clients.
	testNow = time.Date(2026, 2, 3, 4, 5, 6, 789123000, time.UTC)
	// testPolicy is the TSA policy of test servers.
	testPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 3161, 1}
)

// testPKI is a root, an intermediate CA and a TSA certificate.
type testPKI struct {
	root, inter, leaf          *x509.Certificate
	rootKey, interKey, leafKey crypto.Signer
	rootPool                   *x509.CertPool
}

// leafOption modifies the TSA certificate template before issuance.
type leafOption func(*x509.Certificate)

// nonCriticalEKU writes the time-stamping EKU the way x509.CreateCertificate
// does by default: non-critical.
func nonCriticalEKU(c *x509.Certificate) {
	c.ExtraExtensions = nil
	c.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}
}

// extraEKU adds a second usage to the critical EKU extension.
func extraEKU(c *x509.Certificate) {
	v, _ := asn1.Marshal([]asn1.ObjectIdentifier{oidTimeStamping, {1, 3, 6, 1, 5, 5, 7, 3, 4}})
	c.ExtraExtensions = []pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: v}}
}

// noEKU drops the EKU extension.
func noEKU(c *x509.Certificate) { c.ExtraExtensions = nil }

// validity sets the TSA certificate's validity.
func validity(from, to time.Time) leafOption {
	return func(c *x509.Certificate) { c.NotBefore, c.NotAfter = from, to }
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func issue(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, parentKey crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func caTemplate(cn string, serial int64) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"Signet Test"}},
		NotBefore:             pkiNotBefore,
		NotAfter:              pkiNotAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
}

// newPKI builds a root, an intermediate and a TSA certificate issued by the
// intermediate with a critical id-kp-timeStamping EKU, unless opts say
// otherwise.
func newPKI(t testing.TB, opts ...leafOption) *testPKI {
	t.Helper()
	p := &testPKI{}
	rk, ik, lk := newKey(t), newKey(t), newKey(t)
	p.rootKey, p.interKey, p.leafKey = rk, ik, lk
	p.root = issue(t, caTemplate("Signet Test Root", 1), caTemplate("Signet Test Root", 1), rk.Public(), rk)
	p.inter = issue(t, caTemplate("Signet Test Intermediate", 2), p.root, ik.Public(), rk)
	leaf, err := NewCertificateTemplate(pkix.Name{CommonName: "Signet Test TSA", Organization: []string{"Signet Test"}},
		big.NewInt(3), pkiNotBefore, pkiNotAfter)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		o(leaf)
	}
	p.leaf = issue(t, leaf, p.inter, lk.Public(), ik)
	p.rootPool = x509.NewCertPool()
	p.rootPool.AddCert(p.root)
	return p
}

// server returns a TSA server for p with the fixed test clock.
func (p *testPKI) server() *Server {
	return &Server{
		Signer:      p.leafKey,
		Certificate: p.leaf,
		Chain:       []*x509.Certificate{p.inter},
		Policy:      testPolicy,
		Accuracy:    500 * time.Millisecond,
		Now:         func() time.Time { return testNow },
	}
}

// writePEM writes certs to dir/name and returns the path.
func writePEM(t testing.TB, dir, name string, certs ...*x509.Certificate) string {
	t.Helper()
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeFile writes b to dir/name and returns the path.
func writeFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// openssl runs the openssl command and fails the test if it is missing or
// exits non-zero.
func openssl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command("openssl", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// opensslFails runs openssl and fails the test unless it exits non-zero.
func opensslFails(t testing.TB, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("openssl is required: %v", err)
	}
	out, err := exec.Command("openssl", args...).CombinedOutput()
	if err == nil {
		t.Fatalf("openssl %v succeeded, want failure\n%s", args, out)
	}
	return string(out)
}
