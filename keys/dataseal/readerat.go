package dataseal

import (
	"bufio"
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"sync"
)

// readerAtCache is the number of decrypted segments a [ReaderAt] keeps.
const readerAtCache = 4

// ReaderAt gives random access to the plaintext of a stream made by
// [NewWriter], as a PDF reader needs it: [ReaderAt.ReadAt] authenticates
// and decrypts only the segments it touches. Its methods are safe for
// concurrent use.
//
// The segment layout is derived from the stream's size alone (every
// segment but the last is full), and each segment is opened with the
// nonce that says whether it is the last, so a stream truncated or
// extended by any number of bytes fails: [NewReaderAt] opens the last
// segment at once, and any segment whose position the changed size moves
// fails when read. Segments before the last hold what [NewWriter] wrote
// at their position, since their tags bind their index. Memory is bounded
// by a few segments (a small cache of decrypted segments, for readers
// that read one segment in several small pieces).
type ReaderAt struct {
	r      io.ReaderAt
	aead   cipher.AEAD
	ad     []byte
	prefix [prefixSize]byte
	body   int64  // offset of segment 0 in r
	ctSize int64  // size of r
	nseg   uint64 // number of segments, at least 1
	size   int64  // plaintext size

	mu    sync.Mutex
	cache []cachedSegment // most recently used last
	free  [][]byte        // buffers of evicted segments
}

// cachedSegment is one decrypted segment.
type cachedSegment struct {
	i  uint64
	pt []byte
}

// NewReaderAt reads the header of a stream made by [NewWriter] for ad
// from r, whose size in bytes is size, unwraps its data key with kek,
// derives the segment layout from size and authenticates the last
// segment. Malformed input is [ErrMalformed]; a size or content that
// fails authentication, [ErrAuth].
func NewReaderAt(ctx context.Context, kek KEK, ad AD, r io.ReaderAt, size int64) (*ReaderAt, error) {
	enc, err := ad.Encode()
	if err != nil {
		return nil, err
	}
	if size < 0 {
		return nil, fmt.Errorf("%w: negative size", ErrMalformed)
	}
	// One read for the header and the nonce prefix (a remote store
	// answers each ReadAt with a request).
	sr := bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 2048)
	h, err := readHeader(sr)
	if err != nil {
		return nil, err
	}
	if h.kind != kindStream {
		return nil, fmt.Errorf("%w: a value, not a stream", ErrMalformed)
	}
	ra := &ReaderAt{r: r, ad: payloadAD(kindStream, enc), ctSize: size}
	if _, err := io.ReadFull(sr, ra.prefix[:]); err != nil {
		return nil, malformed("nonce prefix", err)
	}
	ra.body = int64(h.size()) + prefixSize
	body := size - ra.body
	if body < tagSize {
		return nil, fmt.Errorf("%w: truncated stream", ErrAuth)
	}
	n := uint64((body + segmentCT - 1) / segmentCT)
	if rest := body % segmentCT; rest != 0 && rest < tagSize {
		// The last segment would be shorter than its tag: the stream was
		// truncated or extended.
		return nil, fmt.Errorf("%w: stream size does not end on a segment", ErrAuth)
	}
	if n > maxSegments {
		return nil, fmt.Errorf("%w: stream exceeds 2^32 segments", ErrMalformed)
	}
	ra.nseg = n
	ra.size = body - int64(n)*tagSize
	dk, err := unwrapKey(ctx, kek, h, enc)
	if err != nil {
		return nil, err
	}
	ra.aead = newGCM(dk)
	clear(dk)
	// The last segment says whether the size is the written one.
	ra.mu.Lock()
	_, err = ra.segment(n - 1)
	ra.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return ra, nil
}

// Size returns the size of the plaintext.
func (ra *ReaderAt) Size() int64 { return ra.size }

// segBounds returns the ciphertext offset and length of segment i.
func (ra *ReaderAt) segBounds(i uint64) (int64, int) {
	off := ra.body + int64(i)*segmentCT
	if i == ra.nseg-1 {
		return off, int(ra.ctSize - off)
	}
	return off, segmentCT
}

// open reads, authenticates and decrypts segment i into dst (of capacity
// at least SegmentSize; ct of capacity segmentCT is scratch space, which
// may be dst itself) and returns the plaintext.
func (ra *ReaderAt) open(i uint64, dst, ct []byte) ([]byte, error) {
	off, n := ra.segBounds(i)
	ct = ct[:n]
	if m, err := ra.r.ReadAt(ct, off); m < n {
		if err == nil || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: stream shorter than its size", ErrAuth)
		}
		return nil, fmt.Errorf("dataseal: reading segment %d: %w", i, err)
	}
	var nonce [nonceSize]byte
	segNonce(&nonce, ra.prefix[:], i, i == ra.nseg-1)
	pt, err := ra.aead.Open(dst[:0], nonce[:], ct, ra.ad)
	if err != nil {
		return nil, fmt.Errorf("%w: segment %d", ErrAuth, i)
	}
	return pt, nil
}

// segment returns the plaintext of segment i from the cache, or opens it
// and caches it. ra.mu is held; the result is valid while it is.
func (ra *ReaderAt) segment(i uint64) ([]byte, error) {
	for k, c := range ra.cache {
		if c.i == i {
			if k != len(ra.cache)-1 {
				copy(ra.cache[k:], ra.cache[k+1:])
				ra.cache[len(ra.cache)-1] = c
			}
			return c.pt, nil
		}
	}
	var buf []byte
	if n := len(ra.free); n > 0 {
		buf, ra.free = ra.free[n-1], ra.free[:n-1]
	} else {
		buf = make([]byte, segmentCT)
	}
	pt, err := ra.open(i, buf, buf)
	if err != nil {
		ra.free = append(ra.free, buf)
		return nil, err
	}
	if len(ra.cache) == readerAtCache {
		ra.free = append(ra.free, ra.cache[0].pt[:0])
		copy(ra.cache, ra.cache[1:])
		ra.cache = ra.cache[:len(ra.cache)-1]
	}
	ra.cache = append(ra.cache, cachedSegment{i: i, pt: pt})
	return pt, nil
}

// ReadAt implements io.ReaderAt over the plaintext. Each segment it
// touches is authenticated before any of its bytes are copied into p; an
// error wrapping [ErrAuth] means the stream is not authentic (what p
// holds then must be discarded).
func (ra *ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("dataseal: negative offset")
	}
	if off >= ra.size {
		return 0, io.EOF
	}
	want := len(p)
	if rest := ra.size - off; int64(want) > rest {
		p = p[:rest]
	}
	n := 0
	var scratch []byte
	for n < len(p) {
		pos := off + int64(n)
		i := uint64(pos / SegmentSize)
		in := int(pos % SegmentSize)
		segLen := SegmentSize
		if i == ra.nseg-1 {
			segLen = int(ra.size - int64(i)*SegmentSize)
		}
		if in == 0 && len(p)-n >= segLen {
			// A whole segment: decrypt straight into p.
			if scratch == nil {
				scratch = make([]byte, segmentCT)
			}
			if _, err := ra.open(i, p[n:n+segLen], scratch); err != nil {
				return n, err
			}
			n += segLen
			continue
		}
		ra.mu.Lock()
		pt, err := ra.segment(i)
		if err == nil {
			n += copy(p[n:], pt[in:])
		}
		ra.mu.Unlock()
		if err != nil {
			return n, err
		}
	}
	if n < want {
		return n, io.EOF
	}
	return n, nil
}
