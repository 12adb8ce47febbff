package soft

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// A Vault keeps the sealed key versions of a [Backend], each under its
// handle, and the master key's check value under [CheckHandle]. It only
// ever sees sealed bytes: the Backend seals before Put and unseals after
// Get. [DirVault] is the key directory; keys/postgres holds another.
//
// Handles are those the Backend makes ("soft-" and 32 lowercase hex
// digits) and [CheckHandle]. Implementations are safe for concurrent use.
type Vault interface {
	// Put stores sealed under handle, durably when it returns. It never
	// replaces: if handle is taken it fails with an error wrapping
	// [fs.ErrExist] and the stored bytes stay as they were.
	Put(ctx context.Context, handle string, sealed []byte) error
	// Get returns the bytes stored under handle, or an error wrapping
	// [fs.ErrNotExist].
	Get(ctx context.Context, handle string) ([]byte, error)
	// Delete removes handle for good, or fails with an error wrapping
	// [fs.ErrNotExist].
	Delete(ctx context.Context, handle string) error
	// Empty reports whether the vault holds nothing: no sealed key and no
	// check value.
	Empty(ctx context.Context) (bool, error)
}

// CheckHandle is the handle of the master key's check value (an HMAC that
// reveals nothing of the key), stored when a vault is first used so that
// a wrong master key is refused at once ([ErrWrongMasterKey]). In a key
// directory it is the file master.check.
const CheckHandle = "master.check"

// MaxSealedSize bounds a sealed key version: far above the largest one
// (an RSA-4096 key, about 2.5 KB sealed), so that a damaged or hostile
// vault cannot make the backend read without bound.
const MaxSealedSize = 64 << 10

// DirVault is the [Vault] of a key directory: each handle is the file
// DIR/<handle>.key (DIR/master.check for [CheckHandle]), mode 0600 in a
// 0700 directory, written to a temporary file, synced and linked into
// place, so that a crash never leaves a partial file and a file is never
// replaced. Delete overwrites the file with zeros, syncs it and unlinks
// it.
type DirVault struct {
	dir string
}

var _ Vault = (*DirVault)(nil)

// NewDirVault returns the vault of directory dir, creating it (0700) if
// missing.
func NewDirVault(dir string) (*DirVault, error) {
	if dir == "" {
		return nil, errors.New("soft: no key directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("soft: %w", err)
	}
	return &DirVault{dir: dir}, nil
}

// String names the directory.
func (v *DirVault) String() string { return v.dir }

// path returns the file of handle h, refusing anything that is neither a
// handle a Backend makes nor [CheckHandle], so that no handle names a
// path elsewhere. The refusal wraps fs.ErrNotExist: no such key is here.
func (v *DirVault) path(h string) (string, error) {
	if h == CheckHandle {
		return filepath.Join(v.dir, CheckHandle), nil
	}
	if !validHandle(h) {
		return "", fmt.Errorf("soft: %q is not a soft handle: %w", h, fs.ErrNotExist)
	}
	return filepath.Join(v.dir, h+".key"), nil
}

// Put implements [Vault]: temp file, sync, link (never replacing an
// existing file), then sync the directory.
func (v *DirVault) Put(ctx context.Context, h string, sealed []byte) error {
	final, err := v.path(h)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(v.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("soft: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(sealed)
	serr := tmp.Sync()
	cerr := tmp.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return fmt.Errorf("soft: write sealed key: %w", err)
	}
	if err := os.Link(tmp.Name(), final); err != nil {
		return fmt.Errorf("soft: store sealed key: %w", err)
	}
	return syncDir(v.dir)
}

// Get implements [Vault]; a file larger than [MaxSealedSize] is refused.
func (v *DirVault) Get(ctx context.Context, h string) ([]byte, error) {
	p, err := v.path(h)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("soft: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSealedSize+1))
	if err != nil {
		return nil, fmt.Errorf("soft: %w", err)
	}
	if len(b) > MaxSealedSize {
		return nil, fmt.Errorf("soft: %s is larger than %d bytes", p, MaxSealedSize)
	}
	return b, nil
}

// Delete implements [Vault]: it overwrites the file with zeros, syncs it
// and unlinks it. On copy-on-write file systems and flash the old blocks
// may survive; they stay sealed under the master key.
func (v *DirVault) Delete(ctx context.Context, h string) error {
	p, err := v.path(h)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("soft: destroy %s: %w", h, err)
	}
	st, err := f.Stat()
	if err == nil {
		_, err = f.WriteAt(make([]byte, st.Size()), 0)
	}
	if err == nil {
		err = f.Sync()
	}
	err = errors.Join(err, f.Close())
	if err != nil {
		return fmt.Errorf("soft: destroy %s: %w", h, err)
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("soft: destroy %s: %w", h, err)
	}
	return syncDir(v.dir)
}

// Empty implements [Vault]: the directory holds neither master.check nor
// any *.key file (a missing directory is empty). It reads the directory
// in small batches and stops at the first such file.
func (v *DirVault) Empty(ctx context.Context) (bool, error) {
	d, err := os.Open(v.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("soft: %w", err)
	}
	defer d.Close()
	for {
		entries, err := d.ReadDir(64)
		for _, e := range entries {
			if n := e.Name(); n == CheckHandle || strings.HasSuffix(n, ".key") {
				return false, nil
			}
		}
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("soft: %w", err)
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("soft: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("soft: sync %s: %w", dir, err)
	}
	return nil
}
