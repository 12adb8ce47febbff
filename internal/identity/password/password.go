// Package password hashes, verifies and vets user passwords.
//
// Hashing is argon2id (RFC 9106) with the parameters of Default (19 MiB of
// memory, two passes, one lane: OWASP's recommended minimum for argon2id),
// stored as a PHC string:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with the salt and hash in unpadded standard base64. Parse reads such a
// string strictly and within bounds (MaxMemory, MaxTime, MaxThreads, salt
// and hash lengths), so a stored hash cannot make Verify allocate gigabytes
// or run for minutes. Verify compares in constant time; NeedsRehash tells
// the caller, after a successful Verify, that the stored hash was made with
// other parameters and should be replaced by a new Hash of the same
// password. At most MaxConcurrent hashes are computed at once, which
// bounds their memory however many logins arrive together.
//
// Passwords are normalized to Unicode NFKC before hashing and before any
// check, so that the same password typed on two keyboards (composed or
// decomposed accents, full-width digits) hashes alike. Policy applies NIST
// SP 800-63B: a minimum length (8 code points, 15 when the password is the
// only factor), at least 64 allowed, no composition rules, and refusal of
// passwords found in a bundled list of common passwords or built on the
// context's words (the user's e-mail address and name, the service's name).
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
	"golang.org/x/text/unicode/norm"
)

// Params are argon2id's cost parameters and the lengths of salt and hash.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// Default is the parameter set new hashes use: 19 MiB, t=2, p=1 (OWASP's
// password storage guidance for argon2id), a 16-byte salt and a 32-byte
// hash. docs/DECISIONS.md records the time it takes on the reference
// machine.
var Default = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds on what Parse accepts from a stored hash, and on what Hash
// accepts as parameters. They are far above Default and far below what
// would let a tampered record exhaust the server.
const (
	MinMemory  = 8 * 1024   // KiB
	MaxMemory  = 256 * 1024 // KiB
	MaxTime    = 16
	MaxThreads = 16
	MinSaltLen = 16
	MaxSaltLen = 64
	MinKeyLen  = 16
	MaxKeyLen  = 64
	// MaxEncodedLen bounds a PHC string.
	MaxEncodedLen = 256
	// MaxInputBytes bounds the password as received, before
	// normalization: longer input is refused without hashing.
	MaxInputBytes = 4096
)

// Errors.
var (
	// ErrMalformed reports a stored hash that is not a PHC argon2id string
	// this package accepts.
	ErrMalformed = errors.New("password: malformed hash")
	// ErrParams reports parameters outside the bounds.
	ErrParams = errors.New("password: parameters out of bounds")
	// ErrInputTooLong reports a password longer than MaxInputBytes.
	ErrInputTooLong = errors.New("password: input too long")
)

// Hashed is a parsed PHC string.
type Hashed struct {
	Params Params
	Salt   []byte
	Key    []byte
}

// Validate reports whether p lies within the bounds.
func (p Params) Validate() error {
	switch {
	case p.Memory < MinMemory || p.Memory > MaxMemory,
		p.Time < 1 || p.Time > MaxTime,
		p.Threads < 1 || p.Threads > MaxThreads,
		uint64(p.Memory) < 8*uint64(p.Threads),
		p.SaltLen < MinSaltLen || p.SaltLen > MaxSaltLen,
		p.KeyLen < MinKeyLen || p.KeyLen > MaxKeyLen:
		return ErrParams
	}
	return nil
}

// Normalize returns the NFKC form of a password, the form that is hashed
// and checked. It fails on input longer than MaxInputBytes.
func Normalize(password string) (string, error) {
	if len(password) > MaxInputBytes {
		return "", ErrInputTooLong
	}
	return norm.NFKC.String(password), nil
}

// Hash returns the PHC string of password with Default parameters.
func Hash(password string) (string, error) { return HashParams(password, Default) }

// HashParams returns the PHC string of password with parameters p and a
// new random salt.
func HashParams(password string, p Params) (string, error) {
	if err := p.Validate(); err != nil {
		return "", err
	}
	pw, err := Normalize(password)
	if err != nil {
		return "", err
	}
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	h := Hashed{Params: p, Salt: salt, Key: derive([]byte(pw), salt, p)}
	return h.String(), nil
}

