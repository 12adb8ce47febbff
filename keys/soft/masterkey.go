package soft

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// MasterKeySize is the size of the master key: an AES-256 key.
const MasterKeySize = 32

// ErrKeyFileMode means a key file is readable or writable by others than
// its owner (its mode is wider than 0600), or is not a regular file.
var ErrKeyFileMode = errors.New("soft: key file permissions too open (want 0600)")

// ParseMasterKey decodes a base64 (standard encoding) master key, the form
// of both the key file and the SIGNET_MASTER_KEY environment variable.
func ParseMasterKey(s string) ([]byte, error) {
	k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("soft: master key is not valid base64")
	}
	if len(k) != MasterKeySize {
		return nil, fmt.Errorf("soft: master key is %d bytes, want %d", len(k), MasterKeySize)
	}
	return k, nil
}

// LoadKeyFile returns the 32-byte key held, base64-encoded, in the file
// at path. If the file does not exist it is created with mode 0600 and a
// fresh key from rand. An existing file whose mode grants any access to
// group or others is refused with [ErrKeyFileMode], as is a symbolic
// link or other non-regular file.
func LoadKeyFile(path string, rand io.Reader) ([]byte, error) {
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKeyFile(path, rand)
	}
	if err != nil {
		return nil, fmt.Errorf("soft: %w", err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrKeyFileMode, path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o", ErrKeyFileMode, path, perm)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("soft: %w", err)
	}
	k, err := ParseMasterKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return k, nil
}

// createKeyFile writes a new key to path, failing if the file appeared
// meanwhile (O_EXCL), so that two processes never choose different keys.
func createKeyFile(path string, rand io.Reader) ([]byte, error) {
	k := make([]byte, MasterKeySize)
	if _, err := io.ReadFull(rand, k); err != nil {
		return nil, fmt.Errorf("soft: new key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return LoadKeyFile(path, rand)
	}
	if err != nil {
		return nil, fmt.Errorf("soft: %w", err)
	}
	_, werr := f.WriteString(base64.StdEncoding.EncodeToString(k) + "\n")
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("soft: write %s: %w", path, err)
	}
	return k, nil
}
