//go:build cgo

package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/testpki"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/pkcs11"
)

const (
	hsmModule = "/usr/lib/softhsm/libsofthsm2.so"
	hsmToken  = "signet-cli"
	hsmPIN    = "2468-cli-pin"
)

// hsmFixture is a SoftHSM2 token with an ECDSA P-256 and an RSA-2048 key
// generated in it, and certificates for both from a test root.
type hsmFixture struct {
	dir, root string
	certs     map[keys.Algorithm]string // PEM file per key
	labels    map[keys.Algorithm]string
}

var (
	hsmOnce sync.Once
	hsm     *hsmFixture
	hsmErr  error
)

// newHSM sets SOFTHSM2_CONF for the whole test process (SoftHSM reads it
// once per process) and makes the token on first use. It fails, not skips,
// when SoftHSM2 is missing: make test installs it.
func newHSM(t *testing.T) *hsmFixture {
	t.Helper()
	hsmOnce.Do(func() { hsm, hsmErr = makeHSM() })
	if hsmErr != nil {
		t.Fatalf("SoftHSM2 fixture: %v", hsmErr)
	}
	return hsm
}

func makeHSM() (*hsmFixture, error) {
	if _, err := exec.LookPath("softhsm2-util"); err != nil {
		return nil, fmt.Errorf("softhsm2-util not found (install softhsm2, or run make test)")
	}
	if _, err := os.Stat(hsmModule); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "signet-cli-hsm-")
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "softhsm2.conf")
	if err := os.Mkdir(filepath.Join(dir, "tokens"), 0o700); err != nil {
		return nil, err
	}
	body := fmt.Sprintf("directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n", dir)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		return nil, err
	}
	os.Setenv("SOFTHSM2_CONF", conf)
	if out, err := exec.Command("softhsm2-util", "--init-token", "--free", "--label", hsmToken, "--so-pin", "87654321", "--pin", hsmPIN).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("softhsm2-util: %v\n%s", err, out)
	}
	root, err := testpki.NewRoot("HSM CLI Root", testpki.ECDSAP256)
	if err != nil {
		return nil, err
	}
	f := &hsmFixture{dir: dir, root: filepath.Join(dir, "root.pem"), certs: map[keys.Algorithm]string{}, labels: map[keys.Algorithm]string{}}
	if err := testpki.WritePEM(f.root, root.Cert); err != nil {
		return nil, err
	}
	ctx := context.Background()
	b, err := pkcs11.Open(ctx, pkcs11.Config{Module: hsmModule, TokenLabel: hsmToken, PIN: hsmPIN})
	if err != nil {
		return nil, err
	}
	defer b.Close()
	for _, alg := range []keys.Algorithm{keys.ECDSAP256, keys.RSA2048} {
		label := "signer-" + string(alg)
		_, pub, err := b.Generate(ctx, alg, label)
		if err != nil {
			return nil, err
		}
		cert, err := issueFor(root, pub, "HSM Signer "+string(alg))
		if err != nil {
			return nil, err
		}
		f.labels[alg] = label
		f.certs[alg] = filepath.Join(dir, label+".pem")
		if err := testpki.WritePEM(f.certs[alg], cert); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// issueFor issues a document-signer certificate for a public key held in
// the token, with the profile of testpki's signers.
func issueFor(ca *testpki.CA, pub crypto.PublicKey, cn string) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:   serial,
		Subject:        pkix.Name{CommonName: cn},
		NotBefore:      time.Now().Add(-time.Hour),
		NotAfter:       time.Now().Add(24 * time.Hour),
		KeyUsage:       x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
		EmailAddresses: []string{"hsm@example.com"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// TestSignPKCS11CLI signs with keys generated inside SoftHSM2 through
// signet sign --key pkcs11:..., with the PIN from the environment, from a
// pin-source file and from pin-value, with and without PSS; pdfsig and
// signet verify must both accept each output.
func TestSignPKCS11CLI(t *testing.T) {
	f := newHSM(t)
	pinFile := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(pinFile, []byte(hsmPIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		alg   keys.Algorithm
		query string
		env   string
		extra []string
	}{
		{"ecdsa, PIN from env", keys.ECDSAP256, "", hsmPIN, nil},
		{"ecdsa, pin-source file", keys.ECDSAP256, "?pin-source=file:" + pinFile, "", nil},
		{"rsa, pin-value and module-path", keys.RSA2048, "?pin-value=" + hsmPIN + "&module-path=" + hsmModule, "", nil},
		{"rsa pss, PIN from env", keys.RSA2048, "", hsmPIN, []string{"--pss"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(envPKCS11PIN, tt.env)
			t.Setenv(envPKCS11Module, "")
			out := filepath.Join(t.TempDir(), "hsm.pdf")
			uri := "pkcs11:token=" + hsmToken + ";object=" + f.labels[tt.alg] + tt.query
			args := append([]string{"sign", "--key", uri, "--cert", f.certs[tt.alg]}, tt.extra...)
			code, stdout, stderr := signetRun(t, append(args, sample("classic.pdf"), out)...)
			if code != 0 {
				t.Fatalf("sign: exit %d: %s", code, stderr)
			}
			if !strings.Contains(stdout, "HSM Signer") {
				t.Errorf("sign output %q does not name the signer", stdout)
			}
			pdfsig, err := exec.Command("pdfsig", out).CombinedOutput()
			if err != nil || !strings.Contains(string(pdfsig), "Signature is Valid.") {
				t.Errorf("pdfsig: %v\n%s", err, pdfsig)
			}
			if code, stdout, stderr := signetRun(t, "verify", "--trust", f.root, out); code != 0 || !strings.Contains(stdout, "VALID") {
				t.Errorf("signet verify: exit %d\n%s%s", code, stdout, stderr)
			}
		})
	}
}

// TestSignPKCS11Errors checks that each unusable pkcs11: reference exits 2
// with one line naming the problem, never the PIN, and writes no output.
func TestSignPKCS11Errors(t *testing.T) {
	f := newHSM(t)
	const badPIN = "9999-bad-pin"
	ec := f.certs[keys.ECDSAP256]
	tests := []struct {
		name, uri, env, cert, want string
	}{
		{"wrong PIN", "pkcs11:token=" + hsmToken + ";object=signer-ecdsa-p256?pin-value=" + badPIN, "", ec, "wrong PIN"},
		{"missing token", "pkcs11:token=no-such-token;object=signer-ecdsa-p256", hsmPIN, ec, `no initialized token labelled "no-such-token"`},
		{"missing key", "pkcs11:token=" + hsmToken + ";object=nope", hsmPIN, ec, `no private key with label "nope"`},
		{"missing module", "pkcs11:token=" + hsmToken + ";object=signer-ecdsa-p256?module-path=/nonexistent/p11.so", hsmPIN, ec, "/nonexistent/p11.so"},
		{"no PIN", "pkcs11:token=" + hsmToken + ";object=signer-ecdsa-p256", "", ec, "no PIN"},
		{"slot id", "pkcs11:slot-id=0;object=signer-ecdsa-p256", hsmPIN, ec, "by label"},
		{"no cert", "pkcs11:token=" + hsmToken + ";object=signer-ecdsa-p256", hsmPIN, "", "needs --cert"},
		{"cert of another key", "pkcs11:token=" + hsmToken + ";object=signer-ecdsa-p256", hsmPIN, f.certs[keys.RSA2048], "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(envPKCS11PIN, tt.env)
			t.Setenv(envPKCS11Module, "")
			outDir := t.TempDir()
			args := []string{"sign", "--key", tt.uri}
			if tt.cert != "" {
				args = append(args, "--cert", tt.cert)
			}
			code, _, stderr := signetRun(t, append(args, sample("classic.pdf"), filepath.Join(outDir, "out.pdf"))...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (stderr %q)", code, stderr)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q: want one line containing %q", stderr, tt.want)
			}
			if strings.Contains(stderr, badPIN) || strings.Contains(stderr, hsmPIN) {
				t.Errorf("stderr reveals the PIN: %q", stderr)
			}
			if entries, _ := os.ReadDir(outDir); len(entries) != 0 {
				t.Errorf("left files behind: %v", entries)
			}
		})
	}
}
