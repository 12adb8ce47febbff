package remote_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/remote"
	"github.com/signet-pki/signet/keys/soft"
)

// renamed is a soft backend under another name, standing for a second
// backend of the signer (a PKCS#11 token in production).
type renamed struct {
	*soft.Backend
	name string
}

func (r renamed) Name() string { return r.name }

// TestFurtherBackends: a signer serving a second backend names it at
// dial; the client's view of it generates, signs, wraps, unwraps and
// destroys in that backend and no other, and a request naming a backend
// the signer does not serve is refused as unavailable.
func TestFurtherBackends(t *testing.T) {
	hsm := renamed{newBackend(t), "pkcs11:test"}
	f := startSigner(t, 0, hsm)
	c := f.dial(t)
	ctx := context.Background()
	others := c.Backends()
	if len(others) != 1 || others[0].Name() != "pkcs11:test" || c.Name() != f.backend.Name() {
		t.Fatalf("the client sees %q and %v; want %q and [pkcs11:test]", c.Name(), others, f.backend.Name())
	}
	b := others[0]
	w := b.(keys.Wrapper)

	h, _, err := b.Generate(ctx, keys.AES256, "kek/v1")
	if err != nil {
		t.Fatal(err)
	}
	dk := bytes.Repeat([]byte{7}, 32)
	blob, err := w.Wrap(ctx, h, dk, []byte("ad"))
	if err != nil {
		t.Fatal(err)
	}
	// The key is in the further backend, not the default one.
	if pt, err := hsm.Unwrap(ctx, h, blob, []byte("ad")); err != nil || !bytes.Equal(pt, dk) {
		t.Fatalf("the further backend does not open its own wrapping: %v", err)
	}
	if _, err := c.Unwrap(ctx, h, blob, []byte("ad")); err == nil {
		t.Fatal("the default backend opened a wrapping of the further backend's key")
	}
	if pt, err := w.Unwrap(ctx, h, blob, []byte("ad")); err != nil || !bytes.Equal(pt, dk) {
		t.Fatalf("unwrap through the client: %v", err)
	}

	sh, pub, err := b.Generate(ctx, keys.ECDSAP256, "signer/v1")
	if err != nil {
		t.Fatal(err)
	}
	s, err := b.Signer(ctx, sh)
	if err != nil {
		t.Fatal(err)
	}
	d := sha256.Sum256([]byte("document"))
	sig, err := s.Sign(nil, d[:], crypto.SHA256)
	if err != nil || !ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), d[:], sig) {
		t.Fatalf("signature through the further backend: %v", err)
	}
	if _, err := c.Signer(ctx, sh); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Fatalf("the default backend has the further backend's key: %v", err)
	}

	if err := b.Destroy(ctx, h); err != nil {
		t.Fatal(err)
	}
	if _, err := hsm.Unwrap(ctx, h, blob, []byte("ad")); !errors.Is(err, keys.ErrKeyNotFound) {
		t.Fatalf("after destroy the further backend still has the key: %v", err)
	}

	// A signer restarted without the backend refuses calls naming it.
	f.others = nil
	f.restart(t)
	c.Close() // its idle connections went with the old signer
	if _, _, err := b.Generate(ctx, keys.AES256, "kek/v2"); !errors.Is(err, keys.ErrBackendUnavailable) || !strings.Contains(err.Error(), `no backend "pkcs11:test"`) {
		t.Fatalf("a call to a backend the signer no longer serves: %v; want keys.ErrBackendUnavailable", err)
	}
	if _, _, err := c.Generate(ctx, keys.AES256, "kek/v2"); err != nil {
		t.Fatalf("the default backend after the restart: %v", err)
	}
}

// TestHandlerRefusesDuplicateBackends: two backends of one name cannot
// be served: a request would reach either.
func TestHandlerRefusesDuplicateBackends(t *testing.T) {
	ca, err := remote.NewTransportCA(nil)
	if err != nil {
		t.Fatal(err)
	}
	a := newBackend(t)
	cfg := remote.HandlerConfig{Backend: a, CA: ca, EnrolmentKey: make([]byte, remote.EnrolmentKeySize), Logger: slog.New(slog.DiscardHandler)}
	for _, others := range [][]keys.Backend{{a}, {renamed{a, "x"}, renamed{a, "x"}}, {renamed{a, ""}}} {
		cfg.Backends = others
		if _, err := remote.NewHandler(cfg); err == nil || !strings.Contains(err.Error(), "remote:") {
			t.Errorf("backends %v: %v; want a refusal", others, err)
		}
	}
}
