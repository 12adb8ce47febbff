package backup

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// KeySize is the size of a backup key, in bytes.
const KeySize = 32

// keyIDSize is the size of a key id, in bytes.
const keyIDSize = 16

// ErrKey is wrapped by errors about a backup key that is malformed or
// kept unsafely.
var ErrKey = errors.New("backup: key")

// NewKey returns a new backup key, drawn from rand (crypto/rand.Reader
// in production).
func NewKey(rand io.Reader) ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := io.ReadFull(rand, k); err != nil {
		return nil, fmt.Errorf("backup: new key: %w", err)
	}
	return k, nil
}

// EncodeKey returns the text form of key: standard base64, one line, as
// in a key file and in SIGNET_BACKUP_KEY.
func EncodeKey(key []byte) string { return base64.StdEncoding.EncodeToString(key) + "\n" }

// ParseKey decodes the text form of a backup key (surrounding white space
// ignored).
func ParseKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("%w: not base64", ErrKey)
	}
	if len(k) != KeySize {
		clear(k)
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrKey, len(k), KeySize)
	}
	return k, nil
}

// LoadKeyFile reads the backup key file at path. The file must be a
// regular file that only its owner may read (no group or other
// permission bits), as `signet backup keygen` writes it.
func LoadKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrKey, path)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o, want 0600", ErrKey, path, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, 1024))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrKey, err)
	}
	defer clear(b)
	k, err := ParseKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, path)
	}
	return k, nil
}

// KeyID returns the id of a backup key: the first 16 bytes of
// SHA-256("signet backup key id\x00" || key), in hex. It names the key in
// a backup's header without revealing it, so that a backup opened with
// another key is refused with both ids named.
func KeyID(key []byte) string {
	id := keyID(key)
	return hex.EncodeToString(id[:])
}

func keyID(key []byte) [keyIDSize]byte {
	h := sha256.New()
	h.Write([]byte("signet backup key id\x00"))
	h.Write(key)
	var id [keyIDSize]byte
	copy(id[:], h.Sum(nil))
	return id
}
