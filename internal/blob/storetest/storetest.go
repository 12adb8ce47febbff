// Package storetest is the conformance suite of [blob.Store]: every
// implementation ([blob.FS], internal/blob/postgres) runs [Run] from a
// test named TestConformance. A store that also implements [Collector],
// as both do, is checked for what garbage collection relies on too.
package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/blob"
)

// Collector is what garbage collection needs of a store beyond
// [blob.Store] (workflow.BlobCollector, which this package may not
// import).
type Collector interface {
	blob.Store
	Walk(ctx context.Context, fn func(name string) error) error
	ModTime(name string) (time.Time, error)
	Base(name string) (string, error)
}

// MaxDepth is the longest chain of revisions a store may keep: a store
// that keeps revisions as references (both do) stores the one that would
// be deeper whole.
const MaxDepth = 32

// Run runs the suite; open returns a new, empty store for each subtest.
func Run(t *testing.T, open func(t *testing.T) blob.Store) {
	t.Run("PutOpenDelete", func(t *testing.T) { testPutOpenDelete(t, open) })
	t.Run("Missing", func(t *testing.T) { testMissing(t, open(t)) })
	t.Run("InvalidNames", func(t *testing.T) { testInvalidNames(t, open(t)) })
	t.Run("ConcurrentPutSameContent", func(t *testing.T) { testConcurrentPut(t, open(t)) })
	t.Run("PutFailureLeavesNothing", func(t *testing.T) { testPutFailure(t, open(t)) })
	t.Run("NoPartialBlobVisible", func(t *testing.T) { testNoPartial(t, open(t)) })
	t.Run("ParallelReadAt", func(t *testing.T) { testParallelReadAt(t, open(t)) })
	t.Run("AppendChain", func(t *testing.T) { testAppendChain(t, open(t)) })
	t.Run("AppendLargeBase", func(t *testing.T) { testAppendLargeBase(t, open(t)) })
	t.Run("AppendDepthLimit", func(t *testing.T) { testAppendDepthLimit(t, open(t)) })
	t.Run("AppendErrors", func(t *testing.T) { testAppendErrors(t, open(t)) })
	t.Run("ConcurrentAppend", func(t *testing.T) { testConcurrentAppend(t, open(t)) })
	t.Run("Collector", func(t *testing.T) { testCollector(t, open(t)) })
}

// Sum returns the name of content b.
func Sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Pattern returns n bytes of deterministic, incompressible content seeded
// by seed.
func Pattern(seed uint64, n int) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(seed, 0x5349474e4554))
	for i := 0; i < n; i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// put stores data and checks the name and size Put returns.
