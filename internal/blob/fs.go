package blob

import (
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// FS is a [Store] in a directory of the local filesystem.
type FS struct {
	dir string
	// Now returns the time Put stamps on content it finds already stored
	// (see [FS.Put]); nil means time.Now.
	Now func() time.Time

	states stateCache // SHA-256 states of whole blobs, for Append
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
	// Append writes its temporary files in the blobs' own directories.
	leftovers, _ := filepath.Glob(filepath.Join(dir, "??", tmpPrefix+"*"))
	for _, l := range leftovers {
		_ = os.Remove(l)
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
	return s.write(ctx, filepath.Join(s.dir, "tmp"), "put-", func(f *os.File) (string, int64, []byte, error) {
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, r})
		if err != nil {
			return "", 0, nil, err
		}
		state, _ := h.(encoding.BinaryMarshaler).MarshalBinary()
		return hex.EncodeToString(h.Sum(nil)), n, state, nil
	}, "")
}

// Open implements [Store]. A whole blob's reader is an *os.File; a
// revision's reads its base's files and its own as one.
func (s *FS) Open(ctx context.Context, name string) (Reader, int64, error) {
	if err := CheckName(name); err != nil {
		return nil, 0, err
	}
	segs, size, _, err := s.openChain(name, 0)
	if err != nil {
		return nil, 0, err
	}
	if len(segs) == 1 {
		return segs[0].f, size, nil
	}
	return &chain{segs: segs, size: size}, size, nil
}

// Delete implements [Store]. Deleting a blob that a stored revision
// extends breaks that revision: callers delete only blobs that no kept
// blob has as its base (see [FS.Base]).
func (s *FS) Delete(ctx context.Context, name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	p := s.path(name)
	removed := false
	for _, f := range []string{p, p + revSuffix} {
		err := os.Remove(f)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("blob: delete: %w", err)
		}
		removed = removed || err == nil
	}
	s.states.forget(name)
	if !removed {
		return nil // already missing, perhaps with its directory
	}
	return syncDir(filepath.Dir(p))
}

// ModTime returns when the blob was last written or re-put, for garbage
// collectors that must spare blobs a request may be about to reference.
func (s *FS) ModTime(name string) (time.Time, error) {
	if err := CheckName(name); err != nil {
		return time.Time{}, err
	}
	p, err := s.file(name)
	var fi os.FileInfo
	if err == nil {
		fi, err = os.Stat(p)
	}
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
			if rev, ok := strings.CutSuffix(name, revSuffix); ok {
				if _, err := os.Lstat(s.path(rev)); err == nil {
					continue // also stored whole: listed once
				}
				name = rev
			}
			if CheckName(name) != nil {
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

// WriteTo lets io.Copy use the WriteTo of a reader that has one (a
// reader of memory, or one that seals as it goes), which writes what it
// holds without a copy through io.Copy's buffer; ctx is checked before
// each write.
func (c ctxReader) WriteTo(w io.Writer) (int64, error) {
	if wt, ok := c.r.(io.WriterTo); ok {
		return wt.WriteTo(ctxWriter{c.ctx, w})
	}
	return io.Copy(w, struct{ io.Reader }{c})
}

// maxWrite bounds the bytes ctxWriter passes on at once: a reader of
// memory writes all it holds in one call, which the file and the hash are
// slower to take whole (the bytes leave the CPU's caches between the two)
// than in pieces, and ctx is checked between pieces.
const maxWrite = 64 << 10

// ctxWriter stops a long WriteTo when ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		if err := c.ctx.Err(); err != nil {
			return n, err
		}
		k, err := c.w.Write(p[:min(len(p), maxWrite)])
		n += k
		if err != nil {
			return n, err
		}
		p = p[k:]
	}
	return n, nil
}
