package soft_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/soft"
)

func newBackend(t *testing.T, dir string, mk []byte) *soft.Backend {
	t.Helper()
	b, err := soft.New(soft.Config{Dir: dir, MasterKey: mk})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func masterKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, soft.MasterKeySize)
	rand.Read(k)
	return k
}

func TestKeyFileMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	k1, err := soft.LoadKeyFile(path, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("created with mode %04o, want 0600", st.Mode().Perm())
	}
	k2, err := soft.LoadKeyFile(path, rand.Reader)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("reload = %v, same key %v", err, bytes.Equal(k1, k2))
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o666, 0o700 | 0o070} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := soft.LoadKeyFile(path, rand.Reader); !errors.Is(err, soft.ErrKeyFileMode) {
			t.Errorf("mode %04o: err = %v, want ErrKeyFileMode", mode, err)
		}
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		os.Chmod(path, mode)
		if _, err := soft.LoadKeyFile(path, rand.Reader); err != nil {
			t.Errorf("mode %04o: %v", mode, err)
		}
	}
	link := filepath.Join(dir, "link.key")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	if _, err := soft.LoadKeyFile(link, rand.Reader); !errors.Is(err, soft.ErrKeyFileMode) {
		t.Errorf("symlink: err = %v, want ErrKeyFileMode", err)
	}
	bad := filepath.Join(dir, "short.key")
	os.WriteFile(bad, []byte(base64.StdEncoding.EncodeToString([]byte("short"))), 0o600)
	if _, err := soft.LoadKeyFile(bad, rand.Reader); err == nil {
		t.Error("short key file accepted")
	}
}

func TestParseMasterKey(t *testing.T) {
	k := masterKey(t)
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{base64.StdEncoding.EncodeToString(k), true},
		{base64.StdEncoding.EncodeToString(k) + "\n", true},
		{base64.StdEncoding.EncodeToString(k[:31]), false},
		{"not base64!", false},
		{"", false},
	} {
		got, err := soft.ParseMasterKey(tc.in)
		if (err == nil) != tc.ok || tc.ok && !bytes.Equal(got, k) {
			t.Errorf("ParseMasterKey(%q) = %x, %v", tc.in, got, err)
		}
		if err != nil && strings.Contains(err.Error(), strings.TrimSpace(tc.in)) && tc.in != "" {
			t.Errorf("error echoes the key: %v", err)
		}
	}
}

func TestGenerateAndSign(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t, t.TempDir(), masterKey(t))
	msg := []byte("message")
	d := sha256.Sum256(msg)
	for _, alg := range []keys.Algorithm{keys.ECDSAP256, keys.ECDSAP384, keys.RSA2048, keys.Ed25519} {
		h, pub, err := b.Generate(ctx, alg, "label")
		if err != nil {
			t.Fatal(err)
		}
		s, err := b.Signer(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		var ok bool
		switch p := pub.(type) {
		case *ecdsa.PublicKey:
			sig, err := s.Sign(rand.Reader, d[:], crypto.SHA256)
			ok = err == nil && ecdsa.VerifyASN1(p, d[:], sig)
		case *rsa.PublicKey:
			sig, err := s.Sign(rand.Reader, d[:], crypto.SHA256)
			ok = err == nil && rsa.VerifyPKCS1v15(p, crypto.SHA256, d[:], sig) == nil
		case ed25519.PublicKey:
			sig, err := s.Sign(rand.Reader, msg, crypto.Hash(0))
			ok = err == nil && ed25519.Verify(p, msg, sig)
		}
		if !ok {
			t.Errorf("%s: signature does not verify", alg)
		}
	}
	if _, _, err := b.Generate(ctx, "dsa-1024", ""); !errors.Is(err, keys.ErrUnsupportedAlgorithm) {
		t.Errorf("unknown algorithm: err = %v", err)
	}
}