func put(t *testing.T, s blob.Store, data []byte) string {
	t.Helper()
	name, size, err := s.Put(t.Context(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if name != Sum(data) || size != int64(len(data)) {
		t.Fatalf("Put = %s, %d; want %s, %d", name, size, Sum(data), len(data))
	}
	return name
}

// CheckContent reads blob name every way a caller does: sequentially, at
// random offsets, after seeks, and from the end.
func CheckContent(t *testing.T, s blob.Store, name string, want []byte) {
	t.Helper()
	r, size, err := s.Open(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if size != int64(len(want)) {
		t.Fatalf("size %d, want %d", size, len(want))
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ReadAll: %d bytes, %v; want the %d stored", len(got), err, len(want))
	}
	if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("Read at the end = %d, %v; want 0, io.EOF", n, err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rounds, span := 200, len(want)+10
	if len(want) > 1<<18 {
		// Large blobs: fewer rounds, reads up to two and a half MiB, so
		// that chunked stores read across boundaries.
		rounds, span = 30, 5<<19
	}
	for range rounds {
		off := rng.IntN(len(want) + 1)
		n := rng.IntN(span)
		buf := make([]byte, n)
		m, err := r.ReadAt(buf, int64(off))
		wantN := min(n, len(want)-off)
		if m != wantN || !bytes.Equal(buf[:m], want[off:off+wantN]) {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v", n, off, m, err)
		}
		if m < n && !errors.Is(err, io.EOF) {
			t.Fatalf("short ReadAt without io.EOF: %v", err)
		}
		if m == n && err != nil && err != io.EOF {
			t.Fatalf("ReadAt(%d bytes at %d): %v", n, off, err)
		}
		if pos, err := r.Seek(int64(off), io.SeekStart); err != nil || pos != int64(off) {
			t.Fatalf("Seek(%d) = %d, %v", off, pos, err)
		}
		rest := make([]byte, min(len(want)-off, n))
		if _, err := io.ReadFull(r, rest); err != nil || !bytes.Equal(rest, want[off:off+len(rest)]) {
			t.Fatalf("read of %d bytes after Seek(%d): %v", len(rest), off, err)
		}
		if pos, err := r.Seek(0, io.SeekCurrent); err != nil || pos != int64(off+len(rest)) {
			t.Fatalf("position after reading %d bytes from %d = %d, %v", len(rest), off, pos, err)
		}
	}
	if len(want) >= 3 {
		if pos, err := r.Seek(-3, io.SeekEnd); err != nil || pos != int64(len(want))-3 {
			t.Fatalf("Seek from end = %d, %v", pos, err)
		}
		tail, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(tail, want[len(want)-3:]) {
			t.Fatalf("read after Seek from end: %q, %v", tail, err)
		}
	}
	if _, err := r.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("Seek to a negative position succeeded")
	}
	if _, err := r.ReadAt(make([]byte, 1), -1); err == nil {
		t.Fatal("ReadAt a negative offset succeeded")
	}
	if n, err := r.ReadAt(make([]byte, 1), int64(len(want))+5); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt beyond the end = %d, %v; want 0, io.EOF", n, err)
	}
}

func testPutOpenDelete(t *testing.T, open func(t *testing.T) blob.Store) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"small", []byte("%PDF-1.7 hello")},
		{"one MiB", Pattern(1, 1<<20)},
		{"multi-chunk", Pattern(2, 5<<19+12345)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			ctx := t.Context()
			name := put(t, s, tt.data)
			CheckContent(t, s, name, tt.data)
			h, err := s.Digest(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != name {
				t.Fatalf("Digest sums to %s, want the name %s", got, name)
			}
			if err := s.Delete(ctx, name); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Open(ctx, name); !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("Open after Delete: %v, want ErrNotFound", err)
			}
			if _, err := s.Digest(ctx, name); !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("Digest after Delete: %v, want ErrNotFound", err)
			}
			if err := s.Delete(ctx, name); err != nil {
				t.Fatalf("Delete of a missing blob: %v", err)
			}
			// Stored again after deletion.
			put(t, s, tt.data)
			CheckContent(t, s, name, tt.data)
		})
	}
}

func testMissing(t *testing.T, s blob.Store) {
	ctx := t.Context()
	absent := Sum([]byte("never stored"))
	if _, _, err := s.Open(ctx, absent); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Open of a missing blob: %v, want ErrNotFound", err)
	}
	if _, err := s.Digest(ctx, absent); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Digest of a missing blob: %v, want ErrNotFound", err)
	}
	if _, _, err := s.Append(ctx, absent, bytes.NewReader([]byte("x"))); !errors.Is(err, blob.ErrNotFound) {
		t.Errorf("Append to a missing blob: %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, absent); err != nil {
		t.Errorf("Delete of a missing blob: %v", err)
	}
	if c, ok := s.(Collector); ok {
		if _, err := c.ModTime(absent); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("ModTime of a missing blob: %v, want ErrNotFound", err)
		}
		if _, err := c.Base(absent); !errors.Is(err, blob.ErrNotFound) {
			t.Errorf("Base of a missing blob: %v, want ErrNotFound", err)
		}
	}
}

func testInvalidNames(t *testing.T, s blob.Store) {
	ctx := t.Context()
	for _, name := range []string{"", "ab", "../../etc/passwd", Sum(nil)[:63] + "G", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", Sum(nil) + "0", Sum(nil)[:62] + "'"} {
		if _, _, err := s.Open(ctx, name); !errors.Is(err, blob.ErrInvalidName) {
			t.Errorf("Open(%q) = %v, want ErrInvalidName", name, err)
		}
		if err := s.Delete(ctx, name); !errors.Is(err, blob.ErrInvalidName) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidName", name, err)
		}
		if _, err := s.Digest(ctx, name); !errors.Is(err, blob.ErrInvalidName) {
			t.Errorf("Digest(%q) = %v, want ErrInvalidName", name, err)
		}
		if _, _, err := s.Append(ctx, name, bytes.NewReader(nil)); !errors.Is(err, blob.ErrInvalidName) {
			t.Errorf("Append(%q) = %v, want ErrInvalidName", name, err)
		}
		if c, ok := s.(Collector); ok {
			if _, err := c.ModTime(name); !errors.Is(err, blob.ErrInvalidName) {
				t.Errorf("ModTime(%q) = %v, want ErrInvalidName", name, err)
			}
			if _, err := c.Base(name); !errors.Is(err, blob.ErrInvalidName) {
				t.Errorf("Base(%q) = %v, want ErrInvalidName", name, err)
			}
		}
	}
}

