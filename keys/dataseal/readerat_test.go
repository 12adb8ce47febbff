package dataseal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"
)

func newReaderAt(kek KEK, ad AD, s []byte) (*ReaderAt, error) {
	return NewReaderAt(context.Background(), kek, ad, bytes.NewReader(s), int64(len(s)))
}

// readAllAt reads the whole plaintext through ReadAt in pieces of n bytes.
func readAllAt(ra *ReaderAt, n int) ([]byte, error) {
	var out []byte
	buf := make([]byte, n)
	for off := int64(0); ; {
		m, err := ra.ReadAt(buf, off)
		out = append(out, buf[:m]...)
		off += int64(m)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

func TestReaderAtRoundTrip(t *testing.T) {
	kek := NewAESKEK("v1", key(1))
	for _, tc := range sizes {
		t.Run(tc.name, func(t *testing.T) {
			pt := randBytes(tc.n)
			ra, err := newReaderAt(kek, testAD, sealStream(t, kek, testAD, pt))
			if err != nil {
				t.Fatal(err)
			}
			if ra.Size() != int64(len(pt)) {
				t.Fatalf("Size %d, want %d", ra.Size(), len(pt))
			}
			for _, piece := range []int{1, 7, 4096, SegmentSize - 1, SegmentSize, SegmentSize + 1, 3*SegmentSize + 5} {
				got, err := readAllAt(ra, piece)
				if err != nil || !bytes.Equal(got, pt) {
					t.Fatalf("pieces of %d: %v, equal %v", piece, err, bytes.Equal(got, pt))
				}
			}
		})
	}
}

// TestReaderAtBoundaries reads windows that start and end on, just
// before and just after every segment edge, and past the end.
func TestReaderAtBoundaries(t *testing.T) {
	kek := NewAESKEK("v1", key(1))
	for _, total := range []int{3 * SegmentSize, 3*SegmentSize + 17} {
		pt := randBytes(total)
		ra, err := newReaderAt(kek, testAD, sealStream(t, kek, testAD, pt))
		if err != nil {
			t.Fatal(err)
		}
		var edges []int64
		for k := 0; k <= 3; k++ {
			for d := -2; d <= 2; d++ {
				if e := int64(k*SegmentSize + d); e >= 0 {
					edges = append(edges, e)
				}
			}
		}
		edges = append(edges, int64(total-1), int64(total), int64(total+1))
		for _, from := range edges {
			for _, to := range edges {
				if to < from {
					continue
				}
				p := make([]byte, to-from)
				n, err := ra.ReadAt(p, from)
				want := pt[min(from, int64(total)):min(to, int64(total))]
				if n != len(want) || !bytes.Equal(p[:n], want) {
					t.Fatalf("[%d, %d) of %d: read %d bytes, want %d (%v)", from, to, total, n, len(want), err)
				}
				switch {
				case to > int64(total) && err != io.EOF:
					t.Fatalf("[%d, %d) of %d: error %v, want io.EOF", from, to, total, err)
				case from == int64(total) && len(p) == 0 && err != io.EOF:
					// io.ReaderAt lets an empty read at the end say EOF.
					t.Fatalf("empty read at the end: %v", err)
				case to <= int64(total) && from < int64(total) && err != nil:
					t.Fatalf("[%d, %d) of %d: %v", from, to, total, err)
				}
			}
		}
	}
	ra, _ := newReaderAt(kek, testAD, sealStream(t, kek, testAD, []byte("x")))
	if _, err := ra.ReadAt(make([]byte, 1), -1); err == nil {
		t.Fatal("negative offset accepted")
	}
}

// TestReaderAtTamper: every change NewReader refuses, NewReaderAt or a
// read over the whole plaintext refuses too, and truncation or extension
// by any number of bytes near each segment boundary fails at once.
func TestReaderAtTamper(t *testing.T) {
	kek := NewAESKEK("v1", key(1))
	pt := randBytes(3*SegmentSize + 100)
	s := sealStream(t, kek, testAD, pt)
	head, segs := streamParts(t, s)
	other := sealStream(t, kek, testAD, pt)
	_, otherSegs := streamParts(t, other)
	full := sealStream(t, kek, testAD, pt[:2*SegmentSize])
	fullHead, fullSegs := streamParts(t, full)
	flipped := func(i int) []byte { c := bytes.Clone(s); c[i] ^= 0x20; return c }

	cases := map[string][]byte{
		"empty":                      nil,
		"no segment":                 head,
		"header only, cut":           head[:len(head)-1],
		"truncated after segment 1":  join(head, segs[0]),
		"truncated after segment 3":  join(head, segs[:3]...),
		"truncated inside last":      s[:len(s)-1],
		"swapped segments":           join(head, segs[1], segs[0], segs[2], segs[3]),
		"dropped middle segment":     join(head, segs[0], segs[2], segs[3]),
		"appended garbage":           append(bytes.Clone(s), 1, 2, 3),
		"appended a full segment":    join(head, append(segs[:3:3], segs[2], segs[3])...),
		"segment of another stream":  join(head, segs[0], otherSegs[1], segs[2], segs[3]),
		"full last dropped":          join(fullHead, fullSegs[0]),
		"full stream plus empty tag": append(bytes.Clone(full), make([]byte, tagSize)...),
		"flipped first segment":      flipped(len(head) + 3),
		"flipped middle tag":         flipped(len(head) + 2*segmentCT - 1),
		"flipped last byte":          flipped(len(s) - 1),
		"flipped nonce prefix":       flipped(len(head) - 1),
		"flipped wrapped key":        flipped(len(head) - prefixSize - 1),
		"a value":                    seal(t, kek, testAD, pt[:100]),
	}
	for name, c := range cases {
		ra, err := newReaderAt(kek, testAD, c)
		if err == nil {
			_, err = readAllAt(ra, 1000)
		}
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if !errors.Is(err, ErrAuth) && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrAuth or ErrMalformed", name, err)
		}
	}
	// Truncation or extension by a few bytes around every segment
	// boundary fails at NewReaderAt: the layout moves the last segment.
	for k := 1; k <= len(segs); k++ {
		b := len(head) + k*segmentCT
		for n := b - tagSize - 1; n <= b+tagSize+1; n++ {
			if n == len(s) {
				continue
			}
			var c []byte
			if n < len(s) {
				c = s[:n]
			} else {
				c = append(bytes.Clone(s), make([]byte, n-len(s))...)
			}
			if _, err := newReaderAt(kek, testAD, c); err == nil {
				t.Fatalf("size %d (boundary %d, written %d) accepted", n, k, len(s))
			}
		}
	}
	// A reader whose size is not the one of r fails at once or on read.
	if _, err := NewReaderAt(context.Background(), kek, testAD, bytes.NewReader(s[:len(s)-5]), int64(len(s))); err == nil {
		t.Fatal("a reader shorter than its declared size accepted")
	}
	// Wrong AD, wrong key.
	if _, err := newReaderAt(kek, AD{Tenant: "t2", Object: testAD.Object, Field: testAD.Field}, s); !errors.Is(err, ErrAuth) {
		t.Fatalf("other tenant: %v", err)
	}
	if _, err := newReaderAt(NewAESKEK("v1", key(2)), testAD, s); !errors.Is(err, ErrAuth) {
		t.Fatalf("other key: %v", err)
	}
	// A tampered middle segment is found when read, not before, and no
	// byte of it is handed out.
	c := flipped(len(head) + segmentCT + 10)
	ra, err := newReaderAt(kek, testAD, c)
	if err != nil {
		t.Fatal(err)
	}
	p := make([]byte, 10)
	if _, err := ra.ReadAt(p, 5); err != nil || !bytes.Equal(p, pt[5:15]) {
		t.Fatalf("intact segment 0: %v", err)
	}
	if n, err := ra.ReadAt(p, SegmentSize+3); !errors.Is(err, ErrAuth) || n != 0 {
		t.Fatalf("tampered segment 1: %d bytes, %v", n, err)
	}
	if n, err := ra.ReadAt(make([]byte, 2*SegmentSize), 0); !errors.Is(err, ErrAuth) || n != SegmentSize {
		t.Fatalf("read across the tampered segment: %d bytes, %v", n, err)
	}
}

// TestReaderAtEveryBit flips every bit of a one-segment stream.
func TestReaderAtEveryBit(t *testing.T) {
	kek := NewAESKEK("v1", key(1))
	s := sealStream(t, kek, testAD, []byte("a short document"))
	for i := range len(s) * 8 {
		c := bytes.Clone(s)
		c[i/8] ^= 1 << (i % 8)
		ra, err := newReaderAt(kek, testAD, c)
		if err == nil {
			_, err = readAllAt(ra, 64)
		}
		if err == nil {
			t.Fatalf("bit %d flipped accepted", i)
		}
	}
}

// TestReaderAtConcurrent reads random windows from many goroutines at
// once (run with -race): every read returns the right bytes although the
// cache is far smaller than the stream.
func TestReaderAtConcurrent(t *testing.T) {
	kek := NewAESKEK("v1", key(1))
	pt := randBytes(10*SegmentSize + 333)
	ra, err := newReaderAt(kek, testAD, sealStream(t, kek, testAD, pt))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			seed := uint64(g*7919 + 1)
			for range 200 {
				seed = seed*6364136223846793005 + 1442695040888963407
				off := int64(seed>>33) % int64(len(pt))
				n := int(seed>>13)%(SegmentSize+100) + 1
				p := make([]byte, n)
				m, err := ra.ReadAt(p, off)
				end := min(off+int64(n), int64(len(pt)))
				if m != int(end-off) || !bytes.Equal(p[:m], pt[off:end]) || (err != nil && err != io.EOF) {
					errs <- fmt.Errorf("ReadAt(%d bytes, %d): %d, %v", n, off, m, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestReaderAtMemoryBounded reads a 16 MiB stream through small ReadAt
// calls and checks that far less than that was allocated: the cache
// holds a few segments, reused.
func TestReaderAtMemoryBounded(t *testing.T) {
	kek := NewAESKEK("v1", key(1))
	s := sealStream(t, kek, testAD, make([]byte, 16<<20))
	ra, err := newReaderAt(kek, testAD, s)
	if err != nil {
		t.Fatal(err)
	}
	alloc := allocated(func() {
		if _, err := io.Copy(io.Discard, io.NewSectionReader(ra, 0, ra.Size())); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("allocated %d bytes to read %d", alloc, ra.Size())
	if alloc > 2<<20 {
		t.Fatalf("allocated %d bytes", alloc)
	}
}

// allocated returns the bytes allocated while fn ran.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// countingReaderAt counts the reads of a remote store.
type countingReaderAt struct {
	r     io.ReaderAt
	reads int
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.reads++
	return c.r.ReadAt(p, off)
}

// TestReaderAtOpenReads: opening a stream reads the header and nonce
// prefix at once, then the last segment; a read inside one segment reads
// it once, and again only once it left the cache.
func TestReaderAtOpenReads(t *testing.T) {
	kek := NewAESKEK("v1", key(1))
	pt := randBytes(8*SegmentSize + 9)
	c := &countingReaderAt{r: bytes.NewReader(sealStream(t, kek, testAD, pt))}
	size := int64(len(pt)) + 9*tagSize + int64(len(streamHead(t, kek)))
	ra, err := NewReaderAt(context.Background(), kek, testAD, c, size)
	if err != nil {
		t.Fatal(err)
	}
	if c.reads != 2 {
		t.Fatalf("%d reads to open, want 2 (header, last segment)", c.reads)
	}
	p := make([]byte, 100)
	for range 3 {
		if _, err := ra.ReadAt(p, 10); err != nil || !bytes.Equal(p, pt[10:110]) {
			t.Fatal(err)
		}
	}
	if c.reads != 3 {
		t.Fatalf("%d reads after three reads of one segment, want 3", c.reads)
	}
}

// streamHead returns the header and nonce prefix of a stream under kek.
func streamHead(t *testing.T, kek KEK) []byte {
	head, _ := streamParts(t, sealStream(t, kek, testAD, nil))
	return head
}
