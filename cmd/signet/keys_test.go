package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	auditsqlite "github.com/signet-pki/signet/auditlog/sqlite"
	"github.com/signet-pki/signet/internal/testpki"
)

// keysCLI runs signet commands against one data directory and keeps every
// byte they print, to check that no private material ever appears.
type keysCLI struct {
	t       *testing.T
	data    string
	printed strings.Builder
}

func (c *keysCLI) run(args ...string) (int, string, string) {
	c.t.Helper()
	code, out, errb := signetRun(c.t, args...)
	c.printed.WriteString(out + errb)
	return code, out, errb
}

// keys runs "signet keys SUB --data DIR ARGS...".
func (c *keysCLI) keys(sub string, args ...string) (int, string, string) {
	c.t.Helper()
	return c.run(append([]string{"keys", sub, "--data", c.data}, args...)...)
}

func (c *keysCLI) mustKeys(sub string, args ...string) string {
	c.t.Helper()
	code, out, errb := c.keys(sub, args...)
	if code != 0 {
		c.t.Fatalf("keys %s %v: exit %d: %s", sub, args, code, errb)
	}
	return out
}

func parsePublicPEM(t *testing.T, s string) any {
	t.Helper()
	b, rest := pem.Decode([]byte(s))
	if b == nil || b.Type != "PUBLIC KEY" || len(strings.TrimSpace(string(rest))) != 0 {
		t.Fatalf("not one PEM public key: %q", s)
	}
	pub, err := x509.ParsePKIXPublicKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func TestKeysCLI(t *testing.T) {
	dir := t.TempDir()
	c := &keysCLI{t: t, data: filepath.Join(dir, "data")}

	// Usage errors exit 2 and change nothing.
	for _, args := range [][]string{
		{"create"},
		{"create", "--purpose", "coffee"},
		{"create", "--purpose", "data-key-wrapping", "--alg", "ecdsa-p256"},
		{"create", "--purpose", "document-signing", "--usage-limit", "-1"},
		{"show"},
		{"show", "knope"},
		{"rotate", "knope"},
		{"revoke", "knope"},
		{"revoke", "knope", "--reason", "certificateHold"},
		{"export-public", "knope"},
		{"list", "extra"},
	} {
		if code, _, errb := c.keys(args[0], args[1:]...); code != 2 || !strings.HasPrefix(errb, "signet: ") {
			t.Errorf("keys %v: exit %d, stderr %q; want 2 with a signet: message", args, code, errb)
		}
	}
	if code, _, _ := c.run("keys"); code != 2 {
		t.Errorf("keys without subcommand: exit %d, want 2", code)
	}
	if code, _, _ := c.run("keys", "frobnicate"); code != 2 {
		t.Errorf("unknown subcommand: exit %d, want 2", code)
	}

	id := strings.TrimSpace(c.mustKeys("create", "--purpose", "document-signing", "--label", "Contracts", "--tenant", "acme", "--rotate-after", "720h", "--usage-limit", "1000"))
	wrapID := strings.TrimSpace(c.mustKeys("create", "--purpose", "data-key-wrapping"))
	list := c.mustKeys("list")
	if !strings.Contains(list, id) || !strings.Contains(list, wrapID) || !strings.Contains(list, "Contracts") {
		t.Fatalf("list:\n%s", list)
	}
	if list := c.mustKeys("list", "--tenant", "acme"); strings.Contains(list, wrapID) || !strings.Contains(list, id) {
		t.Errorf("list --tenant acme:\n%s", list)
	}
	show := c.mustKeys("show", id)
	for _, want := range []string{"purpose:      document-signing", "tenant:       acme", "rotate-after: 720h0m0s", "usage-limit:  1000", "version 1:    active"} {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q:\n%s", want, show)
		}
	}
	pub1 := parsePublicPEM(t, c.mustKeys("export-public", id))
	if code, _, _ := c.keys("export-public", wrapID); code != 2 {
		t.Errorf("export-public of an AES key: exit %d, want 2", code)
	}

	// Rotate: v2 is active, v1 still exports.
	if out := c.mustKeys("rotate", id); !strings.Contains(out, "version 2") {
		t.Errorf("rotate: %q", out)
	}
	pub2 := parsePublicPEM(t, c.mustKeys("export-public", id))
	v1 := parsePublicPEM(t, c.mustKeys("export-public", id, "--version", "1"))
	if !equalKeys(v1, pub1) || equalKeys(pub1, pub2) {
		t.Error("export-public: v1 changed or v2 equals v1")
	}

	// Sign a PDF with the store's key: signet:ID with a certificate for it.
	root, err := testpki.NewRoot("Key Store Root", testpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	certPath, rootPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "root.pem")
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Store Signer"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root.Cert, pub2, root.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	if err := testpki.WritePEM(certPath, cert); err != nil {
		t.Fatal(err)
	}
	if err := testpki.WritePEM(rootPath, root.Cert); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SIGNET_DATA", c.data)
	out := filepath.Join(dir, "signed.pdf")
	if code, _, errb := c.run("sign", "--key", "signet:"+id, "--cert", certPath, sample("classic.pdf"), out); code != 0 {
		t.Fatalf("sign with signet:%s: exit %d: %s", id, code, errb)
	}
	if code, stdout, errb := c.run("verify", "--trust", rootPath, out); code != 0 || !strings.Contains(stdout, "VALID") {
		t.Fatalf("verify: exit %d\n%s%s", code, stdout, errb)
	}
	if code, _, errb := c.run("sign", "--key", "signet:"+wrapID, "--cert", certPath, sample("classic.pdf"), filepath.Join(dir, "x.pdf")); code != 2 {
		t.Errorf("sign with a wrapping key: exit %d (%s), want 2", code, errb)
	}
	if show := c.mustKeys("show", id); !strings.Contains(show, "version 2:    active") || !strings.Contains(show, "used 1 times") {
		t.Errorf("after signing:\n%s", show)
	}

	// Revoke: reason required; then the key no longer signs.
	if code, _, _ := c.keys("revoke", id); code != 2 {
		t.Errorf("revoke without --reason: exit %d, want 2", code)
	}
	if code, _, _ := c.keys("revoke", id, "--reason", "keyCompromise", "--compromise-time", "yesterday"); code != 2 {
		t.Errorf("revoke with a bad time: exit %d, want 2", code)
	}
	ct := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	rev := c.mustKeys("revoke", id, "--version", "2", "--reason", "keyCompromise", "--compromise-time", ct)
	if !strings.Contains(rev, id+"/v2") || !strings.Contains(rev, "keyCompromise") {
		t.Errorf("revoke: %q", rev)
	}
	if show := c.mustKeys("show", id); !strings.Contains(show, "version 2:    revoked") || !strings.Contains(show, "compromised "+ct) {
		t.Errorf("after revoke:\n%s", show)
	}
	if code, _, _ := c.keys("revoke", id, "--version", "2", "--reason", "keyCompromise"); code != 2 {
		t.Errorf("revoking again: exit %d, want 2", code)
	}
	if code, _, _ := c.run("sign", "--key", "signet:"+id, "--cert", certPath, sample("classic.pdf"), filepath.Join(dir, "y.pdf")); code == 0 {
		t.Error("signing with a revoked key succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "y.pdf")); err == nil {
		t.Error("output written by a refused signature")
	}

	// Every operation reached the audit log.
	as, err := auditsqlite.Open(filepath.Join(c.data, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := as.Size(context.Background())
	as.Close()
	if err != nil || n < 8 {
		t.Errorf("audit log holds %d records (%v), want at least 8", n, err)
	}

	// No private material in anything printed.
	printed := c.printed.String()
	for _, name := range []string{"master.key", "audit.master"} {
		b, err := os.ReadFile(filepath.Join(c.data, name))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(printed, strings.TrimSpace(string(b))) {
			t.Errorf("%s printed", name)
		}
	}
	if strings.Contains(printed, "PRIVATE") || strings.Contains(printed, "soft-") {
		t.Error("output mentions private keys or backend handles")
	}
}

// mustKeysEnvFree shows key id with SIGNET_MASTER_KEY unset.
func (c *keysCLI) mustKeysEnvFree(t *testing.T, id string) string {
	old := os.Getenv("SIGNET_MASTER_KEY")
	os.Unsetenv("SIGNET_MASTER_KEY")
	defer os.Setenv("SIGNET_MASTER_KEY", old)
	return c.mustKeys("show", id)
}

// TestKeysCLIMasterKey checks the master key's custody: the key file is
// created 0600, a wider mode is refused, and SIGNET_MASTER_KEY replaces
// the file (a different key cannot open existing keys).
func TestKeysCLIMasterKey(t *testing.T) {
	c := &keysCLI{t: t, data: filepath.Join(t.TempDir(), "data")}
	id := strings.TrimSpace(c.mustKeys("create", "--purpose", "document-signing"))
	mk := filepath.Join(c.data, "master.key")
	st, err := os.Stat(mk)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("master.key mode %04o, want 0600", st.Mode().Perm())
	}
	if err := os.Chmod(mk, 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errb := c.keys("list")
	if code != 2 || !strings.Contains(errb, "0600") {
		t.Errorf("list with a 0644 master key: exit %d, %q", code, errb)
	}
	os.Chmod(mk, 0o600)

	// Another master key from the environment is refused before any key
	// is sealed under it: beside the file it contradicts it, and alone it
	// does not open the key directory.
	t.Setenv("SIGNET_MASTER_KEY", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	if code, _, errb := c.keys("rotate", id); code != 2 || !strings.Contains(errb, "SIGNET_MASTER_KEY and the master key file hold different keys") {
		t.Errorf("rotate with another master key beside master.key: exit %d, %q", code, errb)
	}
	saved, err := os.ReadFile(mk)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(mk); err != nil {
		t.Fatal(err)
	}
	if code, _, errb := c.keys("rotate", id); code != 2 || !strings.Contains(errb, "master key does not match") {
		t.Errorf("rotate under another master key: exit %d, %q", code, errb)
	}
	if _, err := os.Stat(mk); err == nil {
		t.Error("a master key in the environment wrote master.key")
	}
	if err := os.WriteFile(mk, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	if show := c.mustKeysEnvFree(t, id); !strings.Contains(show, "version 1:    active") || strings.Contains(show, "version 2") {
		t.Errorf("key changed under a wrong master key:\n%s", show)
	}
	t.Setenv("SIGNET_MASTER_KEY", "short")
	if code, _, errb := c.keys("list"); code != 2 || strings.Contains(errb, "short") {
		t.Errorf("bad SIGNET_MASTER_KEY: exit %d, %q", code, errb)
	}
}

func equalKeys(a, b any) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// TestKeysCLIMissingDataDir: the subcommands that read or change existing
// keys, given a data directory that holds no key store (a mistyped
// --data), exit 2 naming it and create nothing there, no master key
// above all; only create makes a new key store.
func TestKeysCLIMissingDataDir(t *testing.T) {
	c := &keysCLI{t: t, data: filepath.Join(t.TempDir(), "typo")}
	for _, args := range [][]string{{"list"}, {"show", "knope"}, {"rotate", "knope"}, {"revoke", "knope", "--reason", "keyCompromise"}, {"export-public", "knope"}} {
		code, _, errb := c.keys(args[0], args[1:]...)
		if code != 2 || !strings.Contains(errb, "no key store in "+c.data) {
			t.Errorf("keys %v: exit %d, stderr %q; want 2 naming the missing key store", args, code, errb)
		}
		if _, err := os.Stat(c.data); !os.IsNotExist(err) {
			t.Fatalf("keys %v created %s: %v", args, c.data, err)
		}
	}
	c.mustKeys("create", "--purpose", "document-signing")
	if list := c.mustKeys("list"); !strings.Contains(list, "document-signing") {
		t.Errorf("list after create:\n%s", list)
	}
}
