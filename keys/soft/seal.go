package soft

import (
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
)

// sealMagic starts every sealed key file.
const sealMagic = "signet-sealed-key v1\n"

// errUnseal means a sealed file does not open under the master key: the
// wrong master key, or a damaged or substituted file.
var errUnseal = errors.New("soft: sealed key does not open under the master key (wrong master key or damaged file)")

// sealAAD binds a sealed blob to its handle, so that files cannot be
// swapped between handles.
func sealAAD(handle string) []byte { return []byte("signet soft v1\x00" + handle) }

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("soft: %w", err)
	}
	return cipher.NewGCM(b)
}

// seal encrypts plaintext with AES-256-GCM under master, with handle as
// AAD: magic ‖ nonce ‖ ciphertext ‖ tag.
func seal(master []byte, handle string, plaintext []byte, rand io.Reader) ([]byte, error) {
	aead, err := newGCM(master)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(sealMagic)+aead.NonceSize(), len(sealMagic)+aead.NonceSize()+len(plaintext)+aead.Overhead())
	copy(out, sealMagic)
	if _, err := io.ReadFull(rand, out[len(sealMagic):]); err != nil {
		return nil, fmt.Errorf("soft: nonce: %w", err)
	}
	return aead.Seal(out, out[len(sealMagic):], plaintext, sealAAD(handle)), nil
}

// unseal reverses seal.
func unseal(master []byte, handle string, blob []byte) ([]byte, error) {
	aead, err := newGCM(master)
	if err != nil {
		return nil, err
	}
	if len(blob) < len(sealMagic)+aead.NonceSize()+aead.Overhead() || string(blob[:len(sealMagic)]) != sealMagic {
		return nil, errUnseal
	}
	nonce := blob[len(sealMagic) : len(sealMagic)+aead.NonceSize()]
	pt, err := aead.Open(nil, nonce, blob[len(sealMagic)+aead.NonceSize():], sealAAD(handle))
	if err != nil {
		return nil, errUnseal
	}
	return pt, nil
}
