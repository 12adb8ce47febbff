package datadir

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// A Sealer seals small secrets (users' TOTP keys) under a key derived
// from the master key: AES-256-GCM with a random 96-bit nonce, the
// caller's associated data bound to the value, so that a sealed value
// copied to another user's record does not open there. A sealed value
// is nonce || ciphertext || tag.
type Sealer struct{ aead cipher.AEAD }

func newSealer(key []byte) (*Sealer, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("datadir: sealer: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("datadir: sealer: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal seals plaintext bound to additionalData.
func (s *Sealer) Seal(plaintext, additionalData []byte) ([]byte, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return s.aead.Seal(nonce, nonce, plaintext, additionalData), nil
}

// errSealed is the one answer to a value that does not open.
var errSealed = errors.New("datadir: sealed value does not open (wrong key, associated data or a damaged value)")

// Open opens a value sealed by [Sealer.Seal] with the same associated
// data.
func (s *Sealer) Open(sealed, additionalData []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, errSealed
	}
	out, err := s.aead.Open(nil, sealed[:n], sealed[n:], additionalData)
	if err != nil {
		return nil, errSealed
	}
	return out, nil
}
