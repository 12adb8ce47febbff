package dataseal

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	mrand "math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// seeded returns a deterministic byte source, so that two sealers draw
// the same data key and nonce prefix.
func seeded(seed byte) io.Reader {
	var s [32]byte
	s[0] = seed
	return mrand.NewChaCha8(s)
}

// readSealing reads a SealingReader of pt whole, through Read (small
// reads) or WriteTo.
func readSealing(t *testing.T, kek KEK, pt []byte, rnd io.Reader, writeTo bool) []byte {
	t.Helper()
	sr, err := NewSealingReader(context.Background(), kek, testAD, bytes.NewReader(pt), rnd)
	if err != nil {
		t.Fatal(err)
	}
	defer sr.Close()
	var out bytes.Buffer
	if writeTo {
		_, err = sr.WriteTo(&out)
	} else {
		_, err = io.CopyBuffer(&out, struct{ io.Reader }{sr}, make([]byte, 1000))
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestSealingReaderIsTheWritersStream: for every size (more segments
// than the pipeline holds included), what a SealingReader yields opens
// with NewReader and NewReaderAt, and with the same data key and nonce
// prefix its segments are byte for byte the writer's.
func TestSealingReaderIsTheWritersStream(t *testing.T) {
	kek := NewAESKEK("v1", key(1))
	all := append(sizes[:len(sizes):len(sizes)], struct {
		name string
		n    int
	}{"more than the pipeline", (AheadSegments+5)*SegmentSize + 1})
	for _, sz := range all {
		t.Run(sz.name, func(t *testing.T) {
			pt := randBytes(sz.n)
			var want bytes.Buffer
			w, err := NewWriter(context.Background(), kek, testAD, &want, seeded(7))
			if err != nil {
				t.Fatal(err)
			}
			w.Write(pt)
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			for _, writeTo := range []bool{false, true} {
				got := readSealing(t, kek, pt, seeded(7), writeTo)
				if back, err := openStream(kek, testAD, got); err != nil || !bytes.Equal(back, pt) {
					t.Fatalf("writeTo %v: NewReader: %v", writeTo, err)
				}
				ra, err := newReaderAt(kek, testAD, got)
				if err != nil {
					t.Fatal(err)
				}
				if back, err := readAllAt(ra, 4096); err != nil || !bytes.Equal(back, pt) {
					t.Fatalf("writeTo %v: ReaderAt: %v", writeTo, err)
				}
				wh, wsegs := streamParts(t, want.Bytes())
				gh, gsegs := streamParts(t, got)
				if len(wh) != len(gh) || !bytes.Equal(join(nil, wsegs...), join(nil, gsegs...)) {
					t.Fatalf("writeTo %v: segments differ from the writer's", writeTo)
				}
			}
		})
	}
}

// failingSource yields n bytes, then err.
type failingSource struct {
	r   io.Reader
	err error
}

func (f *failingSource) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// TestSealingReaderSourceError: a source that fails, at any point, fails
// the read with its error and never yields an authentic stream, however
// much of it was read.
func TestSealingReaderSourceError(t *testing.T) {
	kek := NewAESKEK("v1", key(1))
	boom := errors.New("boom")
	for _, n := range []int{0, 10, SegmentSize, 3*SegmentSize + 5, (AheadSegments + 3) * SegmentSize} {
		sr, err := NewSealingReader(context.Background(), kek, testAD, &failingSource{bytes.NewReader(randBytes(n)), boom}, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		_, err = io.Copy(&out, struct{ io.Reader }{sr})
		sr.Close()
		if !errors.Is(err, boom) {
			t.Fatalf("%d bytes: %v, want the source's error", n, err)
		}
		if _, err := openStream(kek, testAD, out.Bytes()); err == nil {
			t.Fatalf("%d bytes: what was read before the error opens", n)
		}
		if _, err := newReaderAt(kek, testAD, out.Bytes()); err == nil {
			t.Fatalf("%d bytes: what was read before the error opens at random", n)
		}
	}
}

// waitGoroutines waits until at most n goroutines run.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	for range 200 {
		if runtime.NumGoroutine() <= n {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%d goroutines, want at most %d", runtime.NumGoroutine(), n)
}

// TestPipelinesCloseEarly: closing a SealingReader or a StreamReader
// before the end stops its goroutine (it does not wait for a consumer
// that will not read), and a read after Close fails.
func TestPipelinesCloseEarly(t *testing.T) {
	kek := NewAESKEK("v1", key(1))
	pt := randBytes((AheadSegments + 4) * SegmentSize)
	s := sealStream(t, kek, testAD, pt)
	ra, err := newReaderAt(kek, testAD, s)
	if err != nil {
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()
	for range 20 {
		sr, err := NewSealingReader(context.Background(), kek, testAD, bytes.NewReader(pt), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(sr, make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
		sr.Close()
		if _, err := sr.Read(make([]byte, 10)); err == nil {
			t.Fatal("read after Close")
		}
		st := ra.Stream(10)
		if _, err := io.ReadFull(st, make([]byte, 100)); err != nil {
			t.Fatal(err)
		}
		st.Close()
		st.Close()
		if _, err := st.Read(make([]byte, 10)); err == nil {
			t.Fatal("read after Close")
		}
	}
	waitGoroutines(t, base)
}

// TestStreamReader reads the plaintext from every kind of offset, through
// Read and WriteTo.
func TestStreamReader(t *testing.T) {
	kek := NewAESKEK("v1", key(1))
	for _, sz := range sizes {
		pt := randBytes(sz.n)
		ra, err := newReaderAt(kek, testAD, sealStream(t, kek, testAD, pt))
		if err != nil {
			t.Fatal(err)
		}
		for _, off := range []int{0, 1, SegmentSize - 1, SegmentSize, SegmentSize + 1, 2*SegmentSize + 3, sz.n - 1, sz.n, sz.n + 5} {
			if off < 0 || (off > sz.n && sz.n > 0) {
				continue
			}
			for _, writeTo := range []bool{false, true} {
				st := ra.Stream(int64(off))
				var out bytes.Buffer
				if writeTo {
					_, err = st.WriteTo(&out)
				} else {
					_, err = io.CopyBuffer(&out, struct{ io.Reader }{st}, make([]byte, 777))
				}
				st.Close()
				want := pt[min(off, sz.n):]
				if err != nil || !bytes.Equal(out.Bytes(), want) {
					t.Fatalf("%s from %d (writeTo %v): %d bytes, %v", sz.name, off, writeTo, out.Len(), err)
				}
			}
		}
	}
	ra, err := newReaderAt(kek, testAD, sealStream(t, kek, testAD, randBytes(10)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ra.Stream(-1).Read(make([]byte, 1)); err == nil || err == io.EOF {
		t.Fatalf("negative offset: %v", err)
	}
}

// TestStreamReaderTamper: a tampered segment fails the stream with
// ErrAuth, and nothing of it or after it is handed out.
func TestStreamReaderTamper(t *testing.T) {
	kek := NewAESKEK("v1", key(1))
	pt := randBytes((AheadSegments + 3) * SegmentSize)
	s := sealStream(t, kek, testAD, pt)
	head, _ := streamParts(t, s)
	for _, k := range []int{0, 1, AheadSegments + 1} {
		c := bytes.Clone(s)
		c[len(head)+k*segmentCT+5] ^= 1
		ra, err := newReaderAt(kek, testAD, c)
		if err != nil {
			t.Fatal(err)
		}
		st := ra.Stream(0)
		var out bytes.Buffer
		_, err = io.Copy(&out, struct{ io.Reader }{st})
		st.Close()
		if !errors.Is(err, ErrAuth) {
			t.Fatalf("segment %d tampered: %v", k, err)
		}
		if out.Len() != k*SegmentSize || !bytes.Equal(out.Bytes(), pt[:out.Len()]) {
			t.Fatalf("segment %d tampered: handed out %d bytes", k, out.Len())
		}
	}
}

// TestPipelinesMemoryBounded streams 32 MiB through a SealingReader and
// a StreamReader and checks that far less than that was allocated.
func TestPipelinesMemoryBounded(t *testing.T) {
	const total = 32 << 20
	kek := NewAESKEK("v1", key(1))
	var sealed bytes.Buffer
	sealed.Grow(total + total/SegmentSize*tagSize + 1024)
	alloc := allocated(func() {
		sr, err := NewSealingReader(context.Background(), kek, testAD, io.LimitReader(zeros{}, total), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		defer sr.Close()
		if _, err := io.Copy(&sealed, sr); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("sealing: allocated %d bytes", alloc)
	if alloc > 2<<20 {
		t.Fatalf("sealing allocated %d bytes", alloc)
	}
	ra, err := newReaderAt(kek, testAD, sealed.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	alloc = allocated(func() {
		st := ra.Stream(0)
		defer st.Close()
		if n, err := io.Copy(io.Discard, struct{ io.Reader }{st}); err != nil || n != total {
			t.Fatalf("read %d, %v", n, err)
		}
	})
	t.Logf("streaming: allocated %d bytes", alloc)
	if alloc > 2<<20 {
		t.Fatalf("streaming allocated %d bytes", alloc)
	}
}
