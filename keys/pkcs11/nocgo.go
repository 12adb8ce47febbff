//go:build !cgo

package pkcs11

import (
	"context"
	"crypto"
	"errors"

	"github.com/signet-pki/signet/keys"
)

// A Backend is a [keys.Backend] on one PKCS#11 token. This build has no cgo,
// so no Backend can be opened.
type Backend struct{}

var (
	_ keys.Backend = (*Backend)(nil)
	_ keys.Wrapper = (*Backend)(nil)
)

var errNoCgo = errors.New("pkcs11: PKCS#11 needs cgo; this build has none")

func unavailable() error { return errors.Join(errNoCgo, keys.ErrBackendUnavailable) }

// Open returns an error wrapping [keys.ErrBackendUnavailable]: PKCS#11
// modules are C libraries and this build has no cgo.
func Open(ctx context.Context, cfg Config) (*Backend, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return nil, unavailable()
}

// Close does nothing.
func (b *Backend) Close() error { return nil }

// Name returns "pkcs11".
func (b *Backend) Name() string { return "pkcs11" }

// Generate returns an error wrapping [keys.ErrBackendUnavailable].
func (b *Backend) Generate(ctx context.Context, alg keys.Algorithm, label string) (string, crypto.PublicKey, error) {
	return "", nil, unavailable()
}

// Find returns an error wrapping [keys.ErrBackendUnavailable].
func (b *Backend) Find(ctx context.Context, label string, id []byte) (string, error) {
	return "", unavailable()
}

// Signer returns an error wrapping [keys.ErrBackendUnavailable].
func (b *Backend) Signer(ctx context.Context, handle string) (crypto.Signer, error) {
	return nil, unavailable()
}

// Destroy returns an error wrapping [keys.ErrBackendUnavailable].
func (b *Backend) Destroy(ctx context.Context, handle string) error {
	return unavailable()
}

// Wrap returns an error wrapping [keys.ErrBackendUnavailable].
func (b *Backend) Wrap(ctx context.Context, handle string, plaintext, aad []byte) ([]byte, error) {
	return nil, unavailable()
}

// Unwrap returns an error wrapping [keys.ErrBackendUnavailable].
func (b *Backend) Unwrap(ctx context.Context, handle string, ciphertext, aad []byte) ([]byte, error) {
	return nil, unavailable()
}
