package dataseal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Format constants.
const (
	magic       = 0xD5
	kindValue   = 0x01
	kindStream  = 0x02
	keySize     = 32
	nonceSize   = 12
	tagSize     = 16
	prefixSize  = 7
	minWrapped  = 1
	headerFixed = 1 + 1 + 1 + 2 // magic, kind, verLen, wrapLen
)

// Bounds of the format.
const (
	// MaxVersionLen bounds a KEK version string, in bytes.
	MaxVersionLen = 64
	// MaxWrappedLen bounds a wrapped data key, in bytes.
	MaxWrappedLen = 1024
	// MaxValueSize bounds the plaintext of a sealed value; larger data
	// goes through [NewWriter].
	MaxValueSize = 16 << 20
	// SegmentSize is the plaintext size of every segment of a stream but
	// the last.
	SegmentSize = 64 << 10
)

// ErrMalformed is wrapped by errors about input that is not a sealed
// value or stream of this format, or exceeds its bounds.
var ErrMalformed = errors.New("dataseal: malformed sealed data")

// ErrAuth is wrapped by errors about data that fails authentication:
// tampered, truncated, extended, or opened with the wrong AD or key.
var ErrAuth = errors.New("dataseal: authentication failed")

// header is the common header of values and streams.
type header struct {
	kind    byte
	version string
	wrapped []byte
}

func (h header) append(b []byte) []byte {
	b = append(b, magic, h.kind, byte(len(h.version)))
	b = append(b, h.version...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(h.wrapped)))
	return append(b, h.wrapped...)
}

func (h header) size() int { return headerFixed + len(h.version) + len(h.wrapped) }

func (h header) check() error {
	if len(h.version) == 0 || len(h.version) > MaxVersionLen {
		return fmt.Errorf("dataseal: KEK version of %d bytes, want 1..%d", len(h.version), MaxVersionLen)
	}
	if len(h.wrapped) < minWrapped || len(h.wrapped) > MaxWrappedLen {
		return fmt.Errorf("dataseal: wrapped key of %d bytes, want %d..%d", len(h.wrapped), minWrapped, MaxWrappedLen)
	}
	return nil
}

// readHeader reads a header from r; a short read is ErrMalformed.
func readHeader(r io.Reader) (header, error) {
	var fixed [3]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return header{}, malformed("header", err)
	}
	if fixed[0] != magic {
		return header{}, fmt.Errorf("%w: bad magic byte", ErrMalformed)
	}
	if fixed[1] != kindValue && fixed[1] != kindStream {
		return header{}, fmt.Errorf("%w: unknown format version %d", ErrMalformed, fixed[1])
	}
	vl := int(fixed[2])
	if vl == 0 || vl > MaxVersionLen {
		return header{}, fmt.Errorf("%w: KEK version length %d", ErrMalformed, vl)
	}
	buf := make([]byte, vl+2)
	if _, err := io.ReadFull(r, buf); err != nil {
		return header{}, malformed("header", err)
	}
	wl := int(binary.BigEndian.Uint16(buf[vl:]))
	if wl < minWrapped || wl > MaxWrappedLen {
		return header{}, fmt.Errorf("%w: wrapped key length %d", ErrMalformed, wl)
	}
	wrapped := make([]byte, wl)
	if _, err := io.ReadFull(r, wrapped); err != nil {
		return header{}, malformed("wrapped key", err)
	}
	return header{kind: fixed[1], version: string(buf[:vl]), wrapped: wrapped}, nil
}

func malformed(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated %s", ErrMalformed, what)
	}
	return fmt.Errorf("dataseal: reading %s: %w", what, err)
}

// bytesReader is a minimal io.Reader over a slice that also reports how
// much it consumed.
type bytesReader struct {
	b   []byte
	off int
}

func (r *bytesReader) Read(p []byte) (int, error) {
	if r.off >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}

// newDataKey draws a data key and wraps it.
func newDataKey(ctx context.Context, kek KEK, kind byte, enc []byte, rand io.Reader) (dk []byte, h header, err error) {
	dk = make([]byte, keySize)
	if _, err := io.ReadFull(rand, dk); err != nil {
		return nil, header{}, fmt.Errorf("dataseal: data key: %w", err)
	}
	wrapped, version, err := kek.Wrap(ctx, dk, enc)
	if err != nil {
		clear(dk)
		return nil, header{}, fmt.Errorf("dataseal: wrapping data key: %w", err)
	}
	h = header{kind: kind, version: version, wrapped: wrapped}
	if err := h.check(); err != nil {
		clear(dk)
		return nil, header{}, err
	}
	return dk, h, nil
}

