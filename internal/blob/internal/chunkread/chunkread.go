// Package chunkread is the [blob.Reader] of the stores that keep a blob's
// content in fixed-size chunks away from the process (internal/blob/postgres,
// internal/blob/s3): a blob is a list of segments (a whole blob's content,
// then each revision's tail), each read a chunk at a time through a fetch
// function, with the last two chunks cached.
package chunkread

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/signet-pki/signet/internal/blob"
)

const (
	// cached is how many chunks a reader keeps: the one being read and
	// the one before, so that reads across a chunk boundary, and a PDF
	// parser's small jumps back, fetch nothing again.
	cached = 2
	// fetchTimeout bounds one fetch. A reader does not stop with the
	// context it was opened with (an *os.File does not either), but no
	// fetch waits forever.
	fetchTimeout = time.Minute
)

// A Segment is the stretch [Start, Start+Len) of a blob's content stored
// under Key, in chunks of the reader's chunk size from the segment's
// start.
type Segment[K comparable] struct {
	Key        K
	Start, Len int64
}

// Fetch returns chunk n of the segment stored under key, using buf (of the
// chunk size) if it can. A missing chunk's error wraps [blob.ErrNotFound].
type Fetch[K comparable] func(ctx context.Context, key K, n int64, buf []byte) ([]byte, error)

// Reader reads a blob's segments, fetching chunks on demand. It is safe for
// concurrent use; concurrent reads take turns.
type Reader[K comparable] struct {
	ctx       context.Context
	prefix    string // of error messages: the store's package path
	name      string
	segs      []Segment[K]
	size      int64
	chunkSize int64
	fetch     Fetch[K]

	mu     sync.Mutex // guards what follows; held during a fetch
	pos    int64
	closed bool
	cache  [cached]chunk[K]
	clock  uint64 // orders cache uses
}

type chunk[K comparable] struct {
	key  K
	n    int64
	data []byte
	used uint64 // 0: empty
}

// New returns a reader of blob name, whose content is segs (contiguous from
// 0, without empty segments), in chunks of chunkSize. Fetches run with
// ctx's values but not its cancellation, each for at most a minute. prefix
// starts error messages.
func New[K comparable](ctx context.Context, prefix, name string, segs []Segment[K], chunkSize int64, fetch Fetch[K]) (*Reader[K], error) {
	size := int64(0)
	for _, s := range segs {
		if s.Start != size || s.Len <= 0 {
			return nil, fmt.Errorf("%s: %w: the segments of %s are not contiguous", prefix, blob.ErrCorrupt, name)
		}
		size += s.Len
	}
	return &Reader[K]{
		ctx: context.WithoutCancel(ctx), prefix: prefix, name: name,
		segs: segs, size: size, chunkSize: chunkSize, fetch: fetch,
	}, nil
}

// Size returns the blob's length.
func (r *Reader[K]) Size() int64 { return r.size }

// ReadAt implements io.ReaderAt.
func (r *Reader[K]) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.readAt(p, off)
}

func (r *Reader[K]) readAt(p []byte, off int64) (int, error) {
	if r.closed {
		return 0, fmt.Errorf("%s: read of a closed blob", r.prefix)
	}
	if off < 0 {
		return 0, fmt.Errorf("%s: negative offset", r.prefix)
	}
	n := 0
	for len(p) > 0 && off < r.size {
		seg := r.segment(off)
		in := off - seg.Start
		c, err := r.chunk(seg, in/r.chunkSize)
		if err != nil {
			return n, err
		}
		m := copy(p, c[in%r.chunkSize:])
		n += m
		p, off = p[m:], off+int64(m)
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}

// segment returns the segment holding offset off < r.size.
func (r *Reader[K]) segment(off int64) Segment[K] {
	for _, s := range r.segs {
		if off < s.Start+s.Len {
			return s
		}
	}
	panic("chunkread: offset beyond the segments") // New checked them
}

// chunk returns chunk n of seg, from the cache or fetched.
func (r *Reader[K]) chunk(seg Segment[K], n int64) ([]byte, error) {
	r.clock++
	oldest := 0
	for i := range r.cache {
		c := &r.cache[i]
		if c.used != 0 && c.key == seg.Key && c.n == n {
			c.used = r.clock
			return c.data, nil
		}
		if c.used < r.cache[oldest].used {
			oldest = i
		}
	}
	want := min(r.chunkSize, seg.Len-n*r.chunkSize)
	c := &r.cache[oldest]
	c.used = 0
	buf := c.data[:cap(c.data)]
	if int64(len(buf)) < r.chunkSize {
		buf = make([]byte, r.chunkSize)
	}
	ctx, cancel := context.WithTimeout(r.ctx, fetchTimeout)
	defer cancel()
	data, err := r.fetch(ctx, seg.Key, n, buf)
	if err != nil {
		return nil, fmt.Errorf("%s: read %s: %w", r.prefix, r.name, err)
	}
	if int64(len(data)) != want {
		return nil, fmt.Errorf("%s: read: %w: chunk %d of %s has %d bytes, want %d", r.prefix, blob.ErrCorrupt, n, r.name, len(data), want)
	}
	*c = chunk[K]{key: seg.Key, n: n, data: data, used: r.clock}
	return data, nil
}

// Read implements io.Reader.
func (r *Reader[K]) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, fmt.Errorf("%s: read of a closed blob", r.prefix)
	}
	if r.pos >= r.size {
		return 0, io.EOF
	}
	n, err := r.readAt(p[:min(int64(len(p)), r.size-r.pos)], r.pos)
	r.pos += int64(n)
	return n, err
}

// Seek implements io.Seeker.
func (r *Reader[K]) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New(r.prefix + ": invalid whence")
	}
	if offset < 0 {
		return 0, errors.New(r.prefix + ": negative position")
	}
	r.pos = offset
	return offset, nil
}

// Close releases the cached chunks; later reads fail.
func (r *Reader[K]) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.cache = [cached]chunk[K]{}
	return nil
}
