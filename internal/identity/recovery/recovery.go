// Package recovery makes and checks MFA recovery codes: Count codes per
// user, each of 60 random bits written as three groups of four Crockford
// base32 characters ("7KQ2-M9XD-C4TB"), shown to the user once and kept
// only as keyed hashes.
//
// A stored code is HMAC-SHA256, under a server secret given to NewHasher,
// of the code's canonical form and the subject (the user) it belongs to.
// The codes are random and long, so a slow password hash adds nothing
// against guessing; the key means that a copy of the database alone does
// not even allow an offline search, and the subject means that a hash
// moved to another user's record does not match there. docs/DECISIONS.md
// gives the reasoning.
//
// Codes are single use: Redeem marks the code it accepts as used, and a
// used code fails like an unknown one. Redeem compares the input with
// every stored hash in constant time, without stopping at a match.
package recovery

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Sizes.
const (
	// Count is the number of codes Generate makes.
	Count = 10
	// Groups and GroupLen shape a code: 3 groups of 4 characters of 5
	// bits each, 60 bits.
	Groups   = 3
	GroupLen = 4
	// Bits is the entropy of one code.
	Bits = Groups * GroupLen * 5
	// MinKeyLen is the shortest server secret NewHasher accepts.
	MinKeyLen = 32
	// MaxInputLen bounds what Parse reads.
	MaxInputLen = 64
	// MaxSubjectLen bounds a subject.
	MaxSubjectLen = 256
)

// alphabet is Crockford's base32: digits and letters without I, L, O, U.
const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// Errors.
var (
	// ErrInvalidCode reports a code that is malformed, unknown, or used.
	ErrInvalidCode = errors.New("recovery: invalid code")
	// ErrKey reports a server secret shorter than MinKeyLen.
	ErrKey = errors.New("recovery: server secret too short")
	// ErrSubject reports an empty or over-long subject.
	ErrSubject = errors.New("recovery: invalid subject")
)

// Code is one stored recovery code: its hash and whether it was used.
type Code struct {
	Hash [sha256.Size]byte
	Used bool
}

// Hasher hashes and checks codes under a server secret.
type Hasher struct{ key []byte }

// NewHasher returns a Hasher keyed with secret (at least MinKeyLen bytes,
// a secret of the service's own, not shared with other uses). It keeps a
// copy of secret.
func NewHasher(secret []byte) (*Hasher, error) {
	if len(secret) < MinKeyLen {
		return nil, ErrKey
	}
	return &Hasher{key: append([]byte(nil), secret...)}, nil
}

// Generate returns Count new codes for subject, formatted for display,
// and their stored form in the same order. Show codes once; store only
// stored.
func (h *Hasher) Generate(subject string) (codes []string, stored []Code, err error) {
	if err := checkSubject(subject); err != nil {
		return nil, nil, err
	}
	buf := make([]byte, Groups*GroupLen)
	for len(codes) < Count {
		if _, err := rand.Read(buf); err != nil {
			return nil, nil, fmt.Errorf("recovery: random: %w", err)
		}
		var b strings.Builder
		for i, c := range buf {
			if i > 0 && i%GroupLen == 0 {
				b.WriteByte('-')
			}
			b.WriteByte(alphabet[c&31]) // 256 is a multiple of 32: no bias
		}
		code := b.String()
		s := Code{Hash: h.hash(subject, canonical(code))}
		dup := false
		for _, o := range stored {
			dup = dup || o.Hash == s.Hash
		}
		if dup {
			continue
		}
		codes = append(codes, code)
		stored = append(stored, s)
	}
	return codes, stored, nil
}

// Hash returns the stored hash of code for subject, after Parse.
func (h *Hasher) Hash(subject, code string) ([sha256.Size]byte, error) {
	if err := checkSubject(subject); err != nil {
		return [sha256.Size]byte{}, err
	}
	c, err := Parse(code)
	if err != nil {
		return [sha256.Size]byte{}, err
	}
	return h.hash(subject, c), nil
}

// Redeem checks code against subject's stored codes. On a match with an
// unused code it marks that code used and returns its index; the caller
// stores the change before it lets the user in (and, with concurrent
// requests, does so conditionally, so that one code is accepted once). A
// malformed, unknown or used code is ErrInvalidCode.
func (h *Hasher) Redeem(subject string, stored []Code, code string) (int, error) {
	want, err := h.Hash(subject, code)
	if err != nil {
		return -1, err
	}
	found := -1
	for i := range stored {
		eq := subtle.ConstantTimeCompare(stored[i].Hash[:], want[:]) == 1
		if eq && !stored[i].Used {
			found = i
		}
	}
	if found < 0 {
		return -1, ErrInvalidCode
	}
	stored[found].Used = true
	return found, nil
}

// Remaining returns how many of stored are unused.
func Remaining(stored []Code) int {
	n := 0
	for _, c := range stored {
		if !c.Used {
			n++
		}
	}
	return n
}

func checkSubject(s string) error {
	if s == "" || len(s) > MaxSubjectLen {
		return ErrSubject
	}
	return nil
}

// hash is HMAC-SHA256(key, label || len(subject) || subject || code).
func (h *Hasher) hash(subject, canon string) [sha256.Size]byte {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte("signet recovery code v1\x00"))
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(subject)))
	m.Write(n[:])
	m.Write([]byte(subject))
	m.Write([]byte(canon))
	var out [sha256.Size]byte
	m.Sum(out[:0])
	return out
}

// Parse returns the canonical form of a code as a user types it: case is
// ignored, spaces and hyphens anywhere are dropped, and the letters
// Crockford's base32 reads as digits are read so (O as 0, I and L as 1).
// The result is Groups*GroupLen characters of the alphabet, without
// separators; anything else is ErrInvalidCode.
func Parse(code string) (string, error) {
	if len(code) > MaxInputLen {
		return "", ErrInvalidCode
	}
	out := make([]byte, 0, Groups*GroupLen)
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c == '-' || c == ' ':
			continue
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		}
		switch c {
		case 'O':
			c = '0'
		case 'I', 'L':
			c = '1'
		}
		if strings.IndexByte(alphabet, c) < 0 || len(out) == Groups*GroupLen {
			return "", ErrInvalidCode
		}
		out = append(out, c)
	}
	if len(out) != Groups*GroupLen {
		return "", ErrInvalidCode
	}
	return string(out), nil
}

// canonical strips the separators of a code Generate formatted.
func canonical(code string) string { return strings.ReplaceAll(code, "-", "") }
