package cms

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// keyCache holds one key per kind for the whole test run: RSA key
// generation is the slow part of these tests.
var keyCache sync.Map // kind -> *keyEntry

type keyEntry struct {
	once sync.Once
	key  crypto.Signer
	err  error
}

// testKey returns the test run's key of the given kind: "rsa2048",
// "rsa3072", "rsa4096", "p256" or "p384".
func testKey(t testing.TB, kind string) crypto.Signer {
	t.Helper()
	v, _ := keyCache.LoadOrStore(kind, new(keyEntry))
	e := v.(*keyEntry)
	e.once.Do(func() { e.key, e.err = newKey(kind) })
	if e.err != nil {
		t.Fatal(e.err)
	}
	return e.key
}

// newKey generates a fresh key of the given kind.
func newKey(kind string) (crypto.Signer, error) {
	switch kind {
	case "rsa2048":
		return rsa.GenerateKey(rand.Reader, 2048)
	case "rsa3072":
		return rsa.GenerateKey(rand.Reader, 3072)
	case "rsa4096":
		return rsa.GenerateKey(rand.Reader, 4096)
	case "p256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	}
	panic("unknown key kind " + kind)
}

// testCA is a throwaway root that issues signer certificates.
type testCA struct {
	key  crypto.Signer
	cert *x509.Certificate
}

var (
	caOnce sync.Once
	caVal  *testCA
	caErr  error
)

// rootCA returns the test run's root certificate authority.
func rootCA(t testing.TB) *testCA {
	t.Helper()
	caOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			caErr = err
			return
		}
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(1),
			Subject:               pkix.Name{CommonName: "Signet CMS Test Root", Organization: []string{"Signet"}},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(24 * time.Hour),
			KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
			BasicConstraintsValid: true,
			IsCA:                  true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
		if err != nil {
			caErr = err
			return
		}
		cert, err := x509.ParseCertificate(der)
		caVal, caErr = &testCA{key: key, cert: cert}, err
	})
	if caErr != nil {
		t.Fatal(caErr)
	}
	return caVal
}

// issue returns a signer certificate for pub with the given serial number
// and common name.
func (ca *testCA) issue(t testing.TB, pub crypto.PublicKey, serial int64, cn string) *x509.Certificate {
	t.Helper()
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	ski := sha256.Sum256(spki)
	tmpl := &x509.Certificate{
		SubjectKeyId: ski[:20],
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Signet"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, pub, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// writePEM writes DER blocks of the given type to a new file in dir.
func writePEM(t testing.TB, dir, name, typ string, ders ...[]byte) string {
	t.Helper()
	var out []byte
	for _, d := range ders {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: d})...)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeFile writes data to a new file in dir.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// openssl runs the openssl command line tool and fails the test if it is
// missing or exits non-zero.
func openssl(t testing.TB, args ...string) []byte {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is required for this test (make test installs it): %v", err)
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
	return out
}

// hashOf returns the digest of data under h.
func hashOf(h crypto.Hash, data []byte) []byte {
	hh := h.New()
	hh.Write(data)
	return hh.Sum(nil)
}
