package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// openssl runs the openssl binary and fails the test if it is missing or
// exits non-zero.
func openssl(t *testing.T, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Fatalf("openssl is required (make test installs it): %v", err)
	}
	out, err := exec.Command(path, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestKeyAlgs(t *testing.T) {
	tests := []struct {
		alg   KeyAlg
		rsa   int
		ecdsa elliptic.Curve
	}{
		{ECDSAP256, 0, elliptic.P256()},
		{ECDSAP384, 0, elliptic.P384()},
		{RSA2048, 2048, nil},
		{RSA3072, 3072, nil},
		{RSA4096, 4096, nil},
	}
	if len(tests) != len(KeyAlgs) {
		t.Fatalf("table covers %d algorithms, KeyAlgs lists %d", len(tests), len(KeyAlgs))
	}
	root, err := NewRoot("KeyAlgs Root", ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(string(tc.alg), func(t *testing.T) {
			cert, key, err := root.IssueSigner("signer "+string(tc.alg), tc.alg, LeafOptions{})
			if err != nil {
				t.Fatal(err)
			}
			switch k := key.(type) {
			case *rsa.PrivateKey:
				if k.N.BitLen() != tc.rsa {
					t.Errorf("RSA modulus %d bits, want %d", k.N.BitLen(), tc.rsa)
				}
			case *ecdsa.PrivateKey:
				if k.Curve != tc.ecdsa {
					t.Errorf("curve %s, want %v", k.Curve.Params().Name, tc.ecdsa)
				}
			default:
				t.Fatalf("key type %T", key)
			}
			if !publicEqual(cert.PublicKey, key.Public()) {
				t.Error("certificate public key does not match the returned key")
			}
		})
	}
	if _, err := NewKey("dsa-1024"); err == nil {
		t.Error("NewKey accepted an unknown algorithm")
	}
}

func publicEqual(a, b any) bool {
	type equaler interface{ Equal(x crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

func TestChainsVerifyWithOpenSSL(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		rootAlg KeyAlg
		midAlg  KeyAlg
		leafAlg KeyAlg
	}{
		{"ecdsa", ECDSAP256, ECDSAP384, ECDSAP256},
		{"rsa", RSA2048, RSA2048, RSA2048},
		{"mixed", ECDSAP384, RSA2048, ECDSAP256},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root, err := NewRoot("Root "+tc.name, tc.rootAlg)
			if err != nil {
				t.Fatal(err)
			}
			mid, err := root.NewIntermediate("Intermediate "+tc.name, tc.midAlg)
			if err != nil {
				t.Fatal(err)
			}
			signer, _, err := mid.IssueSigner("Signer "+tc.name, tc.leafAlg, LeafOptions{Email: "signer@example.com", Organization: "Signet Test"})
			if err != nil {
				t.Fatal(err)
			}
			tsa, _, err := mid.IssueTSA("TSA "+tc.name, tc.leafAlg, LeafOptions{})
			if err != nil {
				t.Fatal(err)
			}
			p := func(n string) string { return filepath.Join(dir, tc.name+"-"+n+".pem") }
			for n, c := range map[string]*x509.Certificate{"root": root.Cert, "mid": mid.Cert, "signer": signer, "tsa": tsa} {
				if err := WritePEM(p(n), c); err != nil {
					t.Fatal(err)
				}
			}
			openssl(t, "verify", "-CAfile", p("root"), "-untrusted", p("mid"), "-purpose", "smimesign", p("signer"))
			openssl(t, "verify", "-CAfile", p("root"), "-untrusted", p("mid"), "-purpose", "timestampsign", p("tsa"))

			// The same chains must verify with crypto/x509 for the usages
			// documented in the package comment.
			roots, inter := x509.NewCertPool(), x509.NewCertPool()
			roots.AddCert(root.Cert)
			inter.AddCert(mid.Cert)
			for _, v := range []struct {
				cert *x509.Certificate
				eku  x509.ExtKeyUsage
			}{{signer, x509.ExtKeyUsageEmailProtection}, {tsa, x509.ExtKeyUsageTimeStamping}} {
				if _, err := v.cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{v.eku}}); err != nil {
					t.Errorf("%s: %v", v.cert.Subject.CommonName, err)
				}
			}
		})
	}
}

