package chunkread_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/signet-pki/signet/internal/blob"
	"github.com/signet-pki/signet/internal/blob/internal/chunkread"
)

// parts stores segments in memory and counts fetches.
type parts struct {
	data    map[string][]byte
	size    int64
	fetches int
	short   bool // return one byte less than asked
}

func (p *parts) fetch(_ context.Context, key string, n int64, buf []byte) ([]byte, error) {
	p.fetches++
	d, ok := p.data[key]
	if !ok || n*p.size >= int64(len(d)) {
		return nil, blob.ErrNotFound
	}
	c := d[n*p.size : min(int64(len(d)), (n+1)*p.size)]
	if p.short {
		c = c[:len(c)-1]
	}
	return append(buf[:0], c...), nil
}

func TestReader(t *testing.T) {
	whole, tail := bytes.Repeat([]byte("0123456789"), 3), []byte("abcdefg")
	p := &parts{data: map[string][]byte{"base": whole, "rev": tail}, size: 4}
	segs := []chunkread.Segment[string]{{Key: "base", Start: 0, Len: 30}, {Key: "rev", Start: 30, Len: 7}}
	r, err := chunkread.New(context.Background(), "test", "name", segs, 4, p.fetch)
	if err != nil {
		t.Fatal(err)
	}
	want := append(bytes.Clone(whole), tail...)
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, want) || r.Size() != int64(len(want)) {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
	// 8 chunks of the base (the last of 2 bytes), 2 of the tail.
	if p.fetches != 10 {
		t.Errorf("%d fetches for one pass, want 10", p.fetches)
	}
	// A read across the segments' boundary, then back into the chunk
	// before: the two cached chunks serve it.
	buf := make([]byte, 5)
	if n, err := r.ReadAt(buf, 28); n != 5 || err != nil || string(buf) != "89abc" {
		t.Fatalf("ReadAt across segments = %d, %q, %v", n, buf[:n], err)
	}
	before := p.fetches
	if n, err := r.ReadAt(buf[:2], 28); n != 2 || err != nil || string(buf[:2]) != "89" {
		t.Fatalf("ReadAt = %d, %q, %v", n, buf[:n], err)
	}
	if p.fetches != before {
		t.Errorf("a cached chunk was fetched again")
	}
	if n, err := r.ReadAt(buf, 35); n != 2 || err != io.EOF {
		t.Fatalf("ReadAt past the end = %d, %v; want 2, io.EOF", n, err)
	}
	r.Close()
	if _, err := r.ReadAt(buf, 0); err == nil {
		t.Fatal("ReadAt after Close succeeded")
	}
}

func TestReaderErrors(t *testing.T) {
	p := &parts{data: map[string][]byte{"a": []byte("0123456789")}, size: 4}
	for _, segs := range [][]chunkread.Segment[string]{
		{{Key: "a", Start: 1, Len: 10}},
		{{Key: "a", Start: 0, Len: 4}, {Key: "a", Start: 5, Len: 4}},
		{{Key: "a", Start: 0, Len: 0}},
	} {
		if _, err := chunkread.New(context.Background(), "test", "name", segs, 4, p.fetch); !errors.Is(err, blob.ErrCorrupt) {
			t.Errorf("New(%v) = %v, want ErrCorrupt", segs, err)
		}
	}
	segs := []chunkread.Segment[string]{{Key: "a", Start: 0, Len: 10}}
	p.short = true
	r, _ := chunkread.New(context.Background(), "test", "name", segs, 4, p.fetch)
	if _, err := io.ReadAll(r); !errors.Is(err, blob.ErrCorrupt) {
		t.Errorf("read of a short chunk: %v, want ErrCorrupt", err)
	}
	p.short = false
	delete(p.data, "a")
	r, _ = chunkread.New(context.Background(), "test", "name", segs, 4, p.fetch)
	if _, err := io.ReadAll(r); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("read of a missing chunk: %v, want ErrNotFound", err)
	}
}
