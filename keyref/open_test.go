package keyref

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/testpki"
	"software.sslmate.com/src/go-pkcs12"
)

// fixture holds the files the table tests open.
type fixture struct {
	dir          string
	root, inter  *testpki.CA
	ecCert       *x509.Certificate
	rsaCert      *x509.Certificate
	chainPEM     string // intermediate + root
	ecCertPEM    string
	ecCertDER    string
	rsaCertPEM   string
	otherCertPEM string // a valid certificate for a different key
}

func (f *fixture) path(name string) string { return filepath.Join(f.dir, name) }

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	bin, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is required (make test installs it): %v", name, err)
	}
	if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// certFor issues a signer certificate for an arbitrary public key.
func certFor(t *testing.T, ca *testpki.CA, pub crypto.PublicKey) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "odd key"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir()}
	var err error
	if f.root, err = testpki.NewRoot("Keyref Root", testpki.ECDSAP256); err != nil {
		t.Fatal(err)
	}
	if f.inter, err = f.root.NewIntermediate("Keyref Intermediate", testpki.ECDSAP256); err != nil {
		t.Fatal(err)
	}
	ecCert, ecKey, err := f.inter.IssueSigner("EC Signer", testpki.ECDSAP256, testpki.LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rsaCert, rsaKey, err := f.inter.IssueSigner("RSA Signer", testpki.RSA2048, testpki.LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	otherCert, _, err := f.inter.IssueSigner("Other Signer", testpki.ECDSAP256, testpki.LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.ecCert, f.rsaCert = ecCert, rsaCert
	f.chainPEM, f.ecCertPEM, f.ecCertDER, f.rsaCertPEM, f.otherCertPEM =
		f.path("chain.pem"), f.path("ec-cert.pem"), f.path("ec-cert.der"), f.path("rsa-cert.pem"), f.path("other-cert.pem")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(testpki.WritePEM(f.chainPEM, f.inter.Cert, f.root.Cert))
	must(testpki.WritePEM(f.ecCertPEM, ecCert))
	must(testpki.WritePEM(f.rsaCertPEM, rsaCert))
	must(testpki.WritePEM(f.otherCertPEM, otherCert))
	must(testpki.WritePEM(f.path("ec-cert+chain.pem"), ecCert, f.root.Cert, f.inter.Cert))
	write(t, f.ecCertDER, ecCert.Raw)

	// The EC key in every encoding.
	must(testpki.WriteKeyPEM(f.path("ec-pkcs8.pem"), ecKey))
	sec1, err := x509.MarshalECPrivateKey(ecKey.(*ecdsa.PrivateKey))
	must(err)
	writePEM(t, f.path("ec-sec1.pem"), "EC PRIVATE KEY", sec1)
	write(t, f.path("ec-sec1.der"), sec1)
	p8, err := x509.MarshalPKCS8PrivateKey(ecKey)
	must(err)
	write(t, f.path("ec-pkcs8.der"), p8)

	// The RSA key as PKCS#1.
	p1 := x509.MarshalPKCS1PrivateKey(rsaKey.(*rsa.PrivateKey))
	writePEM(t, f.path("rsa-pkcs1.pem"), "RSA PRIVATE KEY", p1)
	write(t, f.path("rsa-pkcs1.der"), p1)

	// Encrypted PKCS#8 and PKCS#12 files made by OpenSSL 3.
	run(t, "openssl", "pkey", "-in", f.path("ec-pkcs8.pem"), "-aes256", "-passout", "pass:s3cret", "-out", f.path("ec-enc.pem"))
	run(t, "openssl", "pkcs8", "-topk8", "-in", f.path("ec-pkcs8.pem"), "-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA512", "-passout", "pass:s3cret", "-outform", "DER", "-out", f.path("ec-enc.der"))
	run(t, "openssl", "pkcs12", "-export", "-inkey", f.path("ec-pkcs8.pem"), "-in", f.ecCertPEM, "-certfile", f.chainPEM, "-passout", "pass:s3cret", "-out", f.path("id.p12"))
	run(t, "openssl", "pkcs12", "-export", "-legacy", "-inkey", f.path("rsa-pkcs1.pem"), "-in", f.rsaCertPEM, "-certfile", f.chainPEM, "-passout", "pass:s3cret", "-out", f.path("legacy.pfx"))
	run(t, "openssl", "pkcs12", "-export", "-inkey", f.path("ec-pkcs8.pem"), "-in", f.ecCertPEM, "-passout", "pass:", "-out", f.path("nopass.p12"))
	// OpenSSL refuses to pair a key with a foreign certificate; go-pkcs12
	// does not check.
	mismatch, err := pkcs12.Modern.Encode(ecKey, otherCert, nil, "s3cret")
	must(err)
	write(t, f.path("mismatch.p12"), mismatch)

	// Keys Signet refuses.
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	must(err)
	p, err := x509.MarshalPKCS8PrivateKey(rsa1024)
	must(err)
	writePEM(t, f.path("rsa1024.pem"), "PRIVATE KEY", p)
	must(testpki.WritePEM(f.path("rsa1024-cert.pem"), certFor(t, f.inter, rsa1024.Public())))
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	must(err)
	p, err = x509.MarshalPKCS8PrivateKey(p521)
	must(err)
	writePEM(t, f.path("p521.pem"), "PRIVATE KEY", p)
	must(testpki.WritePEM(f.path("p521-cert.pem"), certFor(t, f.inter, p521.Public())))
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	must(err)
	p, err = x509.MarshalPKCS8PrivateKey(ed)
	must(err)
	writePEM(t, f.path("ed25519.pem"), "PRIVATE KEY", p)
	must(testpki.WritePEM(f.path("ed25519-cert.pem"), certFor(t, f.inter, ed.Public())))

	write(t, f.path("notakey.txt"), []byte("hello, this is not a key\n"))
	write(t, f.path("garbage.der"), []byte{0x30, 0x03, 0x02, 0x01, 0x01})
	writePEM(t, f.path("legacy-enc.pem"), "EC PRIVATE KEY", sec1)
	legacy, err := os.ReadFile(f.path("legacy-enc.pem"))
	must(err)
	write(t, f.path("legacy-enc.pem"), []byte(strings.Replace(string(legacy), "-----\n", "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n", 1)))
	return f
}

func password(s string) func() ([]byte, error) {
	return func() ([]byte, error) { return []byte(s), nil }
}

func TestOpen(t *testing.T) {
	f := newFixture(t)
	softBackend := func(keyFile, certFile string) func() (*Key, error) {
		return func() (*Key, error) {
			return Open(f.path(keyFile), Options{CertFile: certFile, ChainFile: f.chainPEM})
		}
	}
	var closed int
	pkcs11OK := func(u *PKCS11URI, o Options) (*Key, error) {
		if u.Token != "signet test" || string(u.ID) != "\x01\x02" || u.PINValue != "1234" {
			return nil, errors.New("unexpected URI")
		}
		k, err := softBackend("ec-pkcs8.pem", f.ecCertPEM)()
		if err == nil {
			k.Close = func() error { closed++; return nil }
		}
		return k, err
	}
	pkcs11Mismatch := func(u *PKCS11URI, o Options) (*Key, error) {
		k, err := softBackend("ec-pkcs8.pem", f.ecCertPEM)()
		if err != nil {
			return nil, err
		}
		k.Chain = []*x509.Certificate{f.rsaCert}
		k.Close = func() error { closed++; return nil }
		return k, nil
	}
	store := func(ref string, o Options) (*Key, error) {
		if ref != "signet:key-7" {
			return nil, errors.New("unknown key")
		}
		return softBackend("rsa-pkcs1.pem", f.rsaCertPEM)()
	}

	tests := []struct {
		name      string
		ref       string
		opts      Options
		wantErr   error    // sentinel, or nil for success
		wantMsg   []string // substrings of the error message
		wantLeaf  *x509.Certificate
		wantChain int
		wantClose int // value of closed after the case
	}{
		{name: "PKCS#8 PEM with cert and chain", ref: "ec-pkcs8.pem", opts: Options{CertFile: "ec-cert.pem", ChainFile: "chain.pem"}, wantLeaf: f.ecCert, wantChain: 3},
		{name: "PKCS#8 DER with DER cert", ref: "ec-pkcs8.der", opts: Options{CertFile: "ec-cert.der"}, wantLeaf: f.ecCert, wantChain: 1},
		{name: "SEC 1 PEM", ref: "ec-sec1.pem", opts: Options{CertFile: "ec-cert.pem"}, wantLeaf: f.ecCert, wantChain: 1},
		{name: "SEC 1 DER", ref: "ec-sec1.der", opts: Options{CertFile: "ec-cert.pem", ChainFile: "chain.pem"}, wantLeaf: f.ecCert, wantChain: 3},
		{name: "PKCS#1 PEM", ref: "rsa-pkcs1.pem", opts: Options{CertFile: "rsa-cert.pem"}, wantLeaf: f.rsaCert, wantChain: 1},
		{name: "PKCS#1 DER", ref: "rsa-pkcs1.der", opts: Options{CertFile: "rsa-cert.pem", ChainFile: "chain.pem"}, wantLeaf: f.rsaCert, wantChain: 3},
		{name: "cert file carrying the chain out of order", ref: "ec-pkcs8.pem", opts: Options{CertFile: "ec-cert+chain.pem"}, wantLeaf: f.ecCert, wantChain: 3},
		{name: "encrypted PKCS#8 PEM", ref: "ec-enc.pem", opts: Options{CertFile: "ec-cert.pem", Password: password("s3cret")}, wantLeaf: f.ecCert, wantChain: 1},
		{name: "encrypted PKCS#8 DER", ref: "ec-enc.der", opts: Options{CertFile: "ec-cert.pem", Password: password("s3cret")}, wantLeaf: f.ecCert, wantChain: 1},
		{name: "encrypted key, wrong password", ref: "ec-enc.pem", opts: Options{CertFile: "ec-cert.pem", Password: password("nope")}, wantErr: ErrPassword, wantMsg: []string{"keyref: wrong password for ", "ec-enc.pem"}},
		{name: "encrypted key, no password source", ref: "ec-enc.pem", opts: Options{CertFile: "ec-cert.pem"}, wantErr: ErrPassword, wantMsg: []string{"needs a password"}},
		{name: "legacy PEM encryption", ref: "legacy-enc.pem", opts: Options{CertFile: "ec-cert.pem"}, wantErr: ErrNoKey, wantMsg: []string{"legacy PEM encryption"}},
		{name: "PKCS#12 from OpenSSL 3 (PBES2, SHA-256 MAC)", ref: "id.p12", opts: Options{Password: password("s3cret")}, wantLeaf: f.ecCert, wantChain: 3},
		{name: "PKCS#12 legacy (RC2/3DES, SHA-1 MAC), .pfx", ref: "legacy.pfx", opts: Options{Password: password("s3cret")}, wantLeaf: f.rsaCert, wantChain: 3},
		{name: "PKCS#12 without password never asks", ref: "nopass.p12", opts: Options{Password: func() ([]byte, error) { return nil, errors.New("asked") }}, wantLeaf: f.ecCert, wantChain: 1},
		{name: "PKCS#12 with chain file", ref: "nopass.p12", opts: Options{ChainFile: "chain.pem"}, wantLeaf: f.ecCert, wantChain: 3},
		{name: "PKCS#12 wrong password", ref: "id.p12", opts: Options{Password: password("wrong")}, wantErr: ErrPassword, wantMsg: []string{"keyref: wrong password for ", "id.p12"}},
		{name: "PKCS#12 needs a password, none available", ref: "id.p12", wantErr: ErrPassword, wantMsg: []string{"id.p12 needs a password"}},
		{name: "PKCS#12 password prompt fails", ref: "id.p12", opts: Options{Password: func() ([]byte, error) { return nil, errors.New("no terminal") }}, wantMsg: []string{"no terminal"}},
		{name: "PKCS#12 with a foreign certificate", ref: "mismatch.p12", opts: Options{Password: password("s3cret")}, wantErr: ErrKeyMismatch, wantMsg: []string{"mismatch.p12"}},
		{name: "PKCS#12 with a certificate file", ref: "id.p12", opts: Options{CertFile: "ec-cert.pem", Password: password("s3cret")}, wantMsg: []string{"already holds its certificate"}},
		{name: "key without certificate", ref: "ec-pkcs8.pem", wantErr: ErrNoCertificate, wantMsg: []string{"ec-pkcs8.pem", "--cert"}},
		{name: "certificate of another key", ref: "ec-pkcs8.pem", opts: Options{CertFile: "other-cert.pem"}, wantErr: ErrKeyMismatch, wantMsg: []string{"other-cert.pem", "ec-pkcs8.pem"}},
		{name: "RSA certificate for EC key", ref: "ec-pkcs8.pem", opts: Options{CertFile: "rsa-cert.pem"}, wantErr: ErrKeyMismatch, wantMsg: []string{"rsa-cert.pem", "ec-pkcs8.pem"}},
		{name: "RSA 1024", ref: "rsa1024.pem", opts: Options{CertFile: "rsa1024-cert.pem"}, wantErr: ErrUnsupportedKey, wantMsg: []string{"RSA 1024 bits"}},
		{name: "ECDSA P-521", ref: "p521.pem", opts: Options{CertFile: "p521-cert.pem"}, wantErr: ErrUnsupportedKey, wantMsg: []string{"P-521"}},
		{name: "Ed25519", ref: "ed25519.pem", opts: Options{CertFile: "ed25519-cert.pem"}, wantErr: ErrUnsupportedKey, wantMsg: []string{"ed25519"}},
		{name: "text file", ref: "notakey.txt", opts: Options{CertFile: "ec-cert.pem"}, wantErr: ErrNoKey},
		{name: "garbage DER", ref: "garbage.der", opts: Options{CertFile: "ec-cert.pem"}, wantErr: ErrNoKey},
		{name: "certificate file is not a certificate", ref: "ec-pkcs8.pem", opts: Options{CertFile: "notakey.txt"}, wantErr: ErrNoCertificate},
		{name: "missing key file", ref: "absent.pem", opts: Options{CertFile: "ec-cert.pem"}, wantErr: fs.ErrNotExist},
		{name: "missing PKCS#12 file", ref: "absent.p12", wantErr: fs.ErrNotExist},
		{name: "missing chain file", ref: "ec-pkcs8.pem", opts: Options{CertFile: "ec-cert.pem", ChainFile: "absent.pem"}, wantErr: fs.ErrNotExist},
		{name: "empty reference", ref: "", wantMsg: []string{"empty key reference"}},
		{name: "pkcs11 without backend", ref: "pkcs11:token=x;object=y", wantErr: ErrBackendUnavailable, wantMsg: []string{"PKCS#11"}},
		{name: "pkcs11 invalid URI", ref: "pkcs11:tokn=x", opts: Options{PKCS11: pkcs11OK}, wantErr: ErrInvalidURI},
		{name: "pkcs11 backend", ref: "pkcs11:token=signet%20test;id=%01%02?pin-value=1234", opts: Options{PKCS11: pkcs11OK}, wantLeaf: f.ecCert, wantChain: 3},
		{name: "PKCS11 scheme in upper case", ref: "PKCS11:token=signet%20test;id=%01%02?pin-value=1234", opts: Options{PKCS11: pkcs11OK}, wantLeaf: f.ecCert, wantChain: 3},
		{name: "pkcs11 backend error", ref: "pkcs11:token=other?pin-value=1234", opts: Options{PKCS11: pkcs11OK}, wantMsg: []string{"unexpected URI"}},
		{name: "pkcs11 backend mismatch closes the key", ref: "pkcs11:token=t", opts: Options{PKCS11: pkcs11Mismatch}, wantErr: ErrKeyMismatch, wantClose: 1},
		{name: "signet without store", ref: "signet:key-7", wantErr: ErrBackendUnavailable, wantMsg: []string{"signet:key-7"}},
		{name: "signet store", ref: "signet:key-7", opts: Options{Store: store}, wantLeaf: f.rsaCert, wantChain: 3},
		{name: "signet without id", ref: "signet:", opts: Options{Store: store}, wantMsg: []string{"without a key id"}},
	}
	abs := func(p string) string {
		if p == "" || strings.Contains(p, ":") {
			return p
		}
		return f.path(p)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			closed = 0
			opts := tc.opts
			opts.CertFile, opts.ChainFile = abs(opts.CertFile), abs(opts.ChainFile)
			k, err := Open(abs(tc.ref), opts)
			if closed != tc.wantClose {
				t.Errorf("Close called %d times, want %d", closed, tc.wantClose)
			}
			if tc.wantLeaf == nil {
				if err == nil {
					k.Close()
					t.Fatal("Open succeeded, want an error")
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Errorf("error %q is not %v", err, tc.wantErr)
				}
				msg := err.Error()
				if !strings.HasPrefix(msg, "keyref: ") || strings.Contains(msg, "\n") {
					t.Errorf("error %q is not one prefixed line", msg)
				}
				for _, w := range tc.wantMsg {
					if !strings.Contains(msg, w) {
						t.Errorf("error %q lacks %q", msg, w)
					}
				}
				for _, secret := range []string{"s3cret", "1234", "BEGIN"} {
					if strings.Contains(msg, secret) {
						t.Errorf("error %q leaks %q", msg, secret)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer k.Close()
			if k.Close == nil {
				t.Fatal("Close is nil")
			}
			if !k.Chain[0].Equal(tc.wantLeaf) {
				t.Errorf("leaf %q, want %q", k.Chain[0].Subject, tc.wantLeaf.Subject)
			}
			if len(k.Chain) != tc.wantChain {
				t.Fatalf("chain length %d, want %d", len(k.Chain), tc.wantChain)
			}
			for i := 1; i < len(k.Chain); i++ {
				if err := k.Chain[i-1].CheckSignatureFrom(k.Chain[i]); err != nil {
					t.Errorf("chain[%d] is not issued by chain[%d]: %v", i-1, i, err)
				}
			}
			assertSigns(t, k)
		})
	}
}

// assertSigns signs a digest with the key and verifies it with the
// certificate, proving the pair really belongs together.
func assertSigns(t *testing.T, k *Key) {
	t.Helper()
	digest := sha256.Sum256([]byte("signet"))
	sig, err := k.Signer.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	var alg x509.SignatureAlgorithm
	switch k.Signer.Public().(type) {
	case *rsa.PublicKey:
		alg = x509.SHA256WithRSA
	case *ecdsa.PublicKey:
		alg = x509.ECDSAWithSHA256
	}
	if err := k.Chain[0].CheckSignature(alg, []byte("signet"), sig); err != nil {
		t.Errorf("signature does not verify with the certificate: %v", err)
	}
}
