package pdf

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/pdf/pdftest"
)

func TestWinAnsi(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain ASCII 123", "plain ASCII 123"},
		{"café Müller", "caf\xe9 M\xfcller"},
		{"“quoted” – dash — €5 • ok…", "\x93quoted\x94 \x96 dash \x97 \x805 \x95 ok\x85"},
		{"Łukasz Dvořák Őrs Ĳssel", "Lukasz Dvor\xe1k Ors IJssel"},
		{"Œuvre šž Ÿ", "\x8cuvre \x9a\x9e \x9f"},
		{"e\u0301", "e"},
		{"a\u00a0b\tc\u2009d", "a b c d"},
		{"soft\u00adhyphen zero\u200bwidth\r\n", "softhyphen zerowidth\n"},
		{"a → b ≤ c − d", "a -> b <= c - d"},
		{"Ж中😀", "???"},
		{"bad \xff\xfe utf8", "bad ?? utf8"},
		{"ctl\x00\x1b\x7f\u0085", "ctl????"},
	} {
		if got := string(WinAnsi(tc.in)); got != tc.want {
			t.Errorf("WinAnsi(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestWinAnsiDefined checks that every character WinAnsi emits is one the
// fonts define (a non-zero width), over every rune up to U+FFFF.
func TestWinAnsiDefined(t *testing.T) {
	for r := rune(0); r < 0x10000; r++ {
		if r >= 0xd800 && r < 0xe000 {
			continue
		}
		for _, c := range WinAnsi(string(r)) {
			if c == '\n' {
				continue
			}
			if c < 32 || helveticaWidths[c-32] == 0 || helveticaBoldWidths[c-32] == 0 || timesItalicWidths[c-32] == 0 {
				t.Fatalf("WinAnsi(%U) emits undefined code %#x", r, c)
			}
		}
	}
}

// TestStandardFontWidth checks widths against the AFM values of a few
// glyphs, summed by hand.
func TestStandardFontWidth(t *testing.T) {
	for _, tc := range []struct {
		f    StandardFont
		text string
		want float64 // at 10 points
	}{
		{Helvetica, "Signet", (667 + 222 + 556 + 556 + 556 + 278) / 100.0},
		{HelveticaBold, "Signet", (667 + 278 + 611 + 611 + 556 + 333) / 100.0},
		{TimesItalic, "Signet", (500 + 278 + 500 + 500 + 444 + 278) / 100.0},
		{TimesItalic, "Zoë €", (556 + 500 + 444 + 250 + 500) / 100.0},
		{Courier, "Signet", 36},
		{StandardFont("Unknown"), "ab", 12},
		{Helvetica, "a\nb", (556 + 556) / 100.0},
	} {
		if got := tc.f.Width(10, WinAnsi(tc.text)); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("%s.Width(10, %q) = %v, want %v", tc.f, tc.text, got, tc.want)
		}
	}
	for _, f := range []StandardFont{Helvetica, HelveticaBold, Courier, TimesItalic} {
		if a, d := f.Extent(); a <= 0 || d >= 0 {
			t.Errorf("%s.Extent() = %v, %v", f, a, d)
		}
	}
}

func TestWrap(t *testing.T) {
	long := strings.Repeat("word ", 200)
	hash := strings.Repeat("0123456789abcdef", 4)
	for _, tc := range []struct {
		name  string
		f     font
		text  string
		width float64
		lines int
	}{
		{"empty", regular, "", 100, 1},
		{"fits", regular, "a few words", 400, 1},
		{"long", regular, long, 300, -1},
		{"newlines", regular, "one\ntwo\n\nfour", 400, 4},
		{"unbroken", mono, strings.Repeat("x", 100), 100, 7},
		{"hash fits", mono, hash, 400, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := wrap(tc.f, 10, WinAnsi(tc.text), tc.width)
			if tc.lines >= 0 && len(lines) != tc.lines {
				t.Errorf("%d lines, want %d: %q", len(lines), tc.lines, lines)
			}
			var words []string
			for _, l := range lines {
				if w := textWidth(tc.f, 10, l); w > tc.width {
					t.Errorf("line %q is %.1f wide, over %.1f", l, w, tc.width)
				}
				words = append(words, strings.Fields(string(l))...)
			}
			if tc.f == regular && strings.Join(words, " ") != strings.Join(strings.Fields(tc.text), " ") {
				t.Errorf("wrapping lost or changed words")
			}
		})
	}
}

// sampleText is a document long enough for several pages.
func sampleText(size PageSize) TextDocument {
	doc := TextDocument{
		Title:   "Certificate – Ünïcode title",
		Size:    size,
		Created: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC),
	}
	for s := 1; s <= 6; s++ {
		sec := TextSection{Heading: fmt.Sprintf("Section %d", s)}
		for b := 1; b <= 4; b++ {
			sec.Blocks = append(sec.Blocks, TextBlock{
				Heading: fmt.Sprintf("Block %d.%d", s, b),
				Text:    strings.Repeat(fmt.Sprintf("Paragraph %d.%d says something rather long. ", s, b), 8),
				Rows: []TextRow{
					{Key: "Name", Value: fmt.Sprintf("Zoë Łukasiewicz %d.%d", s, b)},
					{Key: "SHA-256", Value: strings.Repeat(fmt.Sprintf("%x", s*16+b), 32), Mono: true},
				},
			})
		}
		doc.Sections = append(doc.Sections, sec)
	}
	return doc
}

