package dataseal

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
)

// TextPrefix starts the text form of a sealed value: "sealed:" and the
// value in base64url without padding, so that text columns keep their
// type and a reader tells a sealed value from one stored in clear.
const TextPrefix = "sealed:"

// EncodeText returns the text form of a sealed value.
func EncodeText(sealed []byte) string {
	return TextPrefix + base64.RawURLEncoding.EncodeToString(sealed)
}

// IsText reports whether s is in the text form (starts with [TextPrefix]).
func IsText(s string) bool { return strings.HasPrefix(s, TextPrefix) }

// DecodeText returns the sealed value of the text form s; a string
// without [TextPrefix] or with bad base64url is an error wrapping
// [ErrMalformed].
func DecodeText(s string) ([]byte, error) {
	enc, ok := strings.CutPrefix(s, TextPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: not in the sealed text form", ErrMalformed)
	}
	b, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: sealed text is not base64url", ErrMalformed)
	}
	return b, nil
}

// SealText is [Seal] returning the text form.
func SealText(ctx context.Context, kek KEK, ad AD, plaintext []byte, rand io.Reader) (string, error) {
	b, err := Seal(ctx, kek, ad, plaintext, rand)
	if err != nil {
		return "", err
	}
	return EncodeText(b), nil
}

// OpenText is [Open] of a value in the text form.
func OpenText(ctx context.Context, kek KEK, ad AD, s string) ([]byte, error) {
	b, err := DecodeText(s)
	if err != nil {
		return nil, err
	}
	return Open(ctx, kek, ad, b)
}
