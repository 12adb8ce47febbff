package soft

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
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

// MasterKeyEnv is the environment variable that may hold the master key,
// base64-encoded, instead of the data directory's key file.
const MasterKeyEnv = "SIGNET_MASTER_KEY"

// ErrMasterKeyConflict means the master key is both in the environment and
// in the key file, with different values.
var ErrMasterKeyConflict = errors.New("soft: " + MasterKeyEnv + " and the master key file hold different keys")

// ErrNoMasterKey means the key directory was sealed under a master key
// that is neither in the environment nor in the key file.
var ErrNoMasterKey = errors.New("soft: no master key")

// LoadMasterKey returns the master key of a data directory, by the rules
// every Signet command follows:
//
//   - fromEnv, the value of [MasterKeyEnv] ("" when unset), is used if set;
//     no key file is then ever written. If the key file at file exists
//     too, it must hold the same key, else [ErrMasterKeyConflict].
//   - Otherwise the key file is loaded ([LoadKeyFile] rules: 0600, a
//     regular file).
//   - Neither: on first use, when keyDir holds no keys sealed under an
//     earlier key (no master.check), the file is created (0600) with a key
//     from rand; otherwise [ErrNoMasterKey], since a new key could open
//     none of them.
//
// [LoadMasterKeyVault] applies the same rules to the keys of a [Vault].
func LoadMasterKey(file, fromEnv, keyDir string, rand io.Reader) ([]byte, error) {
	return loadMasterKey(file, fromEnv, keyDir, func() (bool, error) {
		_, err := os.Lstat(filepath.Join(keyDir, CheckHandle))
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		return err == nil, err
	}, rand)
}

// LoadMasterKeyVault is [LoadMasterKey] for the keys of v: with neither
// fromEnv nor the key file, a new key is created only when v is empty
// ([Vault.Empty]: no sealed key and no check value yet); otherwise
// [ErrNoMasterKey]. ctx bounds the vault's answer.
func LoadMasterKeyVault(ctx context.Context, file, fromEnv string, v Vault, rand io.Reader) ([]byte, error) {
	where := "the vault"
	if s, ok := v.(fmt.Stringer); ok {
		where = s.String()
	}
	return loadMasterKey(file, fromEnv, where, func() (bool, error) {
		empty, err := v.Empty(ctx)
		return !empty, err
	}, rand)
}

// loadMasterKey holds the rules of [LoadMasterKey]; sealed reports
// whether keys are already sealed under some master key (where names
// them in errors).
func loadMasterKey(file, fromEnv, where string, sealed func() (bool, error), rand io.Reader) ([]byte, error) {
	_, statErr := os.Lstat(file)
	fileExists := statErr == nil
	if statErr != nil && !errors.Is(statErr, fs.ErrNotExist) {
		return nil, fmt.Errorf("soft: %w", statErr)
	}
	if fromEnv != "" {
		k, err := ParseMasterKey(fromEnv)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", MasterKeyEnv, err)
		}
		if fileExists {
			fk, err := LoadKeyFile(file, failingReader{})
			if err != nil {
				clear(k)
				return nil, err
			}
			same := subtle.ConstantTimeCompare(k, fk) == 1
			clear(fk)
			if !same {
				clear(k)
				return nil, fmt.Errorf("%w (%s): keep the key in one place", ErrMasterKeyConflict, file)
			}
		}
		return k, nil
	}
	if !fileExists {
		has, err := sealed()
		if err != nil {
			return nil, fmt.Errorf("soft: master key: %w", err)
		}
		if has {
			return nil, fmt.Errorf("%w: %s is missing and %s is unset, but %s holds keys sealed under one", ErrNoMasterKey, file, MasterKeyEnv, where)
		}
	}
	return LoadKeyFile(file, rand)
}

// failingReader is the source of randomness of a key file that must
// already exist: it never yields a key.
type failingReader struct{}

func (failingReader) Read([]byte) (int, error) {
	return 0, errors.New("soft: master key file vanished while being read")
}