func TestWrapAndMAC(t *testing.T) {
	ctx := context.Background()
	b := newBackend(t, t.TempDir(), masterKey(t))
	h, pub, err := b.Generate(ctx, keys.AES256, "")
	if err != nil || pub != nil {
		t.Fatal(pub, err)
	}
	ct, err := b.Wrap(ctx, h, []byte("dek"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := b.Unwrap(ctx, h, ct, []byte("aad")); err != nil || string(pt) != "dek" {
		t.Fatalf("Unwrap = %q, %v", pt, err)
	}
	if _, err := b.Unwrap(ctx, h, ct, []byte("other")); !errors.Is(err, soft.ErrUnwrap) {
		t.Errorf("wrong aad: %v", err)
	}
	if _, err := b.MAC(ctx, h, []byte("x")); !errors.Is(err, keys.ErrUnsupportedAlgorithm) {
		t.Errorf("MAC with an AES key: %v", err)
	}
	if _, err := b.Signer(ctx, h); !errors.Is(err, keys.ErrUnsupportedAlgorithm) {
		t.Errorf("Signer with an AES key: %v", err)
	}
	hm, _, err := b.Generate(ctx, keys.HMACSHA256, "")
	if err != nil {
		t.Fatal(err)
	}
	m1, err1 := b.MAC(ctx, hm, []byte("body"))
	m2, err2 := b.MAC(ctx, hm, []byte("body"))
	m3, _ := b.MAC(ctx, hm, []byte("body2"))
	if err1 != nil || err2 != nil || !bytes.Equal(m1, m2) || bytes.Equal(m1, m3) || len(m1) != 32 {
		t.Errorf("MAC: %x %x %x %v %v", m1, m2, m3, err1, err2)
	}
	if _, err := b.Wrap(ctx, hm, []byte("x"), nil); !errors.Is(err, keys.ErrUnsupportedAlgorithm) {
		t.Errorf("Wrap with an HMAC key: %v", err)
	}
}

func TestSealing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	mk := masterKey(t)
	b := newBackend(t, dir, mk)
	h1, _, err := b.Generate(ctx, keys.ECDSAP256, "")
	if err != nil {
		t.Fatal(err)
	}
	h2, _, err := b.Generate(ctx, keys.ECDSAP256, "")
	if err != nil {
		t.Fatal(err)
	}
	s1, err := b.Signer(ctx, h1)
	if err != nil {
		t.Fatal(err)
	}
	// The file holds no recognizable key material.
	priv := s1.(interface{ String() string }) // formatting is checked elsewhere
	_ = priv
	p1 := filepath.Join(dir, h1+".key")
	blob, err := os.ReadFile(p1)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(p1)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("sealed file mode %04o", st.Mode().Perm())
	}
	pub, _ := x509.MarshalPKIXPublicKey(s1.Public())
	if bytes.Contains(blob, pub[len(pub)-32:]) || bytes.Contains(blob, []byte(keys.ECDSAP256)) {
		t.Error("sealed file holds plaintext")
	}
	// A wrong master key is refused at once.
	if _, err := soft.New(soft.Config{Dir: dir, MasterKey: masterKey(t)}); !errors.Is(err, soft.ErrWrongMasterKey) {
		t.Errorf("wrong master key: err = %v, want ErrWrongMasterKey", err)
	}
	// And, should the check file be lost, it still opens nothing.
	os.Remove(filepath.Join(dir, "master.check"))
	other := newBackend(t, dir, masterKey(t))
	if _, err := other.Signer(ctx, h1); !errors.Is(err, keys.ErrBackendUnavailable) {
		t.Errorf("wrong master key: err = %v, want ErrBackendUnavailable", err)
	}
	// Swapping files between handles is detected (the handle is AAD).
	b2, _ := os.ReadFile(filepath.Join(dir, h2+".key"))
	os.WriteFile(p1, b2, 0o600)
	if _, err := b.Signer(ctx, h1); !errors.Is(err, keys.ErrBackendUnavailable) {
		t.Errorf("swapped file: err = %v, want ErrBackendUnavailable", err)
	}
	// Handles cannot name other paths.
	for _, h := range []string{"../master", "soft-../../etc/passwd", "soft-" + strings.Repeat("G", 32), h1 + "/x", ""} {
		if _, err := b.Signer(ctx, h); !errors.Is(err, keys.ErrKeyNotFound) {
			t.Errorf("handle %q: err = %v, want ErrKeyNotFound", h, err)
		}
	}
	// Destroy is irreversible.
	if err := b.Destroy(ctx, h2); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, h2+".key")); !os.IsNotExist(err) {
		t.Errorf("sealed file still there: %v", err)
	}
	if _, err := b.Signer(ctx, h2); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Errorf("Signer after Destroy: %v", err)
	}
	if err := b.Destroy(ctx, h2); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Errorf("second Destroy: %v", err)
	}
}

// TestNoSecretsInFormatting formats the backend and its signers with every
// common verb and checks that neither the master key nor any private key
// appears, in any encoding.
func TestNoSecretsInFormatting(t *testing.T) {
	ctx := context.Background()
	mk := masterKey(t)
	b := newBackend(t, t.TempDir(), mk)
	var secrets [][]byte
	secrets = append(secrets, mk)
	var values []any
	values = append(values, b, *b)
	for _, alg := range []keys.Algorithm{keys.ECDSAP256, keys.RSA2048, keys.Ed25519} {
		h, _, err := b.Generate(ctx, alg, "")
		if err != nil {
			t.Fatal(err)
		}
		s, err := b.Signer(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		values = append(values, s)
		secrets = append(secrets, privateBytes(t, b, h)...)
	}
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
			out := fmt.Sprintf(verb, v)
			for _, sec := range secrets {
				for _, enc := range []string{string(sec), fmt.Sprintf("%x", sec), fmt.Sprintf("%X", sec), fmt.Sprint(sec),
					base64.StdEncoding.EncodeToString(sec), new(bigInt).SetBytes(sec).String()} {
					if len(enc) >= 8 && strings.Contains(out, enc) {
						t.Fatalf("%s of %T prints secret material: %s", verb, v, out)
					}
				}
			}
			if strings.Contains(out, "0x") {
				t.Errorf("%s of %T prints a pointer: %s", verb, v, out)
			}
		}
	}
}

// TestSessionKeys: session keys sign, never reach the key directory, and
// are gone after Destroy.
func TestSessionKeys(t *testing.T) {
	dir := t.TempDir()
	b, err := soft.New(soft.Config{Dir: dir, MasterKey: make([]byte, soft.MasterKeySize)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h, pub, err := b.GenerateSession(ctx, keys.ECDSAP256, "event")
	if err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 1 { // master.check only
		t.Errorf("session key wrote files: %v", entries)
	}
	s, err := b.Signer(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("x"))
	sig, err := s.Sign(nil, digest[:], crypto.SHA256)
	if err != nil || !ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), digest[:], sig) {
		t.Fatalf("session signature: %v", err)
	}
	if err := b.Destroy(ctx, h); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Signer(ctx, h); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Errorf("Signer after Destroy: %v", err)
	}
	if _, _, err := b.GenerateSession(ctx, keys.AES256, "x"); !errors.Is(err, keys.ErrUnsupportedAlgorithm) {
		t.Errorf("symmetric session key: %v", err)
	}
}
