package pkcs11

import (
	"errors"
	"fmt"
)

// Sizes of the AES-GCM blobs made by Backend.Wrap: a 96-bit IV, then the
// ciphertext, then a 128-bit tag (NIST SP 800-38D §5.2.1.1, §5.2.1.2).
const (
	gcmIVSize  = 12
	gcmTagSize = 16
)

// MaxWrapSize bounds the plaintext that Backend.Wrap accepts, and so the
// blobs that Backend.Unwrap reads. Data keys are 32 bytes.
const MaxWrapSize = 64 << 10

// ErrUnwrap means a wrapped blob does not open: wrong key, wrong
// additional data, or a damaged or malformed blob.
var ErrUnwrap = errors.New("pkcs11: wrapped data does not open")

// splitWrapped splits a blob made by Backend.Wrap, iv ‖ ciphertext ‖ tag,
// into the IV and the rest (ciphertext ‖ tag, the input C_Decrypt takes for
// CKM_AES_GCM). A blob too short to hold an IV and a tag, or longer than
// the largest Wrap makes, gives an error wrapping [ErrUnwrap]. The results
// alias blob.
func splitWrapped(blob []byte) (iv, sealed []byte, err error) {
	if len(blob) < gcmIVSize+gcmTagSize {
		return nil, nil, fmt.Errorf("%w: blob of %d bytes is shorter than an IV and a tag (%d)", ErrUnwrap, len(blob), gcmIVSize+gcmTagSize)
	}
	if len(blob) > gcmIVSize+MaxWrapSize+gcmTagSize {
		return nil, nil, fmt.Errorf("%w: blob of %d bytes is longer than any Wrap makes", ErrUnwrap, len(blob))
	}
	return blob[:gcmIVSize:gcmIVSize], blob[gcmIVSize:], nil
}
