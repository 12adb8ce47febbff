package dataseal

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"runtime"
	"testing"
)

const benchSize = 10 << 20

// BenchmarkPlainCopy10MB is the floor: io.Copy of the plaintext, with the
// reader's WriteTo hidden so that the bytes are really copied.
func BenchmarkPlainCopy10MB(b *testing.B) {
	data := randBytes(benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		if _, err := io.Copy(io.Discard, struct{ io.Reader }{bytes.NewReader(data)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriter10MB seals 10 MiB as a stream.
func BenchmarkWriter10MB(b *testing.B) {
	kek := NewAESKEK("v1", key(1))
	data := randBytes(benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		w, err := NewWriter(context.Background(), kek, testAD, io.Discard, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReader10MB opens a 10 MiB stream.
func BenchmarkReader10MB(b *testing.B) {
	kek := NewAESKEK("v1", key(1))
	sealed := sealStream(b, kek, testAD, randBytes(benchSize))
	b.SetBytes(benchSize)
	for b.Loop() {
		r, err := NewReader(context.Background(), kek, testAD, bytes.NewReader(sealed))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
}

// zeros is an endless reader of zero bytes, so that the memory test
// holds no input of its own.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestStreamMemoryBounded streams 32 MiB through a writer and a reader
// connected by a pipe and checks that far less than that was allocated
// (a generous bound: a few segments).
func TestStreamMemoryBounded(t *testing.T) {
	const total = 32 << 20
	kek := NewAESKEK("v1", key(1))
	pr, pw := io.Pipe()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	go func() {
		w, err := NewWriter(context.Background(), kek, testAD, pw, rand.Reader)
		if err == nil {
			_, err = io.CopyN(w, zeros{}, total)
		}
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
	}()
	r, err := NewReader(context.Background(), kek, testAD, pr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, r)
	if err != nil || n != total {
		t.Fatalf("read %d, %v", n, err)
	}
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d bytes", alloc)
	if alloc > 2<<20 {
		t.Fatalf("allocated %d bytes to stream %d", alloc, total)
	}
}

// BenchmarkReaderAtSequential10MB reads a 10 MiB stream from a ReaderAt in
// 32 KiB reads (net/http's copy buffer), one segment at a time through its
// cache.
func BenchmarkReaderAtSequential10MB(b *testing.B) {
	kek := NewAESKEK("v1", key(1))
	ra, err := newReaderAt(kek, testAD, sealStream(b, kek, testAD, randBytes(benchSize)))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 32<<10)
	b.SetBytes(benchSize)
	for b.Loop() {
		if _, err := io.CopyBuffer(io.Discard, io.NewSectionReader(ra, 0, ra.Size()), buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStream10MB reads the same through a StreamReader (segments
// opened ahead on another goroutine).
func BenchmarkStream10MB(b *testing.B) {
	kek := NewAESKEK("v1", key(1))
	ra, err := newReaderAt(kek, testAD, sealStream(b, kek, testAD, randBytes(benchSize)))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 32<<10)
	b.SetBytes(benchSize)
	for b.Loop() {
		st := ra.Stream(0)
		if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{st}, buf); err != nil {
			b.Fatal(err)
		}
		st.Close()
	}
}

// BenchmarkSealingReader10MB seals 10 MiB through a SealingReader read by
// a SHA-256 (what a blob store's Put does).
func BenchmarkSealingReader10MB(b *testing.B) {
	kek := NewAESKEK("v1", key(1))
	data := randBytes(benchSize)
	buf := make([]byte, 32<<10)
	b.SetBytes(benchSize)
	for b.Loop() {
		sr, err := NewSealingReader(context.Background(), kek, testAD, bytes.NewReader(data), rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(sha256.New(), struct{ io.Reader }{sr}, buf); err != nil {
			b.Fatal(err)
		}
		sr.Close()
	}
}

// BenchmarkWriterHashed10MB seals 10 MiB with a Writer into a buffer read
// by a SHA-256, one segment at a time (how uploads were sealed before the
// SealingReader).
func BenchmarkWriterHashed10MB(b *testing.B) {
	kek := NewAESKEK("v1", key(1))
	data := randBytes(benchSize)
	b.SetBytes(benchSize)
	for b.Loop() {
		h := sha256.New()
		w, err := NewWriter(context.Background(), kek, testAD, h, rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(w, struct{ io.Reader }{bytes.NewReader(data)}, make([]byte, SegmentSize)); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
