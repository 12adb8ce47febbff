package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/signet-pki/signet/internal/blob"
)

const (
	// cachedChunks is how many chunks a reader keeps: the one being read
	// and the one before, so that reads across a chunk boundary, and a
	// PDF parser's small jumps back, fetch nothing again.
	cachedChunks = 2
	// fetchTimeout bounds one chunk's query, and the lookups that take
	// no context (ModTime, Base). A reader does not stop with the context
	// of Open (an *os.File does not either), but no fetch waits forever.
	fetchTimeout = time.Minute
)

// A segment is the stretch [start, start+len) of a blob's content stored
// in the chunks of one blobs row: a whole blob, or a revision's tail.
type segment struct {
	content    int64
	start, len int64
}

// Open implements [blob.Store]. It reads the rows of the blob and of the
// bases it extends in one statement; the reader it returns fetches their
// chunks as they are read.
func (s *Store) Open(ctx context.Context, name string) (blob.Reader, int64, error) {
	if err := blob.CheckName(name); err != nil {
		return nil, 0, err
	}
	rows, err := s.pool.Query(ctx, `
WITH RECURSIVE chain (name, size, base, depth, content, level) AS (
	SELECT name, size, base, depth, content, 0 FROM blobs WHERE name = $1
	UNION ALL
	SELECT b.name, b.size, b.base, b.depth, b.content, c.level + 1
	FROM blobs b JOIN chain c ON b.name = c.base
	WHERE c.level <= $2
)
SELECT name, size, base, depth, content FROM chain ORDER BY level DESC`, name, maxDepth)
	if err != nil {
		return nil, 0, fmt.Errorf("blob/postgres: open: %w", err)
	}
	type link struct {
		name    string
		size    int64
		base    *string
		depth   int
		content int64
	}
	chain, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (link, error) {
		var l link
		err := row.Scan(&l.name, &l.size, &l.base, &l.depth, &l.content)
		return l, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("blob/postgres: open: %w", err)
	}
	if len(chain) == 0 {
		return nil, 0, fmt.Errorf("blob/postgres: open: %w: %s", blob.ErrNotFound, name)
	}
	// chain runs from the whole blob up to name; check that each row
	// extends the one before, as its columns say.
	segs := make([]segment, 0, len(chain))
	var prev *link
	for i := range chain {
		l := &chain[i]
		ok := l.depth == i && len(chain) <= maxDepth+1
		start := int64(0)
		if prev == nil {
			ok = ok && l.base == nil
		} else {
			ok = ok && l.base != nil && *l.base == prev.name && l.size >= prev.size
			start = prev.size
		}
		if !ok {
			return nil, 0, fmt.Errorf("blob/postgres: open: %w: %s has an inconsistent chain of bases", blob.ErrCorrupt, name)
		}
		if l.size > start {
			segs = append(segs, segment{content: l.content, start: start, len: l.size - start})
		}
		prev = l
	}
	return &reader{
		store: s,
		ctx:   context.WithoutCancel(ctx),
		name:  name,
		segs:  segs,
		size:  prev.size,
	}, prev.size, nil
}

// reader reads a blob's segments, fetching chunks on demand.
type reader struct {
	store *Store
	ctx   context.Context
	name  string
	segs  []segment
	size  int64

	mu     sync.Mutex // guards what follows; held during a fetch
	pos    int64
	closed bool
	cache  [cachedChunks]chunk
	clock  uint64 // orders cache uses
}

// A chunk is a cached chunk of one segment.
type chunk struct {
	content int64
	n       int64
	data    []byte
	used    uint64 // 0: empty
}

func (r *reader) ReadAt(p []byte, off int64) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.readAt(p, off)
}

func (r *reader) readAt(p []byte, off int64) (int, error) {
	if r.closed {
		return 0, errors.New("blob/postgres: read of a closed blob")
	}
	if off < 0 {
		return 0, errors.New("blob/postgres: negative offset")
	}
	n := 0
	for len(p) > 0 && off < r.size {
		seg := r.segment(off)
		in := off - seg.start
		c, err := r.chunk(seg, in/chunkSize)
		if err != nil {
			return n, err
		}
		m := copy(p, c[in%chunkSize:])
		n += m
		p, off = p[m:], off+int64(m)
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}

// segment returns the segment holding offset off < r.size.
func (r *reader) segment(off int64) segment {
	for _, s := range r.segs {
		if off < s.start+s.len {
			return s
		}
	}
	panic("blob/postgres: offset beyond the segments") // Open checked the sizes
}

// chunk returns chunk n of seg, from the cache or the database.
func (r *reader) chunk(seg segment, n int64) ([]byte, error) {
	r.clock++
	oldest := 0
	for i := range r.cache {
		c := &r.cache[i]
		if c.used != 0 && c.content == seg.content && c.n == n {
			c.used = r.clock
			return c.data, nil
		}
		if c.used < r.cache[oldest].used {
			oldest = i
		}
	}
	want := min(chunkSize, seg.len-n*chunkSize)
	c := &r.cache[oldest]
	c.used = 0
	buf := pgtype.PreallocBytes(c.data[:cap(c.data)])
	ctx, cancel := context.WithTimeout(r.ctx, fetchTimeout)
	defer cancel()
	err := r.store.pool.QueryRow(ctx, `SELECT data FROM blob_chunks WHERE content = $1 AND n = $2`, seg.content, n).Scan(&buf)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("blob/postgres: read: %w: chunk %d of %s (deleted while being read)", blob.ErrNotFound, n, r.name)
	}
	if err != nil {
		return nil, fmt.Errorf("blob/postgres: read: %w", err)
	}
	if int64(len(buf)) != want {
		return nil, fmt.Errorf("blob/postgres: read: %w: chunk %d of %s has %d bytes, want %d", blob.ErrCorrupt, n, r.name, len(buf), want)
	}
	*c = chunk{content: seg.content, n: n, data: buf, used: r.clock}
	return buf, nil
}

func (r *reader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, errors.New("blob/postgres: read of a closed blob")
	}
	if r.pos >= r.size {
		return 0, io.EOF
	}
	n, err := r.readAt(p[:min(int64(len(p)), r.size-r.pos)], r.pos)
	r.pos += int64(n)
	return n, err
}

func (r *reader) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.size
	default:
		return 0, errors.New("blob/postgres: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("blob/postgres: negative position")
	}
	r.pos = offset
	return offset, nil
}

// Close releases the cached chunks. The reader holds no connection.
func (r *reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.cache = [cachedChunks]chunk{}
	return nil
}