func testConcurrentPut(t *testing.T, s blob.Store) {
	ctx := t.Context()
	data := Pattern(3, 3<<19)
	const n = 8
	var wg sync.WaitGroup
	names := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			names[i], _, errs[i] = s.Put(ctx, bytes.NewReader(data))
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || names[i] != Sum(data) {
			t.Fatalf("Put %d = %s, %v", i, names[i], errs[i])
		}
	}
	CheckContent(t, s, names[0], data)
	if c, ok := s.(Collector); ok {
		if got := walk(t, c); len(got) != 1 || got[names[0]] != 1 {
			t.Fatalf("Walk after concurrent Puts of one content = %v", got)
		}
	}
}

// FailingReader yields N bytes of Data and then an error, like a client
// that disconnects mid-upload.
type FailingReader struct {
	Data []byte
	N    int
}

func (f *FailingReader) Read(p []byte) (int, error) {
	if f.N <= 0 {
		return 0, errors.New("connection reset")
	}
	k := copy(p, f.Data[:f.N])
	f.Data, f.N = f.Data[k:], f.N-k
	return k, nil
}

func testPutFailure(t *testing.T, s blob.Store) {
	ctx := t.Context()
	data := Pattern(4, 3<<19)
	for _, n := range []int{0, 100000, len(data)} {
		if _, _, err := s.Put(ctx, &FailingReader{Data: data, N: n}); err == nil || err.Error() == "" {
			t.Fatalf("Put succeeded with a reader failing after %d bytes", n)
		}
		if _, _, err := s.Open(ctx, Sum(data[:n])); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("the %d bytes read before the failure are stored: %v", n, err)
		}
	}
	if c, ok := s.(Collector); ok {
		if got := walk(t, c); len(got) != 0 {
			t.Fatalf("Walk after failed Puts = %v", got)
		}
	}
	ctx2, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.Put(ctx2, bytes.NewReader(data)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with a cancelled context: %v", err)
	}
	if _, _, err := s.Open(ctx, Sum(data)); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Put with a cancelled context stored the blob: %v", err)
	}
}

// testNoPartial holds a Put in the middle of its copy and checks that
// nothing is visible under the final name until it returns.
func testNoPartial(t *testing.T, s blob.Store) {
	ctx := t.Context()
	data := Pattern(5, 5<<19)
	name := Sum(data)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, _, err := s.Put(ctx, pr)
		done <- err
	}()
	// Past the first chunk of a chunked store, so some are written.
	if _, err := pw.Write(data[:3<<19]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(ctx, name); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open during Put = %v, want ErrNotFound", err)
	}
	if _, err := s.Digest(ctx, name); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Digest during Put = %v, want ErrNotFound", err)
	}
	if c, ok := s.(Collector); ok {
		if got := walk(t, c); len(got) != 0 {
			t.Fatalf("Walk during Put = %v", got)
		}
	}
	pw.Write(data[3<<19:])
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	CheckContent(t, s, name, data)
}

