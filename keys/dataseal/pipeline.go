package dataseal

import (
	"context"
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"sync"
)

// AheadSegments bounds the segments a [SealingReader] or a
// [StreamReader] prepares ahead of its consumer on its own goroutine
// (with the one being consumed, the memory each holds is at most
// AheadSegments+2 segments).
const AheadSegments = 4

// errClosed is what a pipeline's producer reports when its consumer
// closed it first.
var errClosed = errors.New("dataseal: reader closed")

// pipeline hands buffers of bytes, in order, from a producer goroutine
// to a consumer, at most AheadSegments ahead, recycling the buffers. It
// is the consumer half of [SealingReader].
type pipeline struct {
	ready chan []byte   // produced buffers, in order; closed at the end
	free  chan []byte   // consumed buffers, for the producer to reuse
	stop  chan struct{} // closed by Close
	done  chan struct{} // closed when the producer returns
	err   error         // the producer's error, set before ready closes
	made  int           // buffers the producer allocated
	once  sync.Once

	cur    []byte // bytes not yet handed out
	curBuf []byte // the buffer cur is in, nil for the first piece
	rerr   error  // the consumer's sticky error
}

func newPipeline() *pipeline {
	return &pipeline{
		ready: make(chan []byte, AheadSegments),
		free:  make(chan []byte, AheadSegments+2),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
}

// buffer returns a buffer of segmentCT bytes for the producer: a recycled
// one, a new one while fewer than AheadSegments+2 exist, else the next
// one recycled; false if the consumer closed the pipeline.
func (p *pipeline) buffer() ([]byte, bool) {
	select {
	case b := <-p.free:
		return b[:segmentCT], true
	default:
	}
	if p.made < AheadSegments+2 {
		p.made++
		return make([]byte, segmentCT), true
	}
	select {
	case b := <-p.free:
		return b[:segmentCT], true
	case <-p.stop:
		return nil, false
	}
}

// send hands b to the consumer; false if the consumer closed the
// pipeline.
func (p *pipeline) send(b []byte) bool {
	select {
	case p.ready <- b:
		return true
	case <-p.stop:
		return false
	}
}

// finish ends the producer with err (nil: the data is complete).
func (p *pipeline) finish(err error) {
	p.err = err
	close(p.ready)
	close(p.done)
}

// next makes cur the next piece, or returns the end's error.
func (p *pipeline) next() error {
	if p.rerr != nil {
		return p.rerr
	}
	if p.curBuf != nil {
		p.free <- p.curBuf // never blocks: free holds every buffer
		p.curBuf = nil
	}
	b, ok := <-p.ready
	if !ok {
		p.rerr = p.err
		if p.rerr == nil {
			p.rerr = io.EOF
		}
		return p.rerr
	}
	p.cur, p.curBuf = b, b
	return nil
}

// Read implements io.Reader.
func (p *pipeline) Read(b []byte) (int, error) {
	for len(p.cur) == 0 {
		if err := p.next(); err != nil {
			return 0, err
		}
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// WriteTo implements io.WriterTo: each piece is written as it is, without
// a copy.
func (p *pipeline) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		for len(p.cur) == 0 {
			if err := p.next(); err == io.EOF {
				return total, nil
			} else if err != nil {
				return total, err
			}
		}
		n, err := w.Write(p.cur)
		total += int64(n)
		p.cur = p.cur[n:]
		if err != nil {
			return total, err
		}
	}
}

// Close stops the producer and waits for it to return. It is safe to
// call more than once.
func (p *pipeline) Close() error {
	p.once.Do(func() {
		close(p.stop)
		<-p.done
		if p.rerr == nil {
			p.rerr = errClosed
		}
		p.cur, p.curBuf = nil, nil
	})
	return nil
}

// A SealingReader yields the stream that [NewWriter] would write of what
// its source yields: the reading side of a writer, for a store that reads
// what it stores (such as a blob store's Put). It reads and seals the
// source on its own goroutine, at most [AheadSegments] segments ahead of
// its consumer, so that sealing runs alongside what the consumer does
// with the ciphertext (hashing it, writing it), with memory bounded by a
// few segments. The last segment is sealed only after the source returned
// io.EOF: a source that fails instead (with any error) never yields a
// complete stream, and Read returns its error. Close must be called; it
// stops the goroutine.
type SealingReader struct{ *pipeline }

// NewSealingReader returns a [SealingReader] of what src yields, sealed
// for ad under a fresh data key wrapped by kek. It wraps the data key at
// once; the header is the first thing Read returns.
func NewSealingReader(ctx context.Context, kek KEK, ad AD, src io.Reader, rand io.Reader) (*SealingReader, error) {
	enc, err := ad.Encode()
	if err != nil {
		return nil, err
	}
	dk, h, err := newDataKey(ctx, kek, kindStream, enc, rand)
	if err != nil {
		return nil, err
	}
	var prefix [prefixSize]byte
	if _, err := io.ReadFull(rand, prefix[:]); err != nil {
		clear(dk)
		return nil, fmt.Errorf("dataseal: nonce prefix: %w", err)
	}
	aead := newGCM(dk)
	clear(dk)
	p := newPipeline()
	p.cur = append(h.append(make([]byte, 0, h.size()+prefixSize)), prefix[:]...)
	go sealSegments(p, aead, payloadAD(kindStream, enc), prefix, src)
	return &SealingReader{p}, nil
}

// readSegment reads up to SegmentSize bytes of src into b and reports
// whether src ended.
func readSegment(src io.Reader, b []byte) (int, bool, error) {
	n, err := io.ReadFull(src, b[:SegmentSize])
	switch err {
	case nil:
		return n, false, nil
	case io.EOF, io.ErrUnexpectedEOF:
		return n, true, nil
	default:
		return n, false, err
	}
}

// sealSegments is the producer of a SealingReader. A segment is sealed
// once the next one is read (or src ended), since the last one is marked
// as such; each is sealed in place in its buffer.
func sealSegments(p *pipeline, aead cipher.AEAD, ad []byte, prefix [prefixSize]byte, src io.Reader) {
	var cur, next []byte
	defer func() {
		// Plaintext read but not sealed is not left behind.
		clear(cur)
		clear(next)
	}()
	cur, ok := p.buffer()
	if !ok {
		p.finish(errClosed)
		return
	}
	n, eof, err := readSegment(src, cur)
	for seg := uint64(0); ; seg++ {
		if err != nil {
			p.finish(fmt.Errorf("dataseal: reading what to seal: %w", err))
			return
		}
		var m int
		var nextEOF bool
		if !eof {
			if next, ok = p.buffer(); !ok {
				p.finish(errClosed)
				return
			}
			m, nextEOF, err = readSegment(src, next)
			if err != nil {
				continue // reported above, before anything more is sent
			}
			if m == 0 && nextEOF {
				// cur is full and the last: no empty segment follows.
				eof = true
				p.free <- next
				next = nil
			}
		}
		if seg >= maxSegments {
			p.finish(errors.New("dataseal: stream exceeds 2^32 segments"))
			return
		}
		var nonce [nonceSize]byte
		segNonce(&nonce, prefix[:], seg, eof)
		ct := aead.Seal(cur[:0], nonce[:], cur[:n], ad)
		if !p.send(ct) {
			cur = nil // ciphertext: nothing to clear
			p.finish(errClosed)
			return
		}
		cur = nil
		if eof {
			p.finish(nil)
			return
		}
		cur, n, eof, next = next, m, nextEOF, nil
	}
}

// streamWindow is the number of segments a [StreamReader] holds: the one
// being handed out and those opened ahead of it.
const streamWindow = AheadSegments + 2

// Segment states of a StreamReader's slot.
const (
	slotEmpty = iota
	slotClaimed
	slotDone
)

// A StreamReader reads the plaintext of a [ReaderAt] sequentially from an
// offset. A goroutine of its own authenticates and decrypts the next
// segments, at most [AheadSegments] ahead of its consumer, while the
// consumer does something else with the plaintext (such as a download's
// TLS); when the consumer needs a segment that nobody has started yet, it
// opens it itself rather than wait for the goroutine, so that a busy
// machine (no CPU free for the goroutine) costs a sequential read no
// more than opening the segments in turn, and while the goroutine opens
// the one it needs, it opens a later one. Like [ReaderAt.ReadAt], it
// hands out a segment's bytes only after its tag checks, and returns
// io.EOF only after the authentic last segment; any other error means
// the stream is not authentic. Close must be called; it stops the
// goroutine (it does not close the ReaderAt's source).
type StreamReader struct {
	ra   *ReaderAt
	done chan struct{} // closed when the goroutine returns

	mu            sync.Mutex
	cond          *sync.Cond // a slot done, the window moved, or Close
	slots         [streamWindow]streamSlot
	head          uint64 // the segment handed out next (or now, if held)
	next          uint64 // the next segment nobody claimed
	workerIdle    bool
	consumerWaits bool
	closed        bool
	once          sync.Once
	cons          consumerState
}

// streamSlot holds one segment: slot i%streamWindow holds segment i.
type streamSlot struct {
	state int
	buf   []byte
	pt    []byte
	err   error
}

// consumerState is what only the consumer touches.
type consumerState struct {
	held bool   // the consumer holds slot head
	cur  []byte // the rest of segment head's plaintext
	skip int    // bytes of the first segment not to hand out
	err  error  // sticky
}

// Stream returns a [StreamReader] of the plaintext from off on.
func (ra *ReaderAt) Stream(off int64) *StreamReader {
	st := &StreamReader{ra: ra, done: make(chan struct{})}
	st.cond = sync.NewCond(&st.mu)
	switch {
	case off < 0:
		st.cons.err = errors.New("dataseal: negative offset")
		close(st.done)
		return st
	case off >= ra.size:
		st.cons.err = io.EOF
		close(st.done)
		return st
	}
	st.head = uint64(off / SegmentSize)
	st.next = st.head
	st.cons.skip = int(off % SegmentSize)
	go st.work()
	return st
}

// open opens segment i into its slot; st.mu is not held.
func (st *StreamReader) open(i uint64, s *streamSlot) {
	if s.buf == nil {
		s.buf = make([]byte, segmentCT)
	}
	s.pt, s.err = st.ra.open(i, s.buf, s.buf)
}

// work opens segments ahead of the consumer until Close.
func (st *StreamReader) work() {
	defer close(st.done)
	st.mu.Lock()
	defer st.mu.Unlock()
	for {
		// Wait for room: at first, and again once half the window is
		// free (so that the consumer wakes this goroutine once every few
		// segments, not for each).
		if !st.closed && (st.next >= st.ra.nseg || st.next >= st.head+streamWindow) {
			for !st.closed && (st.next >= st.ra.nseg || st.next > st.head+streamWindow/2) {
				st.workerIdle = true
				st.cond.Wait()
				st.workerIdle = false
			}
		}
		if st.closed {
			return
		}
		i := st.next
		st.next++
		s := &st.slots[i%streamWindow]
		s.state = slotClaimed
		st.mu.Unlock()
		st.open(i, s)
		st.mu.Lock()
		s.state = slotDone
		if s.err != nil {
			st.next = st.ra.nseg // nothing after a failed segment
		}
		if st.consumerWaits {
			st.cond.Broadcast()
		}
	}
}

// fetch releases the segment the consumer held and makes the next one
// current, opening it if nobody has started it.
func (st *StreamReader) fetch() error {
	c := &st.cons
	if c.err != nil {
		return c.err
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		c.err = errClosed
		return c.err
	}
	if c.held {
		s := &st.slots[st.head%streamWindow]
		s.state, s.pt, s.err = slotEmpty, nil, nil
		st.head++
		c.held = false
		if st.workerIdle && st.next < st.ra.nseg && st.next <= st.head+streamWindow/2 {
			st.cond.Broadcast()
		}
	}
	if st.head >= st.ra.nseg {
		c.err = io.EOF
		return c.err
	}
	s := &st.slots[st.head%streamWindow]
	for s.state != slotDone {
		if s.state == slotEmpty {
			// Nobody started it (then next == head): open it here.
			st.next++
			s.state = slotClaimed
			st.mu.Unlock()
			st.open(st.head, s)
			st.mu.Lock()
			s.state = slotDone
			if s.err != nil {
				st.next = st.ra.nseg
			}
			break
		}
		if st.next < st.ra.nseg && st.next < st.head+streamWindow {
			// The goroutine is opening this one: open a later one
			// meanwhile rather than wait.
			i := st.next
			st.next++
			o := &st.slots[i%streamWindow]
			o.state = slotClaimed
			st.mu.Unlock()
			st.open(i, o)
			st.mu.Lock()
			o.state = slotDone
			if o.err != nil {
				st.next = st.ra.nseg
			}
			continue
		}
		st.consumerWaits = true
		st.cond.Wait()
		st.consumerWaits = false
	}
	if s.err != nil {
		c.err = s.err
		return c.err
	}
	c.held, c.cur = true, s.pt[c.skip:]
	c.skip = 0
	return nil
}

// Read implements io.Reader.
func (st *StreamReader) Read(p []byte) (int, error) {
	c := &st.cons
	for len(c.cur) == 0 {
		if err := st.fetch(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

// WriteTo implements io.WriterTo: each segment's plaintext is written as
// it is, without a copy.
func (st *StreamReader) WriteTo(w io.Writer) (int64, error) {
	c := &st.cons
	var total int64
	for {
		for len(c.cur) == 0 {
			if err := st.fetch(); err == io.EOF {
				return total, nil
			} else if err != nil {
				return total, err
			}
		}
		n, err := w.Write(c.cur)
		total += int64(n)
		c.cur = c.cur[n:]
		if err != nil {
			return total, err
		}
	}
}

// Close stops the goroutine (after the segment it is opening, if any)
// and waits for it. It is safe to call more than once.
func (st *StreamReader) Close() error {
	st.once.Do(func() {
		st.mu.Lock()
		st.closed = true
		st.cond.Broadcast()
		st.mu.Unlock()
		<-st.done
		st.cons.cur = nil
		if st.cons.err == nil || st.cons.err == io.EOF {
			st.cons.err = errClosed
		}
	})
	return nil
}
