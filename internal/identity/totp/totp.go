// Package totp implements time-based one-time passwords (RFC 6238, over
// HOTP of RFC 4226): HMAC-SHA1 by default, HMAC-SHA256 and HMAC-SHA512
// allowed, 6 to 8 digits, a 30-second time step, and one step of clock
// skew either way.
//
// Verify returns the time step a code was accepted for; the caller stores
// it and passes it back as lastStep on the next check, and a code for a
// step at or before lastStep is refused, so an observed code cannot be
// replayed, not even within its own 30 seconds. Codes are compared in
// constant time, and every step of the window is computed whether or not
// an earlier one matched.
//
// GenerateKey draws secrets from crypto/rand (160 bits for SHA-1, the hash
// length for the others); URI writes the otpauth:// provisioning URI that
// authenticator apps read from a QR code, and ParseURI reads one back
// strictly.
package totp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"time"
)

// Algorithm is the HMAC hash.
type Algorithm uint8

// The algorithms of RFC 6238.
const (
	SHA1 Algorithm = iota + 1
	SHA256
	SHA512
)

// Step is the time step (RFC 6238's X); Skew is how many steps before and
// after the current one Verify accepts.
const (
	Step = 30 * time.Second
	Skew = 1
)

// Limits on keys.
const (
	MinDigits = 6
	MaxDigits = 8
	// MinSecretLen is 160 bits, RFC 4226's recommended length.
	MinSecretLen = 20
	MaxSecretLen = 64
)

// Errors.
var (
	// ErrInvalidCode reports a code that does not match any step of the
	// window after lastStep, or that is not Digits decimal digits.
	ErrInvalidCode = errors.New("totp: invalid code")
	// ErrKey reports a key outside the limits.
	ErrKey = errors.New("totp: invalid key")
)

// String returns the name used in provisioning URIs.
func (a Algorithm) String() string {
	switch a {
	case SHA1:
		return "SHA1"
	case SHA256:
		return "SHA256"
	case SHA512:
		return "SHA512"
	}
	return fmt.Sprintf("Algorithm(%d)", uint8(a))
}

func (a Algorithm) new() func() hash.Hash {
	switch a {
	case SHA1:
		return sha1.New
	case SHA256:
		return sha256.New
	case SHA512:
		return sha512.New
	}
	return nil
}

// Key is a user's TOTP secret with its parameters. Secret is sensitive:
// store it sealed, never log it.
type Key struct {
	Secret    []byte
	Algorithm Algorithm
	Digits    int
}

// Validate reports whether k lies within the limits.
func (k Key) Validate() error {
	if k.Algorithm.new() == nil || k.Digits < MinDigits || k.Digits > MaxDigits ||
		len(k.Secret) < MinSecretLen || len(k.Secret) > MaxSecretLen {
		return ErrKey
	}
	return nil
}

// GenerateKey returns a new key with a random secret: 20 bytes for SHA1,
// 32 for SHA256, 64 for SHA512.
func GenerateKey(alg Algorithm, digits int) (Key, error) {
	n := map[Algorithm]int{SHA1: 20, SHA256: 32, SHA512: 64}[alg]
	k := Key{Secret: make([]byte, n), Algorithm: alg, Digits: digits}
	if err := k.Validate(); err != nil {
		return Key{}, err
	}
	if _, err := rand.Read(k.Secret); err != nil {
		return Key{}, fmt.Errorf("totp: secret: %w", err)
	}
	return k, nil
}

// StepAt returns the time step that t falls in (RFC 6238's T, with T0 = 0).
// Times before the epoch are step 0.
func StepAt(t time.Time) uint64 {
	s := t.Unix()
	if s < 0 {
		return 0
	}
	return uint64(s) / uint64(Step/time.Second)
}

var pow10 = [...]uint32{1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000}

// Code returns the code of step, zero-padded to k.Digits.
func (k Key) Code(step uint64) (string, error) {
	if err := k.Validate(); err != nil {
		return "", err
	}
	return string(k.code(step)), nil
}

// CodeAt returns the code of the step t falls in.
func (k Key) CodeAt(t time.Time) (string, error) { return k.Code(StepAt(t)) }

// code is HOTP (RFC 4226 section 5.3) on a valid key.
func (k Key) code(step uint64) []byte {
	m := hmac.New(k.Algorithm.new(), k.Secret)
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], step)
	m.Write(c[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	v %= pow10[k.Digits]
	out := make([]byte, k.Digits)
	for i := k.Digits - 1; i >= 0; i-- {
		out[i] = byte('0' + v%10)
		v /= 10
	}
	return out
}

// Verify checks code against the steps from one before to one after the
// step of now, skipping steps at or before lastStep (0 when no code was
// ever accepted). It returns the step accepted, which the caller must
// store as the next lastStep before treating the user as authenticated;
// when code matches more than one step, the latest is returned. Any
// mismatch is ErrInvalidCode.
func Verify(k Key, code string, now time.Time, lastStep uint64) (uint64, error) {
	if err := k.Validate(); err != nil {
		return 0, err
	}
	if len(code) != k.Digits {
		return 0, ErrInvalidCode
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return 0, ErrInvalidCode
		}
	}
	cur := StepAt(now)
	var accepted uint64
	found := false
	for d := -Skew; d <= Skew; d++ {
		if d < 0 && cur < uint64(-d) {
			continue
		}
		s := uint64(int64(cur) + int64(d))
		// Every step is computed and compared; the steps ascend, so the
		// last match is the latest.
		if subtle.ConstantTimeCompare(k.code(s), []byte(code)) == 1 && s > lastStep {
			accepted, found = s, true
		}
	}
	if !found {
		return 0, ErrInvalidCode
	}
	return accepted, nil
}