// testParallelReadAt reads one reader from several goroutines, as
// io.ReaderAt allows.
func testParallelReadAt(t *testing.T, s blob.Store) {
	data := Pattern(6, 3<<20+777)
	name := put(t, s, data)
	r, _, err := s.Open(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for range 20 {
				off := rng.IntN(len(data))
				buf := make([]byte, min(rng.IntN(3<<19), len(data)-off))
				if _, err := r.ReadAt(buf, int64(off)); err != nil && err != io.EOF {
					errs <- err
					return
				}
				if !bytes.Equal(buf, data[off:off+len(buf)]) {
					errs <- fmt.Errorf("ReadAt(%d bytes at %d) returned other bytes", len(buf), off)
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

// appendChain puts base and appends tails to it one after another, and
// returns each version's name and content.
func appendChain(t *testing.T, s blob.Store, base []byte, tails ...[]byte) ([]string, [][]byte) {
	t.Helper()
	ctx := t.Context()
	name := put(t, s, base)
	names, contents := []string{name}, [][]byte{base}
	for _, tail := range tails {
		content := append(bytes.Clone(contents[len(contents)-1]), tail...)
		n, size, err := s.Append(ctx, names[len(names)-1], bytes.NewReader(tail))
		if err != nil {
			t.Fatal(err)
		}
		if n != Sum(content) || size != int64(len(content)) {
			t.Fatalf("Append = %s, %d; want %s, %d", n, size, Sum(content), len(content))
		}
		names, contents = append(names, n), append(contents, content)
	}
	return names, contents
}

// checkDigest checks that Digest continues blob name's hash.
func checkDigest(t *testing.T, s blob.Store, name string, content []byte) {
	t.Helper()
	h, err := s.Digest(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	h.Write([]byte("more"))
	if got := hex.EncodeToString(h.Sum(nil)); got != Sum(append(bytes.Clone(content), "more"...)) {
		t.Fatalf("Digest(%s) does not continue its content's hash", name)
	}
	// Each call returns a new hash.
	h2, err := s.Digest(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(h2.Sum(nil)); got != name {
		t.Fatalf("a second Digest(%s) sums to %s: the hashes are shared", name, got)
	}
}

func testAppendChain(t *testing.T, s blob.Store) {
	ctx := t.Context()
	base := bytes.Repeat([]byte("%PDF-1.7 base "), 5000)
	tails := [][]byte{[]byte("first update"), []byte("\n"), Pattern(7, 70000), []byte("3")}
	names, contents := appendChain(t, s, base, tails...)
	for i, n := range names {
		CheckContent(t, s, n, contents[i])
		checkDigest(t, s, n, contents[i])
	}
	if c, ok := s.(Collector); ok {
		for i, n := range names {
			b, err := c.Base(n)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 && b != "" {
				t.Errorf("Base(whole blob) = %q", b)
			}
			if i > 0 && b != "" && b != names[i-1] {
				t.Errorf("Base(version %d) = %q, want %q or none", i, b, names[i-1])
			}
		}
		// Walk lists every version once.
		seen := walk(t, c)
		if len(seen) != len(names) {
			t.Errorf("Walk = %v, want the %d versions", seen, len(names))
		}
		for _, n := range names {
			if seen[n] != 1 {
				t.Errorf("Walk listed %s %d times", n, seen[n])
			}
		}
	}

	// Appending content that is already stored returns the same name.
	again, size, err := s.Append(ctx, names[0], bytes.NewReader(tails[0]))
	if err != nil || again != names[1] || size != int64(len(contents[1])) {
		t.Errorf("Append of stored content = %s, %d, %v; want %s", again, size, err, names[1])
	}
	// An empty tail is the base itself.
	if n, size, err := s.Append(ctx, names[2], bytes.NewReader(nil)); err != nil || n != names[2] || size != int64(len(contents[2])) {
		t.Errorf("Append of nothing = %s, %d, %v; want the base %s", n, size, err, names[2])
	}
	// So does Put of a revision's whole content.
	if n, _, err := s.Put(ctx, bytes.NewReader(contents[2])); err != nil || n != names[2] {
		t.Errorf("Put of a revision's content = %s, %v", n, err)
	}
	// And an Append whose result is stored whole.
	whole := put(t, s, []byte("whole"))
	if n, _, err := s.Append(ctx, put(t, s, []byte("who")), bytes.NewReader([]byte("le"))); err != nil || n != whole {
		t.Errorf("Append giving stored content = %s, %v; want %s", n, err, whole)
	}
	CheckContent(t, s, whole, []byte("whole"))
	for i, n := range names {
		CheckContent(t, s, n, contents[i])
	}
}

// testAppendLargeBase appends to a base of several chunks, and a large
// tail after it, so that a revision's reads cross from base to tail
// inside and across chunk boundaries.
func testAppendLargeBase(t *testing.T, s blob.Store) {
	base := Pattern(8, 5<<19+3)
	tails := [][]byte{Pattern(9, 1000), Pattern(10, 5<<20+17), nil, []byte("%%EOF\n")}
	names, contents := appendChain(t, s, base, tails...)
	for i, n := range names {
		CheckContent(t, s, n, contents[i])
		checkDigest(t, s, n, contents[i])
	}
}

// testAppendDepthLimit checks that a chain never grows beyond its bound.
func testAppendDepthLimit(t *testing.T, s blob.Store) {
	tails := make([][]byte, 40)
	for i := range tails {
		tails[i] = fmt.Appendf(nil, "update %d\n", i)
	}
	names, contents := appendChain(t, s, []byte("%PDF-1.7\n"), tails...)
	for _, i := range []int{1, 31, 32, 33, 34, 40} {
		CheckContent(t, s, names[i], contents[i])
		checkDigest(t, s, names[i], contents[i])
	}
	c, ok := s.(Collector)
	if !ok {
		return
	}
	for i, n := range names {
		depth := 0
		for b := n; ; depth++ {
			next, err := c.Base(b)
			if err != nil {
				t.Fatal(err)
			}
			if next == "" {
				break
			}
			if depth > MaxDepth {
				t.Fatalf("version %d is more than %d revisions deep", i, MaxDepth)
			}
			b = next
		}
		if depth > MaxDepth {
			t.Fatalf("version %d is %d revisions deep, more than %d", i, depth, MaxDepth)
		}
	}
}

func testAppendErrors(t *testing.T, s blob.Store) {
	ctx := t.Context()
	names, contents := appendChain(t, s, []byte("base"), []byte("one"))
	var before map[string]int
	c, isCollector := s.(Collector)
	if isCollector {
		before = walk(t, c)
	}
	// A failing tail stores nothing.
	tail := Pattern(11, 3<<19)
	for _, n := range []int{3, len(tail)} {
		if _, _, err := s.Append(ctx, names[1], &FailingReader{Data: tail, N: n}); err == nil {
			t.Fatal("Append with a failing tail succeeded")
		}
		if _, _, err := s.Open(ctx, Sum(append(bytes.Clone(contents[1]), tail[:n]...))); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("the content read before the failure is stored: %v", err)
		}
	}
	if isCollector {
		if after := walk(t, c); len(after) != len(before) {
			t.Errorf("Walk after a failed Append = %v, before %v", after, before)
		}
	}
	CheckContent(t, s, names[1], contents[1])
}

// testConcurrentAppend appends the same and different tails to one base
// from several goroutines.
func testConcurrentAppend(t *testing.T, s blob.Store) {
	ctx := t.Context()
	base := put(t, s, []byte("%PDF-1.7 shared base\n"))
	const n = 8
	var wg sync.WaitGroup
	names := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			names[i], _, errs[i] = s.Append(ctx, base, bytes.NewReader(fmt.Appendf(nil, "update %d\n", i%2)))
		})
	}
	wg.Wait()
	for i := range n {
		want := fmt.Appendf([]byte("%PDF-1.7 shared base\n"), "update %d\n", i%2)
		if errs[i] != nil || names[i] != Sum(want) {
			t.Fatalf("Append %d = %s, %v", i, names[i], errs[i])
		}
		CheckContent(t, s, names[i], want)
	}
}

func testCollector(t *testing.T, s blob.Store) {
	c, ok := s.(Collector)
	if !ok {
		t.Fatalf("%T does not implement Collector (Walk, ModTime, Base)", s)
	}
	ctx := t.Context()
	start := time.Now()
	want := map[string]int{}
	for _, d := range []string{"a", "b", "c"} {
		want[put(t, s, []byte(d))] = 1
	}
	got := walk(t, c)
	if len(got) != len(want) {
		t.Fatalf("Walk = %v, want %v", got, want)
	}
	for n := range want {
		if got[n] != 1 {
			t.Fatalf("Walk listed %s %d times", n, got[n])
		}
		mt, err := c.ModTime(n)
		if err != nil {
			t.Fatal(err)
		}
		// A generous window: file systems round times.
		if mt.Before(start.Add(-time.Minute)) || mt.After(time.Now().Add(time.Minute)) {
			t.Fatalf("ModTime of a blob just stored = %v, now is %v", mt, time.Now())
		}
	}
	// Walk stops at fn's first error and returns it.
	stop := errors.New("stop")
	calls := 0
	if err := c.Walk(ctx, func(string) error { calls++; return stop }); err != stop || calls != 1 {
		t.Fatalf("Walk with a failing fn = %v after %d calls", err, calls)
	}
}

// walk returns how often Walk lists each name.
func walk(t *testing.T, c Collector) map[string]int {
	t.Helper()
	seen := map[string]int{}
	if err := c.Walk(t.Context(), func(n string) error { seen[n]++; return nil }); err != nil {
		t.Fatal(err)
	}
	return seen
}
