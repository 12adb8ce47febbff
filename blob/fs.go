package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// FS is a [Store] in a directory of the local filesystem.
type FS struct {
	dir string
	// Now returns the time Put stamps on content it finds already stored
	// (see [FS.Put]); nil means time.Now.
	Now func() time.Time
}

var _ Store = (*FS)(nil)

// NewFS returns a store rooted at dir, creating it (mode 0700) if needed,
// and removes temporary files left by an interrupted Put.
func NewFS(dir string) (*FS, error) {
	if dir == "" {
		return nil, errors.New("blob: empty directory")
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	for _, e := range entries {
		// Only Put writes here, and a file here is never a complete blob.
		_ = os.Remove(filepath.Join(tmp, e.Name()))
	}
	return &FS{dir: dir}, nil
}

func (s *FS) path(name string) string {
	return filepath.Join(s.dir, name[:2], name[2:])
}

func (s *FS) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Put implements [Store]. The content goes to a temporary file in the
// store's directory, is fsynced and then renamed to its final name, and the
// directory is fsynced. When the content is already stored, Put refreshes
// the existing file's modification time instead of writing it again, so a
// garbage collector that spares recently touched blobs (see
// [FS.ModTime]) cannot remove it between Put and the caller's reference.
func (s *FS) Put(ctx context.Context, r io.Reader) (string, int64, error) {
	f, err := os.CreateTemp(filepath.Join(s.dir, "tmp"), "put-*")
	if err != nil {
		return "", 0, fmt.Errorf("blob: put: %w", err)
	}
	tmp := f.Name()
	committed := false
	defer func() {
		if !committed {
			f.Close()
			os.Remove(tmp)
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, r})
	if err != nil {
		return "", 0, fmt.Errorf("blob: put: %w", err)
	}
	if err := f.Sync(); err != nil {
		return "", 0, fmt.Errorf("blob: put: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", 0, fmt.Errorf("blob: put: %w", err)
	}
	name := hex.EncodeToString(h.Sum(nil))
	final := s.path(name)
	if fi, err := os.Stat(final); err == nil && fi.Size() == n {
		now := s.now()
		if err := os.Chtimes(final, now, now); err != nil {
			return "", 0, fmt.Errorf("blob: put: %w", err)
		}
		return name, n, nil
	}
	sub := filepath.Dir(final)
	if err := os.MkdirAll(sub, 0o700); err != nil {
		return "", 0, fmt.Errorf("blob: put: %w", err)
	}
	// rename(2) is atomic: a concurrent Put of the same content replaces
	// one complete file with another identical one.
	if err := os.Rename(tmp, final); err != nil {
		return "", 0, fmt.Errorf("blob: put: %w", err)
	}
	committed = true
	if err := syncDir(sub); err != nil {
		return "", 0, fmt.Errorf("blob: put: %w", err)
	}
	return name, n, nil
}

// Open implements [Store]. The returned reader is an *os.File.
func (s *FS) Open(ctx context.Context, name string) (Reader, int64, error) {
	if err := checkName(name); err != nil {
		return nil, 0, err
	}
	f, err := os.Open(s.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("blob: open: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("blob: open: %w", err)
	}
	return f, fi.Size(), nil
}

// Delete implements [Store].
func (s *FS) Delete(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	p := s.path(name)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: delete: %w", err)
	}
	return syncDir(filepath.Dir(p))
}

// ModTime returns when the blob was last written or re-put, for garbage
// collectors that must spare blobs a request may be about to reference.
func (s *FS) ModTime(name string) (time.Time, error) {
	if err := checkName(name); err != nil {
		return time.Time{}, err
	}
	fi, err := os.Stat(s.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return time.Time{}, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("blob: %w", err)
	}
	return fi.ModTime(), nil
}

// Walk calls fn with the name of every stored blob, in no particular
// order, until fn returns an error (which Walk returns).
func (s *FS) Walk(ctx context.Context, fn func(name string) error) error {
	subs, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("blob: walk: %w", err)
	}
	for _, sub := range subs {
		if !sub.IsDir() || len(sub.Name()) != 2 {
			continue
		}
		files, err := os.ReadDir(filepath.Join(s.dir, sub.Name()))
		if err != nil {
			return fmt.Errorf("blob: walk: %w", err)
		}
		for _, f := range files {
			name := sub.Name() + f.Name()
			if checkName(name) != nil {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(name); err != nil {
				return err
			}
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ctxReader stops a long copy when ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