// unwrapKey unwraps the data key of h.
func unwrapKey(ctx context.Context, kek KEK, h header, enc []byte) ([]byte, error) {
	dk, err := kek.Unwrap(ctx, h.wrapped, h.version, enc)
	if err != nil {
		return nil, fmt.Errorf("dataseal: unwrapping data key: %w", err)
	}
	if len(dk) != keySize {
		clear(dk)
		return nil, fmt.Errorf("%w: data key of %d bytes", ErrAuth, len(dk))
	}
	return dk, nil
}

func newGCM(dk []byte) cipher.AEAD {
	block, err := aes.NewCipher(dk)
	if err != nil {
		panic("dataseal: " + err.Error()) // dk is always 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic("dataseal: " + err.Error())
	}
	return aead
}

// Seal encrypts plaintext (at most [MaxValueSize] bytes) for ad under a
// fresh data key wrapped by kek, drawing the data key and nonce from
// rand (crypto/rand.Reader in production).
func Seal(ctx context.Context, kek KEK, ad AD, plaintext []byte, rand io.Reader) ([]byte, error) {
	if len(plaintext) > MaxValueSize {
		return nil, fmt.Errorf("dataseal: value of %d bytes exceeds %d; use NewWriter", len(plaintext), MaxValueSize)
	}
	enc, err := ad.Encode()
	if err != nil {
		return nil, err
	}
	dk, h, err := newDataKey(ctx, kek, kindValue, enc, rand)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	out := make([]byte, 0, h.size()+nonceSize+len(plaintext)+tagSize)
	out = h.append(out)
	nonce := out[len(out) : len(out)+nonceSize]
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, fmt.Errorf("dataseal: nonce: %w", err)
	}
	out = out[:len(out)+nonceSize]
	return newGCM(dk).Seal(out, nonce, plaintext, payloadAD(kindValue, enc)), nil
}

// Open decrypts a value made by [Seal] for the same ad with a KEK that
// holds the version it names.
func Open(ctx context.Context, kek KEK, ad AD, sealed []byte) ([]byte, error) {
	enc, err := ad.Encode()
	if err != nil {
		return nil, err
	}
	h, body, err := parse(sealed)
	if err != nil {
		return nil, err
	}
	if h.kind != kindValue {
		return nil, fmt.Errorf("%w: a stream, not a value", ErrMalformed)
	}
	if len(body) < nonceSize+tagSize {
		return nil, fmt.Errorf("%w: truncated value", ErrMalformed)
	}
	if len(body) > nonceSize+MaxValueSize+tagSize {
		return nil, fmt.Errorf("%w: value exceeds %d bytes", ErrMalformed, MaxValueSize)
	}
	dk, err := unwrapKey(ctx, kek, h, enc)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	pt, err := newGCM(dk).Open(nil, body[:nonceSize], body[nonceSize:], payloadAD(kindValue, enc))
	if err != nil {
		return nil, fmt.Errorf("%w: value", ErrAuth)
	}
	return pt, nil
}

// parse splits sealed bytes into header and body.
func parse(sealed []byte) (header, []byte, error) {
	r := &bytesReader{b: sealed}
	h, err := readHeader(r)
	if err != nil {
		return header{}, nil, err
	}
	return h, sealed[r.off:], nil
}

// Rewrap re-wraps the data key of sealed (a value of [Seal] or a whole
// stream of [NewWriter]) from the KEK from to the KEK to, for the same ad,
// without decrypting the payload: the bytes after the header are
// returned unchanged.
func Rewrap(ctx context.Context, from, to KEK, ad AD, sealed []byte) ([]byte, error) {
	enc, err := ad.Encode()
	if err != nil {
		return nil, err
	}
	h, body, err := parse(sealed)
	if err != nil {
		return nil, err
	}
	dk, err := unwrapKey(ctx, from, h, enc)
	if err != nil {
		return nil, err
	}
	defer clear(dk)
	wrapped, version, err := to.Wrap(ctx, dk, enc)
	if err != nil {
		return nil, fmt.Errorf("dataseal: wrapping data key: %w", err)
	}
	nh := header{kind: h.kind, version: version, wrapped: wrapped}
	if err := nh.check(); err != nil {
		return nil, err
	}
	out := make([]byte, 0, nh.size()+len(body))
	return append(nh.append(out), body...), nil
}
