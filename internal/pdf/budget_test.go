package pdf

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"testing"

	"github.com/signet-pki/signet/internal/pdf/pdftest"
)

func openBytes(t testing.TB, data []byte, opts ...Option) *Reader {
	t.Helper()
	r, err := Open(bytes.NewReader(data), int64(len(data)), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestBudget reads every object of a small decompression bomb (16 object
// streams of 1 MiB each) under budgets below and above what it needs.
func TestBudget(t *testing.T) {
	const streams, inflated = 16, 1 << 20
	bomb := pdftest.Bomb(streams, inflated)
	visitAll := func(r *Reader) error { return r.Objects(func(int, Object) error { return nil }) }

	t.Run("refused beyond the budget", func(t *testing.T) {
		r := openBytes(t, bomb, WithBudget(4<<20))
		err := visitAll(r)
		var be *BudgetError
		if !errors.Is(err, ErrBudget) || !errors.As(err, &be) || be.Limit != 4<<20 {
			t.Fatalf("Objects under a 4 MiB budget: %v, want a BudgetError with limit 4 MiB", err)
		}
		if r.Used() > r.Budget() {
			t.Fatalf("used %d of a budget of %d", r.Used(), r.Budget())
		}
		// Exhausted is final: even a tiny stream no longer decodes.
		small := zlibBytes(t, []byte("tiny"))
		if _, err := r.Decode(&Stream{Dict: Dict{"Filter": Name("FlateDecode")}, Data: small}); !errors.Is(err, ErrBudget) {
			t.Fatalf("decoding after the budget ran out: %v", err)
		}
	})
	t.Run("within the budget", func(t *testing.T) {
		r := openBytes(t, bomb, WithBudget(64<<20))
		if err := visitAll(r); err != nil {
			t.Fatal(err)
		}
		if r.Used() < streams*inflated {
			t.Fatalf("used %d, less than the %d bytes decoded", r.Used(), streams*inflated)
		}
	})
	t.Run("cross-reference entries count", func(t *testing.T) {
		// Opening reads the cross-reference stream only; a budget smaller
		// than its entries' cost refuses it at Open.
		_, err := Open(bytes.NewReader(bomb), int64(len(bomb)), WithBudget(entryCost*10))
		if !errors.Is(err, ErrBudget) {
			t.Fatalf("Open with a budget of 10 entries: %v", err)
		}
	})
}

// TestCacheBounded resolves every object of a bomb twice with a cache of
// 3 MiB: the cache never holds more than its bound, and the second pass
// decodes the streams again (charged again); with the default cache, which
// holds them all, the second pass costs nothing.
func TestCacheBounded(t *testing.T) {
	const streams, inflated = 8, 1 << 20
	bomb := pdftest.Bomb(streams, inflated)
	pass := func(r *Reader) {
		for i := range streams {
			o, err := r.Resolve(Ref{Num: 4 + streams + i})
			if err != nil {
				t.Fatal(err)
			}
			if d, _ := o.(Dict); d.Name("FT") != "Tx" {
				t.Fatalf("object %d = %v", 4+streams+i, o)
			}
			if r.cache.used > r.cache.max {
				t.Fatalf("cache holds %d bytes, bound %d", r.cache.used, r.cache.max)
			}
		}
	}
	small := openBytes(t, bomb, WithCacheSize(3<<20))
	pass(small)
	first := small.Used()
	pass(small)
	if again := small.Used() - first; again < streams*inflated {
		t.Fatalf("second pass with a small cache charged %d bytes, want the streams decoded again (≥ %d)", again, streams*inflated)
	}

	big := openBytes(t, bomb, WithCacheSize(64<<20))
	pass(big)
	first = big.Used()
	pass(big)
	if big.Used() != first {
		t.Fatalf("second pass with a large cache charged %d bytes", big.Used()-first)
	}
}

// TestDecodePrefix decodes the start of a large stream: it gets the bytes
// asked for and charges about that much, not the whole stream.
func TestDecodePrefix(t *testing.T) {
	data := bytes.Repeat([]byte("MZ"), 8<<20)
	s := &Stream{Dict: Dict{"Filter": Name("FlateDecode")}, Data: zlibBytes(t, data)}
	r := openBytes(t, sampleBytes(t))
	before := r.Used()
	got, err := r.DecodePrefix(s, 1024)
	if err != nil || !bytes.Equal(got, data[:1024]) {
		t.Fatalf("DecodePrefix: %q… %v", got[:min(len(got), 8)], err)
	}
	if c := r.Used() - before; c > 4096 {
		t.Fatalf("a 1 KiB prefix charged %d bytes", c)
	}
	if all, err := r.Decode(s); err != nil || len(all) != len(data) {
		t.Fatalf("Decode of the whole stream: %d bytes, %v", len(all), err)
	}
}

// TestObjectsVisitsEveryVersion checks that Objects reaches superseded
// versions and objects that only an object stream holds.
func TestObjectsVisitsEveryVersion(t *testing.T) {
	base := corpusFiles(t)["classic.pdf"]
	r := openBytes(t, base)
	u := NewUpdate(r)
	catRef, cat, err := r.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	old := cat.Clone()
	old["Marker"] = Name("old")
	u.Set(catRef, old)
	b, err := u.Build()
	if err != nil {
		t.Fatal(err)
	}
	rev1 := append(bytes.Clone(base), b.Data...)
	r1 := openBytes(t, rev1)
	u = NewUpdate(r1)
	fresh := old.Clone()
	fresh["Marker"] = Name("new")
	u.Set(catRef, fresh)
	b, err = u.Build()
	if err != nil {
		t.Fatal(err)
	}
	rev2 := append(rev1, b.Data...)
	markers := map[Name]bool{}
	if err := openBytes(t, rev2).Objects(func(num int, o Object) error {
		if d, ok := o.(Dict); ok && num == catRef.Num {
			markers[d.Name("Marker")] = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !markers["old"] || !markers["new"] || !markers[""] {
		t.Fatalf("catalog versions visited: %v, want the original, old and new", markers)
	}

	seen := false
	if err := openBytes(t, pdftest.Bomb(2, 1024)).Objects(func(num int, o Object) error {
		seen = seen || num == 999999
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !seen {
		t.Fatal("the object only an object stream holds was not visited")
	}
}

func zlibBytes(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sampleBytes(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteSample(&b, SampleOptions{Pages: 1, Title: "t"}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestBudgetOverlappingObjects reads a 2 MB file whose 2,000 objects are
// nested literal strings, each running to the end of the file: parsing
// them all would read about 2 GB. Parsing is charged, so a 64 MiB budget
// stops it.
func TestBudgetOverlappingObjects(t *testing.T) {
	const n, pad = 2000, 1000
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	offsets := map[int]int{}
	for k := 4; k < 4+n; k++ {
		offsets[k] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj (", k)
		b.Write(bytes.Repeat([]byte{'x'}, pad))
	}
	b.Write(bytes.Repeat([]byte{')'}, n))
	b.WriteString("\n")
	for k, body := range []string{"<</Type /Catalog /Pages 2 0 R>>", "<</Type /Pages /Count 1 /Kids [3 0 R]>>", "<</Type /Page /Parent 2 0 R>>"} {
		offsets[k+1] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", k+1, body)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f\r\n", n+4)
	for k := 1; k < n+4; k++ {
		fmt.Fprintf(&b, "%010d 00000 n\r\n", offsets[k])
	}
	fmt.Fprintf(&b, "trailer\n<</Size %d /Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n", n+4, xref)

	r := openBytes(t, b.Bytes(), WithBudget(64<<20))
	if _, _, err := r.Catalog(); err != nil {
		t.Fatal(err)
	}
	err := r.Objects(func(int, Object) error { return nil })
	if !errors.Is(err, ErrBudget) {
		t.Fatalf("Objects over overlapping objects: %v, want ErrBudget", err)
	}
}
