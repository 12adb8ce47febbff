package signing

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// tokenBytes is the entropy of link and session tokens: 256 bits.
const tokenBytes = 32

// Authorization schemes of the recipient routes.
const (
	SchemeLink    = "Link"
	SchemeSession = "Session"
)

// newToken returns a fresh token (base64url, no padding) and its SHA-256.
func newToken(rnd io.Reader) (string, [32]byte, error) {
	b := make([]byte, tokenBytes)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", [32]byte{}, fmt.Errorf("signing: random token: %w", err)
	}
	t := base64.RawURLEncoding.EncodeToString(b)
	return t, sha256.Sum256([]byte(t)), nil
}

// ParseToken checks that s is a well-formed token (43 base64url
// characters encoding 32 bytes) and returns its SHA-256, the key under
// which it is stored.
func ParseToken(s string) ([32]byte, bool) {
	if len(s) != base64.RawURLEncoding.EncodedLen(tokenBytes) {
		return [32]byte{}, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != tokenBytes {
		return [32]byte{}, false
	}
	return sha256.Sum256([]byte(s)), true
}

// tokenFrom returns the hash of the token of the given scheme in r's
// Authorization header (RFC 9110 §11.6.2; the scheme is case-insensitive).
func tokenFrom(r *http.Request, scheme string) ([32]byte, bool) {
	h := r.Header.Get("Authorization")
	s, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(s, scheme) {
		return [32]byte{}, false
	}
	return ParseToken(strings.TrimSpace(tok))
}