// MaxConcurrent is how many argon2id computations run at once in the
// process; further Hash and Verify calls wait for a slot. With Default
// parameters that bounds their memory to MaxConcurrent × 19 MiB, whatever
// the number of login attempts in flight.
const MaxConcurrent = 4

var (
	slots = make(chan struct{}, MaxConcurrent)
	// inFlight and peak count derivations running, for the tests.
	inFlight, peak atomic.Int32
)

func derive(pw, salt []byte, p Params) []byte {
	slots <- struct{}{}
	defer func() { <-slots }()
	n := inFlight.Add(1)
	defer inFlight.Add(-1)
	for {
		m := peak.Load()
		if n <= m || peak.CompareAndSwap(m, n) {
			break
		}
	}
	return argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// Verify reports whether password matches the PHC string encoded. A
// malformed or out-of-bounds hash is an error, never a match; a wrong
// password is (false, nil). The comparison takes constant time.
func Verify(password, encoded string) (bool, error) {
	h, err := Parse(encoded)
	if err != nil {
		return false, err
	}
	pw, err := Normalize(password)
	if err != nil {
		return false, err
	}
	got := derive([]byte(pw), h.Salt, h.Params)
	return subtle.ConstantTimeCompare(got, h.Key) == 1, nil
}

// NeedsRehash reports whether encoded was made with parameters other than
// p (older or weaker ones, typically): the caller, holding the password
// after a successful Verify, stores a new Hash. A malformed hash is an
// error.
func NeedsRehash(encoded string, p Params) (bool, error) {
	h, err := Parse(encoded)
	if err != nil {
		return false, err
	}
	return h.Params != p, nil
}

var b64 = base64.RawStdEncoding.Strict()

// String returns the PHC string of h.
func (h Hashed) String() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.Params.Memory, h.Params.Time, h.Params.Threads,
		b64.EncodeToString(h.Salt), b64.EncodeToString(h.Key))
}

// Parse reads a PHC argon2id string strictly: the algorithm argon2id,
// version 19, the parameters m, t and p in that order as decimal numbers
// without leading zeros, no other parameters, and salt and hash in
// unpadded canonical standard base64. Every value must lie within the
// bounds (Params.Validate).
func Parse(encoded string) (Hashed, error) {
	if len(encoded) > MaxEncodedLen {
		return Hashed{}, ErrMalformed
	}
	f := strings.Split(encoded, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" || f[2] != "v=19" {
		return Hashed{}, ErrMalformed
	}
	kv := strings.Split(f[3], ",")
	if len(kv) != 3 {
		return Hashed{}, ErrMalformed
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(kv[i], name)
		if !ok {
			return Hashed{}, ErrMalformed
		}
		n, err := decimal(v)
		if err != nil {
			return Hashed{}, err
		}
		vals[i] = n
	}
	salt, err := decode64(f[4])
	if err != nil {
		return Hashed{}, err
	}
	key, err := decode64(f[5])
	if err != nil {
		return Hashed{}, err
	}
	if vals[0] > MaxMemory || vals[1] > MaxTime || vals[2] > MaxThreads {
		return Hashed{}, ErrParams
	}
	p := Params{Memory: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(vals[2]),
		SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	if err := p.Validate(); err != nil {
		return Hashed{}, err
	}
	return Hashed{Params: p, Salt: salt, Key: key}, nil
}

// decode64 decodes canonical unpadded standard base64. The decoder skips
// CR and LF; re-encoding refuses them and any other non-canonical form.
func decode64(s string) ([]byte, error) {
	b, err := b64.DecodeString(s)
	if err != nil || b64.EncodeToString(b) != s {
		return nil, ErrMalformed
	}
	return b, nil
}

// decimal parses a canonical decimal number of at most 9 digits.
func decimal(s string) (uint64, error) {
	if s == "" || len(s) > 9 || (len(s) > 1 && s[0] == '0') {
		return 0, ErrMalformed
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrMalformed
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, ErrMalformed
	}
	return n, nil
}
