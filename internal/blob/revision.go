package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
)

// A revision file holds a blob that is another blob (its base) followed by
// more bytes (its tail), as an incremental update of a PDF is: the tail,
// then a trailer that names the base and carries the SHA-256 state after
// the whole content, so that the next revision hashes only its own tail.
//
// Trailer layout, at the end of DIR/ab/cdef….rev:
//
//	base      32 bytes  the base's SHA-256
//	baseSize   8 bytes  big-endian
//	depth      2 bytes  big-endian: revisions between this blob and a full one
//	state      stateLen bytes: crypto/sha256's marshaled state after the content
//	stateLen   2 bytes  big-endian
//	magic     14 bytes  "signet/rev/v1\n"
const (
	revSuffix = ".rev"
	revMagic  = "signet/rev/v1\n"
	// maxDepth bounds a revision chain, and so the files a reader holds
	// open: the revision that would exceed it is stored whole.
	maxDepth = 32
	// maxState bounds the marshaled hash state a trailer may carry.
	maxState = 256
)

// ErrCorrupt means a stored revision's trailer or chain is malformed.
var ErrCorrupt = errors.New("blob: corrupt revision")

type trailer struct {
	base     string
	baseSize int64
	depth    int
	state    []byte
}

func (t *trailer) marshal() []byte {
	b, _ := hex.DecodeString(t.base)
	b = binary.BigEndian.AppendUint64(b, uint64(t.baseSize))
	b = binary.BigEndian.AppendUint16(b, uint16(t.depth))
	b = append(b, t.state...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(t.state)))
	return append(b, revMagic...)
}

// readTrailer reads the trailer of revision file f of size n and returns
// it with the tail's length.
func readTrailer(f io.ReaderAt, n int64) (*trailer, int64, error) {
	const fixed = 32 + 8 + 2 + 2
	end := make([]byte, 2+len(revMagic))
	if n < fixed+int64(len(revMagic)) {
		return nil, 0, fmt.Errorf("%w: %d bytes", ErrCorrupt, n)
	}
	if _, err := f.ReadAt(end, n-int64(len(end))); err != nil {
		return nil, 0, fmt.Errorf("blob: read revision: %w", err)
	}
	if string(end[2:]) != revMagic {
		return nil, 0, fmt.Errorf("%w: no trailer", ErrCorrupt)
	}
	stateLen := int64(binary.BigEndian.Uint16(end))
	size := fixed + stateLen + int64(len(revMagic))
	if stateLen > maxState || n < size {
		return nil, 0, fmt.Errorf("%w: state of %d bytes", ErrCorrupt, stateLen)
	}
	b := make([]byte, size-int64(len(revMagic)))
	if _, err := f.ReadAt(b, n-size); err != nil {
		return nil, 0, fmt.Errorf("blob: read revision: %w", err)
	}
	t := &trailer{
		base:     hex.EncodeToString(b[:32]),
		baseSize: int64(binary.BigEndian.Uint64(b[32:40])),
		depth:    int(binary.BigEndian.Uint16(b[40:42])),
		state:    b[42 : 42+stateLen],
	}
	if t.baseSize < 0 || t.depth < 1 || t.depth > maxDepth {
		return nil, 0, fmt.Errorf("%w: base size %d, depth %d", ErrCorrupt, t.baseSize, t.depth)
	}
	return t, n - size, nil
}

// A segment is a stretch of one open file.
type segment struct {
	f        *os.File
	off, len int64
}

// chain reads a revision as the concatenation of its segments.
type chain struct {
	segs []segment
	size int64
	pos  int64
}

func (c *chain) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("blob: negative offset")
	}
	n := 0
	start := int64(0)
	for _, s := range c.segs {
		if len(p) == 0 {
			break
		}
		if off >= start+s.len {
			start += s.len
			continue
		}
		in := off - start
		want := min(int64(len(p)), s.len-in)
		m, err := s.f.ReadAt(p[:want], s.off+in)
		n += m
		if err != nil && !(errors.Is(err, io.EOF) && int64(m) == want) {
			return n, err
		}
		p, off = p[m:], off+int64(m)
		start += s.len
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}

