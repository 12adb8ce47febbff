//go:build !cgo

package pkcs11

import (
	"context"
	"errors"
	"testing"

	"github.com/signet-pki/signet/keys"
)

// TestOpenWithoutCgo checks that a build without cgo fails closed.
func TestOpenWithoutCgo(t *testing.T) {
	_, err := Open(context.Background(), Config{Module: "/usr/lib/softhsm/libsofthsm2.so", TokenLabel: "t", PIN: "1234"})
	if !errors.Is(err, keys.ErrBackendUnavailable) {
		t.Fatalf("Open: %v, want ErrBackendUnavailable", err)
	}
	var b Backend
	if _, _, err := b.Generate(context.Background(), keys.ECDSAP256, "x"); !errors.Is(err, keys.ErrBackendUnavailable) {
		t.Errorf("Generate: %v", err)
	}
	if _, err := b.Wrap(context.Background(), "00", []byte("k"), nil); !errors.Is(err, keys.ErrBackendUnavailable) {
		t.Errorf("Wrap: %v", err)
	}
	if _, err := b.Unwrap(context.Background(), "00", make([]byte, 28), nil); !errors.Is(err, keys.ErrBackendUnavailable) {
		t.Errorf("Unwrap: %v", err)
	}
}
