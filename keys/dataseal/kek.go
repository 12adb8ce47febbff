package dataseal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// KEK is a key-encryption key as this package needs it: it wraps a data
// key bound to associated data and names the key version it used, and
// unwraps by that version. Key custody implements it (a software key or
// a key of the data-key-wrapping purpose in an HSM).
type KEK interface {
	// Wrap encrypts dataKey bound to ad and returns it with the version
	// of the key that wrapped it.
	Wrap(ctx context.Context, dataKey, ad []byte) (wrapped []byte, version string, err error)
	// Unwrap decrypts wrapped with the key of the given version; it fails
	// if ad differs from the one given to Wrap.
	Unwrap(ctx context.Context, wrapped []byte, version string, ad []byte) ([]byte, error)
}

// ErrUnknownVersion is returned when a KEK does not hold the version a
// wrapped key names.
var ErrUnknownVersion = errors.New("dataseal: unknown KEK version")

// kekLabel separates the AES KEK's associated data from any other use of
// the same key.
const kekLabel = "signet/dataseal/kek"

// aesKEK is the software KEK: AES-256-GCM with a random nonce.
type aesKEK struct {
	version string
	aead    cipher.AEAD
	err     error
}

// NewAESKEK returns a software KEK of the given version: AES-256-GCM key
// wrapping with the version and the associated data bound. The key must
// be 32 bytes and the version 1..[MaxVersionLen] bytes; otherwise every
// call of the KEK fails (fail closed). The key is not retained beyond
// the cipher's expanded schedule.
func NewAESKEK(version string, key []byte) KEK {
	k := &aesKEK{version: version}
	switch {
	case len(key) != 32:
		k.err = fmt.Errorf("dataseal: AES KEK key is %d bytes, want 32", len(key))
	case version == "" || len(version) > MaxVersionLen:
		k.err = fmt.Errorf("dataseal: AES KEK version must be 1..%d bytes", MaxVersionLen)
	default:
		block, err := aes.NewCipher(key)
		if err == nil {
			k.aead, err = cipher.NewGCM(block)
		}
		k.err = err
	}
	return k
}

func (k *aesKEK) kekAD(ad []byte) []byte {
	b := make([]byte, 0, len(kekLabel)+1+len(k.version)+len(ad))
	b = append(b, kekLabel...)
	b = append(b, byte(len(k.version)))
	b = append(b, k.version...)
	return append(b, ad...)
}

// Wrap implements [KEK]: nonce || GCM(dataKey).
func (k *aesKEK) Wrap(ctx context.Context, dataKey, ad []byte) ([]byte, string, error) {
	if k.err != nil {
		return nil, "", k.err
	}
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	out := make([]byte, nonceSize, nonceSize+len(dataKey)+tagSize)
	if _, err := rand.Read(out); err != nil {
		return nil, "", fmt.Errorf("dataseal: AES KEK nonce: %w", err)
	}
	return k.aead.Seal(out, out[:nonceSize], dataKey, k.kekAD(ad)), k.version, nil
}

// Unwrap implements [KEK].
func (k *aesKEK) Unwrap(ctx context.Context, wrapped []byte, version string, ad []byte) ([]byte, error) {
	if k.err != nil {
		return nil, k.err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if version != k.version {
		return nil, fmt.Errorf("%w %q", ErrUnknownVersion, version)
	}
	if len(wrapped) < nonceSize+tagSize {
		return nil, fmt.Errorf("%w: wrapped key too short", ErrAuth)
	}
	dk, err := k.aead.Open(nil, wrapped[:nonceSize], wrapped[nonceSize:], k.kekAD(ad))
	if err != nil {
		return nil, fmt.Errorf("%w: wrapped key", ErrAuth)
	}
	return dk, nil
}

// KEKSet is a [KEK] over several versions, for rotation: it wraps with
// its current version and unwraps with the version a wrapped key names.
type KEKSet struct {
	current string
	keks    map[string]KEK
}

// NewKEKSet returns the set of keks by version, wrapping with
// keks[current]. It fails if current is not among them.
func NewKEKSet(current string, keks map[string]KEK) (*KEKSet, error) {
	if keks[current] == nil {
		return nil, fmt.Errorf("%w %q: current version not in the set", ErrUnknownVersion, current)
	}
	m := make(map[string]KEK, len(keks))
	for v, k := range keks {
		if k == nil {
			return nil, fmt.Errorf("dataseal: nil KEK for version %q", v)
		}
		m[v] = k
	}
	return &KEKSet{current: current, keks: m}, nil
}

// Current returns the version new data keys are wrapped with.
func (s *KEKSet) Current() string { return s.current }

// Wrap implements [KEK] with the current version; it fails if that KEK
// reports another version than the one it is registered under.
func (s *KEKSet) Wrap(ctx context.Context, dataKey, ad []byte) ([]byte, string, error) {
	w, v, err := s.keks[s.current].Wrap(ctx, dataKey, ad)
	if err != nil {
		return nil, "", err
	}
	if v != s.current {
		return nil, "", fmt.Errorf("dataseal: KEK registered as %q wrapped as %q", s.current, v)
	}
	return w, v, nil
}

// Unwrap implements [KEK] with the KEK of the given version.
func (s *KEKSet) Unwrap(ctx context.Context, wrapped []byte, version string, ad []byte) ([]byte, error) {
	k := s.keks[version]
	if k == nil {
		return nil, fmt.Errorf("%w %q", ErrUnknownVersion, version)
	}
	return k.Unwrap(ctx, wrapped, version, ad)
}