func (c *chain) Read(p []byte) (int, error) {
	if c.pos >= c.size {
		return 0, io.EOF
	}
	n, err := c.ReadAt(p[:min(int64(len(p)), c.size-c.pos)], c.pos)
	c.pos += int64(n)
	return n, err
}

func (c *chain) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += c.pos
	case io.SeekEnd:
		offset += c.size
	default:
		return 0, errors.New("blob: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("blob: negative position")
	}
	c.pos = offset
	return offset, nil
}

func (c *chain) Close() error {
	var errs []error
	for i, s := range c.segs {
		if i == 0 || s.f != c.segs[i-1].f {
			errs = append(errs, s.f.Close())
		}
	}
	return errors.Join(errs...)
}

// openSized opens path and returns it with its size. A missing file's
// error wraps fs.ErrNotExist.
func openSized(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, fi.Size(), nil
}

// openRevision opens the revision file of blob name and reads its
// trailer; it returns the file, the trailer and the tail's length. A
// missing revision file's error wraps fs.ErrNotExist.
func (s *FS) openRevision(name string) (*os.File, *trailer, int64, error) {
	f, n, err := openSized(s.path(name) + revSuffix)
	if err != nil {
		return nil, nil, 0, err
	}
	t, tail, err := readTrailer(f, n)
	if err != nil {
		f.Close()
		return nil, nil, 0, fmt.Errorf("%w (%s)", err, name)
	}
	return f, t, tail, nil
}

// openChain opens blob name, a full file or a revision, as segments.
func (s *FS) openChain(name string, depth int) ([]segment, int64, *trailer, error) {
	if depth > maxDepth {
		return nil, 0, nil, fmt.Errorf("%w: chain longer than %d", ErrCorrupt, maxDepth)
	}
	f, n, err := openSized(s.path(name))
	if err == nil {
		return []segment{{f: f, len: n}}, n, nil, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil, fmt.Errorf("blob: open: %w", err)
	}
	f, t, tail, err := s.openRevision(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return nil, 0, nil, fmt.Errorf("blob: open: %w", err)
	}
	segs, size, _, err := s.openChain(t.base, depth+1)
	if errors.Is(err, ErrNotFound) {
		err = fmt.Errorf("%w: %s lacks its base %s", ErrCorrupt, name, t.base)
	}
	if err == nil && size != t.baseSize {
		closeAll(segs)
		err = fmt.Errorf("%w: %s expects a base of %d bytes, %s has %d", ErrCorrupt, name, t.baseSize, t.base, size)
	}
	if err != nil {
		f.Close()
		return nil, 0, nil, err
	}
	return append(segs, segment{f: f, len: tail}), size + tail, t, nil
}

func closeAll(segs []segment) {
	(&chain{segs: segs}).Close()
}