func writeTextFile(t *testing.T, doc TextDocument) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteText(&buf, doc); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "text.pdf")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, buf.Bytes()
}

// TestWriteText checks the output with qpdf, pdftotext and this package's
// reader: structure, page size, numbering, /Info and the text itself.
func TestWriteText(t *testing.T) {
	for _, size := range []PageSize{A4, Letter} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			doc := sampleText(size)
			path, data := writeTextFile(t, doc)
			if out := pdftest.Tool(t, "qpdf", "--check", path); strings.Contains(strings.ToLower(out), "warning") {
				t.Errorf("qpdf --check: %s", out)
			}
			r, err := Open(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			_, cat, err := r.Catalog()
			if err != nil {
				t.Fatal(err)
			}
			pages, _ := r.Dict(cat["Pages"])
			n, _ := pages.Int("Count")
			if n < 3 {
				t.Fatalf("%d pages, want several", n)
			}
			_, p1, err := r.Page(1)
			if err != nil {
				t.Fatal(err)
			}
			w, h := size.points()
			if got := string(Marshal(nil, p1["MediaBox"])); got != fmt.Sprintf("[0 0 %v %v]", w, h) {
				t.Errorf("MediaBox %s", got)
			}
			info, _ := r.Dict(r.Sections[0].Trailer["Info"])
			if string(info["Producer"].(String)) != "Signet" || string(info["CreationDate"].(String)) != "D:20261206100000Z" {
				t.Errorf("/Info %v", info)
			}
			if got := pdftest.Tool(t, "pdfinfo", path); !strings.Contains(got, "Certificate – Ünïcode title") {
				t.Errorf("pdfinfo does not show the title:\n%s", got)
			}
			text := pdftest.Tool(t, "pdftotext", "-enc", "UTF-8", path, "-")
			for _, want := range []string{
				"Certificate – Ünïcode title", "Section 6", "Block 6.4", "Zoë Lukasiewicz 6.4",
				strings.Repeat("64", 32), fmt.Sprintf("page 1 of %d", n), fmt.Sprintf("page %d of %d", n, n),
			} {
				if !strings.Contains(text, want) {
					t.Errorf("pdftotext lacks %q", want)
				}
			}
			if got := len(regexp.MustCompile(`Paragraph 3\.2 says`).FindAllString(strings.Join(strings.Fields(text), " "), -1)); got != 8 {
				t.Errorf("paragraph 3.2 appears %d times, want 8", got)
			}
			// The same document gives the same bytes.
			var again bytes.Buffer
			if err := WriteText(&again, doc); err != nil || !bytes.Equal(again.Bytes(), data) {
				t.Errorf("a second run gave other bytes (%v)", err)
			}
		})
	}
}

func TestWriteTextPageLimit(t *testing.T) {
	doc := TextDocument{Sections: []TextSection{{Blocks: []TextBlock{{Text: strings.Repeat("x\n", 70*MaxTextPages)}}}}}
	if err := WriteText(&bytes.Buffer{}, doc); err != ErrTooManyPages {
		t.Fatalf("WriteText = %v, want ErrTooManyPages", err)
	}
}

// FuzzWriteText writes documents of arbitrary strings: WriteText must not
// fail or panic, and its output must open with this package's reader,
// every page's content decoding and showing only WinAnsi codes the fonts
// define. Seeds: testdata/fuzz/FuzzWriteText.
//
// Every input lays out and compresses whole pages and is read back: the
// short pass in make test runs fewer of them.
// fuzz-count: 3000x
func FuzzWriteText(f *testing.F) {
	f.Add("Title", "Heading", "Some text\nnext line", "Key", "Value", false)
	f.Fuzz(func(t *testing.T, title, heading, text, key, value string, mono bool) {
		doc := TextDocument{Title: title, Sections: []TextSection{{Heading: heading, Blocks: []TextBlock{
			{Heading: heading, Text: text, Mono: mono, Rows: []TextRow{{Key: key, Value: value, Mono: mono}, {Key: value, Value: key}}},
		}}}}
		var buf bytes.Buffer
		if err := WriteText(&buf, doc); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		r, err := Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		_, cat, err := r.Catalog()
		if err != nil {
			t.Fatal(err)
		}
		pages, err := r.Dict(cat["Pages"])
		if err != nil {
			t.Fatal(err)
		}
		n, _ := pages.Int("Count")
		if n < 1 {
			t.Fatalf("%d pages", n)
		}
		for i := 1; i <= int(n); i++ {
			_, p, err := r.Page(i)
			if err != nil {
				t.Fatalf("page %d: %v", i, err)
			}
			o, err := r.Resolve(p["Contents"])
			if err != nil {
				t.Fatal(err)
			}
			s, ok := o.(*Stream)
			if !ok {
				t.Fatalf("page %d contents %T", i, o)
			}
			c, err := r.Decode(s)
			if err != nil {
				t.Fatalf("page %d: %v", i, err)
			}
			l := &lexer{b: c, eofOK: true}
			for l.skipSpace(); l.pos < len(c); l.skipSpace() {
				if !isDelimiter(c[l.pos]) {
					l.keyword() // an operator or a number
					continue
				}
				o, err := l.object(0)
				if err != nil {
					t.Fatalf("page %d content: %v", i, err)
				}
				if str, ok := o.(String); ok {
					for _, b := range str {
						if b < 32 || helveticaWidths[b-32] == 0 {
							t.Fatalf("page %d shows undefined code %#x", i, b)
						}
					}
				}
			}
		}
	})
}
