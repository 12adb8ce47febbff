package datadir_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/signet-pki/signet/internal/datadir"
)

// TestIdentitySealer: a sealed second-factor secret opens with the same
// associated data under the same master key only, and its keys differ
// from the other derived keys.
func TestIdentitySealer(t *testing.T) {
	ctx := t.Context()
	a := open(t, filepath.Join(t.TempDir(), "a"), datadir.Options{})
	s, err := a.IdentitySealer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("JBSWY3DPEHPK3PXP-totp-key")
	sealed, err := s.Seal(secret, []byte("t1\x00u1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, secret) {
		t.Fatal("sealed value holds the secret")
	}
	if got, err := s.Open(sealed, []byte("t1\x00u1")); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("open: %q, %v", got, err)
	}
	again, _ := s.Seal(secret, []byte("t1\x00u1"))
	if bytes.Equal(again, sealed) {
		t.Error("two seals of one value are equal (nonce reused)")
	}
	tampered := bytes.Clone(sealed)
	tampered[len(tampered)-1] ^= 1
	b := open(t, filepath.Join(t.TempDir(), "b"), datadir.Options{})
	other, err := b.IdentitySealer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, try := range map[string]func() ([]byte, error){
		"another user":       func() ([]byte, error) { return s.Open(sealed, []byte("t1\x00u2")) },
		"tampered":           func() ([]byte, error) { return s.Open(tampered, []byte("t1\x00u1")) },
		"short":              func() ([]byte, error) { return s.Open(sealed[:10], []byte("t1\x00u1")) },
		"another master key": func() ([]byte, error) { return other.Open(sealed, []byte("t1\x00u1")) },
	} {
		if got, err := try(); err == nil {
			t.Errorf("%s: opened %q", name, got)
		}
	}
	code, _ := a.RecipientCodeKey(ctx)
	rec, _ := a.RecoveryCodeKey(ctx)
	if len(rec) != 32 || bytes.Equal(rec, code) {
		t.Errorf("recovery key %x, recipient code key %x: want 32 distinct bytes", rec, code)
	}
}
