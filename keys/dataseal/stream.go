package dataseal

import (
	"bufio"
	"context"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// segmentCT is the size of a full ciphertext segment.
const segmentCT = SegmentSize + tagSize

// maxSegments is the number of segments a stream may hold.
const maxSegments = math.MaxUint32 + 1

// segNonce fills nonce with prefix || i || last.
func segNonce(nonce *[nonceSize]byte, prefix []byte, i uint64, last bool) {
	copy(nonce[:prefixSize], prefix)
	binary.BigEndian.PutUint32(nonce[prefixSize:], uint32(i))
	nonce[nonceSize-1] = 0
	if last {
		nonce[nonceSize-1] = 1
	}
}

// writer is the io.WriteCloser of NewWriter.
type writer struct {
	w      io.Writer
	aead   cipher.AEAD
	ad     []byte
	prefix [prefixSize]byte
	buf    []byte // plaintext of the pending segment, then its ciphertext
	n      int    // plaintext bytes pending
	seg    uint64
	err    error
	dk     []byte
}

// NewWriter returns a writer that seals what is written to it as a
// stream for ad into w, under a fresh data key wrapped by kek. It writes
// the header at once. Close writes the last segment and must be called;
// it does not close w. Memory is bounded by one segment.
func NewWriter(ctx context.Context, kek KEK, ad AD, w io.Writer, rand io.Reader) (io.WriteCloser, error) {
	enc, err := ad.Encode()
	if err != nil {
		return nil, err
	}
	dk, h, err := newDataKey(ctx, kek, kindStream, enc, rand)
	if err != nil {
		return nil, err
	}
	sw := &writer{w: w, aead: newGCM(dk), ad: payloadAD(kindStream, enc), dk: dk}
	if _, err := io.ReadFull(rand, sw.prefix[:]); err != nil {
		clear(dk)
		return nil, fmt.Errorf("dataseal: nonce prefix: %w", err)
	}
	hdr := append(h.append(make([]byte, 0, h.size()+prefixSize)), sw.prefix[:]...)
	if _, err := w.Write(hdr); err != nil {
		clear(dk)
		return nil, fmt.Errorf("dataseal: writing header: %w", err)
	}
	sw.buf = make([]byte, segmentCT)
	return sw, nil
}

// Write implements io.Writer. A full segment is sealed only once more
// data follows it, since the last segment is marked as such.
func (sw *writer) Write(p []byte) (int, error) {
	if sw.err != nil {
		return 0, sw.err
	}
	written := 0
	for len(p) > 0 {
		if sw.n == SegmentSize {
			if err := sw.flush(false); err != nil {
				return written, err
			}
		}
		c := copy(sw.buf[sw.n:SegmentSize], p)
		sw.n += c
		p = p[c:]
		written += c
	}
	return written, nil
}

func (sw *writer) flush(last bool) error {
	if sw.seg >= maxSegments {
		sw.err = errors.New("dataseal: stream exceeds 2^32 segments")
		return sw.err
	}
	var nonce [nonceSize]byte
	segNonce(&nonce, sw.prefix[:], sw.seg, last)
	ct := sw.aead.Seal(sw.buf[:0], nonce[:], sw.buf[:sw.n], sw.ad)
	if _, err := sw.w.Write(ct); err != nil {
		sw.err = fmt.Errorf("dataseal: writing segment: %w", err)
		return sw.err
	}
	sw.seg++
	sw.n = 0
	return nil
}

// Close seals the last segment (possibly empty) and forgets the data key.
func (sw *writer) Close() error {
	if sw.err != nil {
		return sw.err
	}
	err := sw.flush(true)
	clear(sw.dk)
	clear(sw.buf)
	if err == nil {
		sw.err = errors.New("dataseal: writer closed")
	}
	return err
}

// reader is the io.Reader of NewReader.
type reader struct {
	r      *bufio.Reader
	aead   cipher.AEAD
	ad     []byte
	prefix [prefixSize]byte
	buf    []byte // ciphertext of the current segment, then its plaintext
	out    []byte // plaintext not yet handed out
	seg    uint64
	done   bool
	err    error
}

// NewReader reads the header of a stream made by [NewWriter] for ad from
// r and unwraps its data key with kek; the returned reader yields the
// plaintext, each segment after its tag checks, and io.EOF only after
// the authentic last segment. Any other error means the stream is not
// authentic; discard what was read. Memory is bounded by one segment.
func NewReader(ctx context.Context, kek KEK, ad AD, r io.Reader) (io.Reader, error) {
	enc, err := ad.Encode()
	if err != nil {
		return nil, err
	}
	h, err := readHeader(r)
	if err != nil {
		return nil, err
	}
	if h.kind != kindStream {
		return nil, fmt.Errorf("%w: a value, not a stream", ErrMalformed)
	}
	sr := &reader{ad: payloadAD(kindStream, enc)}
	if _, err := io.ReadFull(r, sr.prefix[:]); err != nil {
		return nil, malformed("nonce prefix", err)
	}
	dk, err := unwrapKey(ctx, kek, h, enc)
	if err != nil {
		return nil, err
	}
	sr.aead = newGCM(dk)
	clear(dk)
	sr.r = bufio.NewReaderSize(r, 16)
	sr.buf = make([]byte, segmentCT)
	return sr, nil
}

// Read implements io.Reader.
func (sr *reader) Read(p []byte) (int, error) {
	for len(sr.out) == 0 {
		if sr.err != nil {
			return 0, sr.err
		}
		if sr.done {
			return 0, io.EOF
		}
		sr.err = sr.next()
	}
	n := copy(p, sr.out)
	sr.out = sr.out[n:]
	return n, nil
}

// next reads, authenticates and decrypts one segment.
func (sr *reader) next() error {
	n, err := io.ReadFull(sr.r, sr.buf)
	last := false
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		last = true
	case err != nil:
		return fmt.Errorf("dataseal: reading segment: %w", err)
	default:
		if _, perr := sr.r.Peek(1); perr == io.EOF {
			last = true
		} else if perr != nil {
			return fmt.Errorf("dataseal: reading segment: %w", perr)
		}
	}
	if n < tagSize {
		return fmt.Errorf("%w: truncated stream", ErrAuth)
	}
	if sr.seg >= maxSegments {
		return fmt.Errorf("%w: stream exceeds 2^32 segments", ErrMalformed)
	}
	var nonce [nonceSize]byte
	segNonce(&nonce, sr.prefix[:], sr.seg, last)
	pt, oerr := sr.aead.Open(sr.buf[:0], nonce[:], sr.buf[:n], sr.ad)
	if oerr != nil {
		return fmt.Errorf("%w: segment %d", ErrAuth, sr.seg)
	}
	sr.seg++
	sr.out = pt
	sr.done = last
	return nil
}