// TestSignerIsNotTSA makes sure openssl's verifier would notice a wrong
// purpose, so the positive checks above mean something.
func TestSignerIsNotTSA(t *testing.T) {
	dir := t.TempDir()
	root, err := NewRoot("Root", ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	signer, _, err := root.IssueSigner("Signer", ECDSAP256, LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, signerPEM := filepath.Join(dir, "root.pem"), filepath.Join(dir, "signer.pem")
	if err := WritePEM(rootPEM, root.Cert); err != nil {
		t.Fatal(err)
	}
	if err := WritePEM(signerPEM, signer); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("openssl", "verify", "-CAfile", rootPEM, "-purpose", "timestampsign", signerPEM).CombinedOutput()
	if err == nil {
		t.Fatalf("openssl accepted a signer certificate for time stamping:\n%s", out)
	}
}

func TestTSAExtendedKeyUsageCritical(t *testing.T) {
	dir := t.TempDir()
	root, err := NewRoot("Root", ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		issue func() (*x509.Certificate, error)
		want  []string
		avoid []string
	}{
		{
			name: "tsa",
			issue: func() (*x509.Certificate, error) {
				c, _, err := root.IssueTSA("TSA", ECDSAP256, LeafOptions{})
				return c, err
			},
			want:  []string{"X509v3 Extended Key Usage: critical", "Time Stamping", "Digital Signature"},
			avoid: []string{"E-mail Protection"},
		},
		{
			name: "signer",
			issue: func() (*x509.Certificate, error) {
				c, _, err := root.IssueSigner("Signer", ECDSAP256, LeafOptions{Email: "a@example.com"})
				return c, err
			},
			want:  []string{"E-mail Protection", "Digital Signature, Non Repudiation", "email:a@example.com"},
			avoid: []string{"Time Stamping", "Extended Key Usage: critical"},
		},
		{
			name:  "root",
			issue: func() (*x509.Certificate, error) { return root.Cert, nil },
			want:  []string{"CA:TRUE", "Certificate Sign, CRL Sign"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cert, err := tc.issue()
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, tc.name+".pem")
			if err := WritePEM(path, cert); err != nil {
				t.Fatal(err)
			}
			text := openssl(t, "x509", "-noout", "-text", "-in", path)
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("openssl x509 -text lacks %q:\n%s", w, text)
				}
			}
			for _, a := range tc.avoid {
				if strings.Contains(text, a) {
					t.Errorf("openssl x509 -text has unexpected %q", a)
				}
			}
		})
	}
}

func TestLeafOptions(t *testing.T) {
	root, err := NewRoot("Root", ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	nb := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	na := time.Date(2021, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		o     LeafOptions
		check func(t *testing.T, c *x509.Certificate)
	}{
		{"explicit validity", LeafOptions{NotBefore: nb, NotAfter: na}, func(t *testing.T, c *x509.Certificate) {
			if !c.NotBefore.Equal(nb) || !c.NotAfter.Equal(na) {
				t.Errorf("validity %v..%v, want %v..%v", c.NotBefore, c.NotAfter, nb, na)
			}
		}},
		{"default validity", LeafOptions{}, func(t *testing.T, c *x509.Certificate) {
			now := time.Now()
			if !c.NotBefore.Before(now) || c.NotAfter.Before(now.Add(700*24*time.Hour)) {
				t.Errorf("default validity %v..%v", c.NotBefore, c.NotAfter)
			}
		}},
		{"email and organization", LeafOptions{Email: "x@example.org", Organization: "Acme"}, func(t *testing.T, c *x509.Certificate) {
			if len(c.EmailAddresses) != 1 || c.EmailAddresses[0] != "x@example.org" {
				t.Errorf("emails %v", c.EmailAddresses)
			}
			if len(c.Subject.Organization) != 1 || c.Subject.Organization[0] != "Acme" {
				t.Errorf("organization %v", c.Subject.Organization)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := root.IssueSigner("Leaf", ECDSAP256, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
	var nilCA *CA
	if _, _, err := nilCA.IssueSigner("x", ECDSAP256, LeafOptions{}); err == nil {
		t.Error("nil CA issued a certificate")
	}
}

// TestRootValidity: NewRoot lives ten years, NewRootValidFor as long as
// asked, both self-signed CAs.
func TestRootValidity(t *testing.T) {
	for _, tc := range []struct {
		name     string
		new      func() (*CA, error)
		validity time.Duration
	}{
		{"default", func() (*CA, error) { return NewRoot("Root", ECDSAP256) }, validityCA},
		{"twenty years", func() (*CA, error) { return NewRootValidFor("Root", ECDSAP256, 20*365*24*time.Hour) }, 20 * 365 * 24 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ca, err := tc.new()
			if err != nil {
				t.Fatal(err)
			}
			if got := ca.Cert.NotAfter.Sub(time.Now()); got > tc.validity || got < tc.validity-time.Hour {
				t.Errorf("valid for %v more, want %v", got, tc.validity)
			}
			if !ca.Cert.IsCA || ca.Cert.CheckSignatureFrom(ca.Cert) != nil {
				t.Error("not a self-signed CA")
			}
		})
	}
}

func TestWriteKeyPEM(t *testing.T) {
	dir := t.TempDir()
	for _, alg := range []KeyAlg{ECDSAP256, RSA2048} {
		t.Run(string(alg), func(t *testing.T) {
			key, err := NewKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, string(alg)+".key")
			if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := WriteKeyPEM(path, key); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", st.Mode().Perm())
			}
			out := openssl(t, "pkey", "-in", path, "-pubout")
			if !strings.Contains(out, "BEGIN PUBLIC KEY") {
				t.Errorf("openssl pkey output: %s", out)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(data), "-----BEGIN PRIVATE KEY-----") {
				t.Errorf("not a PKCS#8 PEM file: %.40q", data)
			}
		})
	}
}