// Append implements [Store]. The new blob is stored as a revision of
// base: a file with only tail's bytes and a trailer naming base (see the
// package documentation), hashed from the SHA-256 state recorded for base,
// so that neither base's bytes are read nor copied. A base that is itself
// the end of a long chain of revisions gets a full copy instead. Append
// refreshes base's modification time first, so that a garbage collector
// sparing recent blobs does not remove it from under the new revision.
func (s *FS) Append(ctx context.Context, base string, tail io.Reader) (string, int64, error) {
	if err := CheckName(base); err != nil {
		return "", 0, err
	}
	h, baseSize, depth, err := s.digest(ctx, base)
	if err != nil {
		return "", 0, err
	}
	if depth >= maxDepth {
		rd, _, err := s.Open(ctx, base)
		if err != nil {
			return "", 0, err
		}
		defer rd.Close()
		return s.Put(ctx, io.MultiReader(rd, tail))
	}
	if depth > 0 {
		// Build only on a whole chain.
		segs, _, _, err := s.openChain(base, 0)
		if err != nil {
			return "", 0, err
		}
		closeAll(segs)
	}
	if err := s.touch(base); err != nil {
		return "", 0, err
	}
	// A signature's update is a few kilobytes: read it whole, so that the
	// new blob's name is known before its file is written and the file is
	// written in its own directory (see writeIn).
	small, err := io.ReadAll(io.LimitReader(ctxReader{ctx, tail}, smallTail+1))
	if err != nil {
		return "", 0, fmt.Errorf("blob: put: %w", err)
	}
	if len(small) <= smallTail {
		h.Write(small)
		name := hex.EncodeToString(h.Sum(nil))
		state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return "", 0, fmt.Errorf("blob: put: %w", err)
		}
		t := trailer{base: base, baseSize: baseSize, depth: depth + 1, state: state}
		if err := s.writeIn(ctx, name, revSuffix, append(small, t.marshal()...)); err != nil {
			return "", 0, err
		}
		return name, baseSize + int64(len(small)), nil
	}
	tail = io.MultiReader(bytes.NewReader(small), tail)
	return s.write(ctx, filepath.Join(s.dir, "tmp"), "put-", func(f *os.File) (string, int64, []byte, error) {
		n, err := io.Copy(io.MultiWriter(f, h), ctxReader{ctx, tail})
		if err != nil {
			return "", 0, nil, err
		}
		name := hex.EncodeToString(h.Sum(nil))
		state, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return "", 0, nil, err
		}
		t := trailer{base: base, baseSize: baseSize, depth: depth + 1, state: state}
		if _, err := f.Write(t.marshal()); err != nil {
			return "", 0, nil, err
		}
		return name, baseSize + n, state, nil
	}, revSuffix)
}

// smallTail is the largest tail Append reads into memory.
const smallTail = 4 << 20

// tmpPrefix starts the names of the temporary files writeIn leaves in a
// blob directory if the process dies; NewFS removes them.
const tmpPrefix = ".put-"

// writeIn stores data as the file of blob name (name plus suffix), with
// its temporary file in the blob's own directory: creating and renaming
// within one of 256 directories, rather than all in DIR/tmp and across
// directories, keeps concurrent writers off a single directory's lock and
// the file system's cross-directory rename lock.
func (s *FS) writeIn(ctx context.Context, name, suffix string, data []byte) error {
	sub := filepath.Dir(s.path(name))
	if err := os.MkdirAll(sub, 0o700); err != nil {
		return fmt.Errorf("blob: put: %w", err)
	}
	_, _, err := s.write(ctx, sub, tmpPrefix, func(f *os.File) (string, int64, []byte, error) {
		_, err := f.Write(data)
		return name, int64(len(data)), nil, err
	}, suffix)
	return err
}

// Digest implements [Store].
func (s *FS) Digest(ctx context.Context, name string) (hash.Hash, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	h, _, _, err := s.digest(ctx, name)
	return h, err
}

// digest returns a SHA-256 in the state after blob name's content, its
// size, and its depth in a revision chain (0 for a whole blob). The state
// of a revision is in its trailer; that of a whole blob is remembered from
// Put or computed by reading it once.
func (s *FS) digest(ctx context.Context, name string) (hash.Hash, int64, int, error) {
	f, size, err := openSized(s.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return s.revisionDigest(name)
	}
	if err != nil {
		return nil, 0, 0, fmt.Errorf("blob: digest: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if st, ok := s.states.get(name, size); ok && h.(encoding.BinaryUnmarshaler).UnmarshalBinary(st) == nil {
		return h, size, 0, nil
	}
	h.Reset()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		return nil, 0, 0, fmt.Errorf("blob: digest: %w", err)
	}
	if hex.EncodeToString(h.Sum(nil)) != name {
		return nil, 0, 0, fmt.Errorf("%w: %s does not hash to its name", ErrCorrupt, name)
	}
	if st, err := h.(encoding.BinaryMarshaler).MarshalBinary(); err == nil {
		s.states.put(name, size, st)
	}
	return h, size, 0, nil
}

