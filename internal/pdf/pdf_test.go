package pdf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/pdf/pdftest"
)

func corpusFiles(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "..", "testdata", "pdf", "*.pdf"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no sample PDFs in testdata/pdf: %v", err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

// TestOpenCorpus opens every sample, resolves its catalog and first page,
// and checks the bad ones fail with the right sentinel.
func TestOpenCorpus(t *testing.T) {
	bad := map[string]error{
		"notpdf.pdf":      ErrNotPDF,
		"truncated.pdf":   ErrNoStartXref,
		"broken-xref.pdf": ErrBrokenXref,
		"encrypted.pdf":   ErrEncrypted,
	}
	wantStream := map[string]bool{"xrefstream.pdf": true}
	for name, data := range corpusFiles(t) {
		t.Run(name, func(t *testing.T) {
			r, err := Open(bytes.NewReader(data), int64(len(data)))
			if want, ok := bad[name]; ok {
				if !errors.Is(err, want) {
					t.Fatalf("Open: %v, want %v", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if wantStream[name] && !r.Sections[0].Stream {
				t.Errorf("newest section is not a cross-reference stream")
			}
			_, cat, err := r.Catalog()
			if err != nil || cat.Name("Type") != "Catalog" {
				t.Fatalf("catalog: %v %v", cat, err)
			}
			_, page, err := r.Page(1)
			if err != nil || page.Name("Type") != "Page" {
				t.Fatalf("page 1: %v %v", page, err)
			}
		})
	}
}

// TestObjectStreams checks that objects inside object streams resolve.
func TestObjectStreams(t *testing.T) {
	data := corpusFiles(t)["xrefstream.pdf"]
	r, err := Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := r.Trailer["Root"].(Ref)
	if !r.InObjectStream(ref.Num) {
		t.Fatalf("sample's catalog is not in an object stream; the sample no longer exercises them")
	}
	if _, _, err := r.Catalog(); err != nil {
		t.Fatal(err)
	}
}

// TestUpdateRoundTrip appends updates in both cross-reference styles and
// reads the result back, checking /Prev chaining and object replacement.
func TestUpdateRoundTrip(t *testing.T) {
	for name, data := range corpusFiles(t) {
		if strings.Contains("notpdf truncated broken-xref encrypted", strings.TrimSuffix(name, ".pdf")) {
			continue
		}
		for _, classic := range []bool{false, true} {
			t.Run(name+map[bool]string{false: "/same-style", true: "/classic"}[classic], func(t *testing.T) {
				r, err := Open(bytes.NewReader(data), int64(len(data)))
				if err != nil {
					t.Fatal(err)
				}
				u := NewUpdate(r)
				u.ForceClassic = classic
				added := u.Add(Dict{"Marker": String("new")})
				catRef, cat, _ := r.Catalog()
				cat = cat.Clone()
				cat["SignetTest"] = added
				u.Set(catRef, cat)
				b, err := u.Build()
				if err != nil {
					t.Fatal(err)
				}
				if b.Base != int64(len(data)) {
					t.Fatalf("Base %d, want %d", b.Base, len(data))
				}
				all := append(append([]byte{}, data...), b.Data...)
				r2, err := Open(bytes.NewReader(all), int64(len(all)))
				if err != nil {
					t.Fatalf("reopen: %v", err)
				}
				if len(r2.Sections) != len(r.Sections)+1 {
					t.Errorf("%d sections, want %d", len(r2.Sections), len(r.Sections)+1)
				}
				if r2.Sections[0].Stream == classic && r.Sections[0].Stream {
					t.Errorf("update section style: stream=%v", r2.Sections[0].Stream)
				}
				_, cat2, err := r2.Catalog()
				if err != nil {
					t.Fatal(err)
				}
				m, err := r2.Dict(cat2["SignetTest"])
				if err != nil || string(m["Marker"].(String)) != "new" {
					t.Fatalf("added object: %v %v", m, err)
				}
				if _, _, err := r2.Page(1); err != nil {
					t.Fatalf("page 1 after update: %v", err)
				}
			})
		}
	}
}

// TestSlots checks that slot offsets point at the slots in the output.
func TestSlots(t *testing.T) {
	data := corpusFiles(t)["classic.pdf"]
	r, _ := Open(bytes.NewReader(data), int64(len(data)))
	u := NewUpdate(r)
	hs := &HexSlot{Len: 8}
	ts := &TextSlot{Width: 12}
	u.Add(Dict{"A": ts, "B": hs})
	b, err := u.Build()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b.Data[hs.Offset : hs.Offset+18]); got != "<"+strings.Repeat("0", 16)+">" {
		t.Errorf("hex slot at %d holds %q", hs.Offset, got)
	}
	if got := string(b.Data[ts.Offset : ts.Offset+12]); got != strings.Repeat(" ", 12) {
		t.Errorf("text slot at %d holds %q", ts.Offset, got)
	}
}

// TestObjectSyntax parses objects and marshals them back.
func TestObjectSyntax(t *testing.T) {
	cases := []struct {
		in   string
		want Object
	}{
		{"<< /A 1 /B [2 0 R (x\\)y) <414>] /C /N#20ame /D null >>", Dict{"A": Integer(1), "B": Array{Ref{2, 0}, String("x)y"), String("A@")}, "C": Name("N ame")}},
		{"[1 2 R 3]", Array{Ref{1, 2}, Integer(3)}},
		{"[1 2 3]", Array{Integer(1), Integer(2), Integer(3)}},
		{"-3.5", Real("-3.5")},
		{"(a\\101\\\nb)", String("aAb")},
		{"true", Bool(true)},
	}
	for _, c := range cases {
		l := &lexer{b: []byte(c.in), eofOK: true}
		got, err := l.object(0)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if !Equal(got, c.want) {
			t.Errorf("%q = %#v, want %#v", c.in, got, c.want)
		}
		l2 := &lexer{b: Marshal(nil, got), eofOK: true}
		again, err := l2.object(0)
		if err != nil || !Equal(again, got) {
			t.Errorf("round trip of %q via %q: %v %v", c.in, Marshal(nil, got), again, err)
		}
	}
}

// FuzzOpen feeds arbitrary bytes to the reader: it must never panic, and
// whatever it opens must resolve its catalog, pages and page boxes without
// panicking.
// Every object it visits stays within the budget. Seeds: every sample in
// testdata/pdf and small decompression bombs.
func FuzzOpen(f *testing.F) {
	for _, data := range corpusFiles(f) {
		f.Add(data)
	}
	f.Add(pdftest.Bomb(2, 4096))
	f.Add(pdftest.Bomb(40, 64<<10))
	f.Fuzz(func(t *testing.T, data []byte) {
		const budget = 1 << 20
		r, err := Open(bytes.NewReader(data), int64(len(data)), WithBudget(budget), WithCacheSize(64<<10))
		if err != nil {
			return
		}
		defer func() {
			if r.Used() > budget {
				t.Fatalf("used %d bytes of a budget of %d", r.Used(), budget)
			}
		}()
		r.Objects(func(int, Object) error { return nil })
		r.Catalog()
		for i := 1; i <= 3; i++ {
			if _, _, err := r.Page(i); err != nil {
				break
			}
		}
		if boxes, err := r.PageBoxes(16); err == nil {
			for _, b := range boxes {
				if !(b.Width() >= 0 && b.Height() >= 0) || b.Rotate%90 != 0 {
					t.Fatalf("page box %+v", b)
				}
			}
		}
		for n := 0; n < 50; n++ {
			r.Resolve(Ref{Num: n})
		}
		u := NewUpdate(r)
		u.Add(Dict{"X": Integer(1)})
		u.Build()
	})
}

// FuzzObject checks that any object the lexer accepts survives a
// marshal/parse round trip unchanged.
func FuzzObject(f *testing.F) {
	for _, s := range []string{"<< /A 1 /B [2 0 R (x\\)y) <414>] >>", "[1 2 3.5 /N#23 true null]", "(\\101\\n\\\\)", "<</Type /Sig /Contents <00ff>>>"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		l := &lexer{b: in, eofOK: true}
		o, err := l.object(0)
		if err != nil {
			return
		}
		out := Marshal(nil, o)
		l2 := &lexer{b: out, eofOK: true}
		again, err := l2.object(0)
		if err != nil {
			t.Fatalf("re-parse of %q: %v", out, err)
		}
		if !Equal(o, again) {
			t.Fatalf("round trip changed %#v into %#v via %q", o, again, out)
		}
	})
}