// revisionDigest is digest for a revision: its trailer's state.
func (s *FS) revisionDigest(name string) (hash.Hash, int64, int, error) {
	f, t, tail, err := s.openRevision(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, 0, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return nil, 0, 0, fmt.Errorf("blob: digest: %w", err)
	}
	f.Close()
	size := t.baseSize + tail
	h := sha256.New()
	if stateLength(t.state) != size || h.(encoding.BinaryUnmarshaler).UnmarshalBinary(t.state) != nil {
		return nil, 0, 0, fmt.Errorf("%w: %s has an unusable hash state", ErrCorrupt, name)
	}
	return h, size, t.depth, nil
}

// stateLength returns the message length recorded in a marshaled SHA-256
// state (its last 8 bytes, big-endian), or -1.
func stateLength(state []byte) int64 {
	if len(state) < 8 {
		return -1
	}
	return int64(binary.BigEndian.Uint64(state[len(state)-8:]))
}

// maxStates bounds the remembered states of full blobs; when full the
// memory is emptied (a state is recomputed from the blob on demand).
const maxStates = 4096

// stateCache remembers the SHA-256 states of full blobs by name and size.
type stateCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (c *stateCache) get(name string, size int64) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.m[name]
	return st, ok && stateLength(st) == size
}

func (c *stateCache) put(name string, size int64, state []byte) {
	if stateLength(state) != size {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxStates {
		c.m = make(map[string][]byte)
	}
	c.m[name] = bytes.Clone(state)
}

func (c *stateCache) forget(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, name)
}

// Base returns the blob that revision name extends, or "" if name is
// stored whole. Garbage collection keeps the base of every blob it keeps.
func (s *FS) Base(name string) (string, error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	f, t, _, err := s.openRevision(name)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(s.path(name)); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("%w: %s", ErrNotFound, name)
			}
			return "", fmt.Errorf("blob: %w", err)
		}
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("blob: %w", err)
	}
	f.Close()
	return t.base, nil
}

// file returns the path of blob name's file, whole or revision, or an
// error wrapping fs.ErrNotExist.
func (s *FS) file(name string) (string, error) {
	p := s.path(name)
	if _, err := os.Lstat(p); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return p, err
	}
	if _, err := os.Lstat(p + revSuffix); err != nil {
		return "", err
	}
	return p + revSuffix, nil
}

func (s *FS) touch(name string) error {
	p, err := s.file(name)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	now := s.now()
	if err := os.Chtimes(p, now, now); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}

// write stores a blob: fill writes its file (through a temporary file in
// tmpDir named prefix*) and returns its name, content size and SHA-256
// state (nil for a revision, whose state is in its trailer);
// write fsyncs the file, renames it to its name plus suffix ("" for a
// whole blob, ".rev" for a revision) and fsyncs the directory. If the
// content is already stored, in either form, it refreshes that file's
// modification time instead.
func (s *FS) write(ctx context.Context, tmpDir, prefix string, fill func(*os.File) (string, int64, []byte, error), suffix string) (string, int64, error) {
	f, err := os.CreateTemp(tmpDir, prefix+"*")
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
	name, n, state, err := fill(f)
	if err != nil {
		return "", 0, fmt.Errorf("blob: put: %w", err)
	}
	if err := f.Sync(); err != nil {
		return "", 0, fmt.Errorf("blob: put: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", 0, fmt.Errorf("blob: put: %w", err)
	}
	if suffix == "" && state != nil {
		s.states.put(name, n, state)
	}
	if _, err := s.file(name); err == nil {
		if err := s.touch(name); err != nil {
			return "", 0, fmt.Errorf("blob: put: %w", err)
		}
		return name, n, nil
	}
	final := s.path(name) + suffix
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
