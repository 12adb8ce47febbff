package pdf

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// PageSize is the paper size of a [TextDocument].
type PageSize int

// Paper sizes.
const (
	// A4 is 210 × 297 mm (595 × 842 points).
	A4 PageSize = iota
	// Letter is 8.5 × 11 in (612 × 792 points).
	Letter
)

// MaxTextPages bounds the pages [WriteText] lays out: a longer document
// is refused rather than written.
const MaxTextPages = 5000

// ErrTooManyPages means a [TextDocument] would need more than
// [MaxTextPages] pages.
var ErrTooManyPages = errors.New("pdf: the text document needs more pages than allowed")

// A TextDocument is a document of plain text for [WriteText]: a title,
// then sections of paragraphs and key/value rows.
type TextDocument struct {
	// Title is printed at the top of the first page and in every page's
	// footer, and written to the /Info dictionary.
	Title string
	// Size is the paper size (A4 by default).
	Size PageSize
	// Created is written to /Info as /CreationDate; zero omits it.
	Created  time.Time
	Sections []TextSection
}

// A TextSection is a heading and the blocks below it.
type TextSection struct {
	Heading string
	Blocks  []TextBlock
}

// A TextBlock is an optional sub-heading, an optional paragraph and
// optional key/value rows, in that order.
type TextBlock struct {
	Heading string
	// Text is a paragraph: wrapped at spaces; "\n" starts a new line.
	Text string
	// Mono sets Text in Courier (for hashes, commands and identifiers).
	Mono bool
	Rows []TextRow
}

// A TextRow is a key and its value, side by side; both wrap within
// their column.
type TextRow struct {
	Key, Value string
	// Mono sets Value in Courier.
	Mono bool
}

// WriteText writes doc as a PDF 1.7 file with a classic cross-reference
// table: text in the standard 14 fonts Helvetica, Helvetica-Bold and
// Courier with WinAnsiEncoding, wrapped to the page width and paginated,
// each page numbered "page N of M" in its footer. The /Info dictionary
// holds the title, /Producer (Signet) and the creation date. The output
// depends only on doc, so the same document gives the same bytes.
//
// Text is converted to WinAnsiEncoding by [WinAnsi]: what it cannot
// represent is transliterated or replaced by '?', never written as
// bytes the fonts do not define.
func WriteText(w io.Writer, doc TextDocument) error {
	pages, err := layoutText(doc)
	if err != nil {
		return err
	}
	width, height := doc.Size.points()
	bw := bufio.NewWriterSize(w, 1<<16)
	var off int64
	var offsets []int64
	write := func(b []byte) {
		n, _ := bw.Write(b)
		off += int64(n)
	}
	obj := func(body []byte) {
		offsets = append(offsets, off)
		write(fmt.Appendf(nil, "%d 0 obj\n", len(offsets)))
		write(body)
		write([]byte("\nendobj\n"))
	}
	write([]byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"))
	// 1 catalog, 2 pages, 3-5 fonts, 6 info, then per page: page, content.
	const firstPage = 7
	obj([]byte("<</Type /Catalog /Pages 2 0 R>>"))
	kids := make([]string, len(pages))
	for i := range kids {
		kids[i] = fmt.Sprintf("%d 0 R", firstPage+2*i)
	}
	obj(fmt.Appendf(nil, "<</Type /Pages /Count %d /Kids [%s]>>", len(pages), strings.Join(kids, " ")))
	for _, f := range fontNames {
		obj(fmt.Appendf(nil, "<</Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding>>", f))
	}
	info := Dict{"Title": textString(doc.Title), "Producer": String("Signet")}
	if !doc.Created.IsZero() {
		info["CreationDate"] = String(doc.Created.UTC().Format("D:20060102150405Z"))
	}
	obj(Marshal(nil, info))
	id := sha256.New()
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if err != nil {
		return err
	}
	for i, p := range pages {
		z.Reset()
		zw.Reset(&z)
		zw.Write(p.content(i+1, len(pages), doc.Title, width))
		if err := zw.Close(); err != nil {
			return err
		}
		content := z.Bytes()
		id.Write(content)
		obj(fmt.Appendf(nil, "<</Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources <</Font <</F1 3 0 R /F2 4 0 R /F3 5 0 R>>>> /Contents %d 0 R>>",
			num(width), num(height), firstPage+2*i+1))
		body := fmt.Appendf(nil, "<</Length %d /Filter /FlateDecode>>\nstream\n", len(content))
		body = append(body, content...)
		obj(append(body, "\nendstream"...))
	}
	xref := off
	write(fmt.Appendf(nil, "xref\n0 %d\n0000000000 65535 f\r\n", len(offsets)+1))
	for _, o := range offsets {
		write(fmt.Appendf(nil, "%010d 00000 n\r\n", o))
	}
	sum := id.Sum(nil)[:16]
	write(fmt.Appendf(nil, "trailer\n<</Size %d /Root 1 0 R /Info 6 0 R /ID [<%X> <%X>]>>\nstartxref\n%d\n%%%%EOF\n",
		len(offsets)+1, sum, sum, xref))
	return bw.Flush()
}

// textString is a PDF text string (§7.9.2.2): printable ASCII as is,
// anything else as UTF-16BE with a byte order mark.
func textString(s string) String {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			ascii = false
			break
		}
	}
	if ascii {
		return String(s)
	}
	b := []byte{0xfe, 0xff}
	for _, u := range utf16.Encode([]rune(strings.ToValidUTF8(s, "\uFFFD"))) {
		b = append(b, byte(u>>8), byte(u))
	}
	return String(b)
}

func (s PageSize) points() (w, h float64) {
	if s == Letter {
		return 612, 792
	}
	return 595, 842
}

// Fonts, as the pages' resources name them (F1, F2, F3).
type font int

const (
	regular font = iota
	bold
	mono
)

var fontNames = [...]string{"Helvetica", "Helvetica-Bold", "Courier"}

// textWidth is the width in points of WinAnsi text s in font f at size.
func textWidth(f font, size float64, s []byte) float64 {
	return StandardFont(fontNames[f]).Width(size, s)
}

// Layout, in points.
const (
	margin       = 56
	footerGap    = 28
	titleSize    = 18
	headingSize  = 13
	subheadSize  = 11
	bodySize     = 10
	monoSize     = 8.5
	footerSize   = 8
	bodyLeading  = 13
	keyColumn    = 0.3 // of the text width
	columnGutter = 8
)

// A placed line of text: its font, size and baseline origin.
type placed struct {
	f    font
	size float64
	x, y float64
	text []byte
	grey bool
}

// A rule is a horizontal line under a heading.
type rule struct{ x0, x1, y float64 }

type textPage struct {
	lines []placed
	rules []rule
}

type layout struct {
	left, right, top, bottom float64
	y                        float64
	pages                    []*textPage
	err                      error
}

func layoutText(doc TextDocument) ([]*textPage, error) {
	w, h := doc.Size.points()
	l := &layout{left: margin, right: w - margin, top: h - margin, bottom: margin + footerGap}
	l.newPage()
	for _, line := range wrap(bold, titleSize, WinAnsi(doc.Title), l.right-l.left) {
		l.put(bold, titleSize, l.left, titleSize*1.3, line)
	}
	l.y -= 6
	for _, s := range doc.Sections {
		if s.Heading != "" {
			l.y -= 10
			// Keep a heading with the first lines below it.
			l.need(headingSize*1.4 + 3*bodyLeading)
			for _, line := range wrap(bold, headingSize, WinAnsi(s.Heading), l.right-l.left) {
				l.put(bold, headingSize, l.left, headingSize*1.4, line)
			}
			l.page().rules = append(l.page().rules, rule{l.left, l.right, l.y - 2})
			l.y -= 6
		}
		for _, b := range s.Blocks {
			l.block(b)
		}
		if l.err != nil {
			return nil, l.err
		}
	}
	return l.pages, l.err
}

func (l *layout) block(b TextBlock) {
	width := l.right - l.left
	if b.Heading != "" {
		l.y -= 4
		l.need(subheadSize*1.4 + 2*bodyLeading)
		for _, line := range wrap(bold, subheadSize, WinAnsi(b.Heading), width) {
			l.put(bold, subheadSize, l.left, subheadSize*1.4, line)
		}
	}
	if b.Text != "" {
		f, size := regular, float64(bodySize)
		if b.Mono {
			f, size = mono, monoSize
		}
		for _, line := range wrap(f, size, WinAnsi(b.Text), width) {
			l.put(f, size, l.left, bodyLeading, line)
		}
	}
	keyW := width * keyColumn
	valX := l.left + keyW + columnGutter
	valW := l.right - valX
	for _, r := range b.Rows {
		f, size := regular, float64(bodySize)
		if r.Mono {
			f, size = mono, monoSize
		}
		keys := wrap(bold, bodySize, WinAnsi(r.Key), keyW)
		vals := wrap(f, size, WinAnsi(r.Value), valW)
		for i := 0; i < max(len(keys), len(vals)); i++ {
			l.need(bodyLeading)
			y := l.y - bodyLeading
			if i < len(keys) && len(keys[i]) > 0 {
				l.page().lines = append(l.page().lines, placed{f: bold, size: bodySize, x: l.left, y: y + 3, text: keys[i]})
			}
			if i < len(vals) && len(vals[i]) > 0 {
				l.page().lines = append(l.page().lines, placed{f: f, size: size, x: valX, y: y + 3, text: vals[i]})
			}
			l.y = y
		}
	}
	l.y -= 4
}

func (l *layout) page() *textPage { return l.pages[len(l.pages)-1] }

func (l *layout) newPage() {
	if len(l.pages) >= MaxTextPages {
		l.err = ErrTooManyPages
		// Keep laying out on the last page: the error ends the document.
		l.y = l.top
		return
	}
	l.pages = append(l.pages, &textPage{})
	l.y = l.top
}

// need starts a new page unless h points fit above the bottom margin.
func (l *layout) need(h float64) {
	if l.y-h < l.bottom && l.y < l.top {
		l.newPage()
	}
}

// put places one line of leading points, its baseline a little above
// the line's bottom.
func (l *layout) put(f font, size float64, x, leading float64, text []byte) {
	l.need(leading)
	l.y -= leading
	if len(text) > 0 {
		l.page().lines = append(l.page().lines, placed{f: f, size: size, x: x, y: l.y + leading*0.25, text: text})
	}
}

// wrap breaks WinAnsi text into lines no wider than width: at spaces
// where it can, inside a word longer than a line where it must; "\n"
// ends a line. It always returns at least one (maybe empty) line.
func wrap(f font, size float64, text []byte, width float64) [][]byte {
	var out [][]byte
	for _, para := range bytes.Split(text, []byte{'\n'}) {
		var cur []byte
		for _, word := range bytes.Split(para, []byte{' '}) {
			if len(word) == 0 {
				continue
			}
			if len(cur) > 0 {
				try := append(append(cur[:len(cur):len(cur)], ' '), word...)
				if textWidth(f, size, try) <= width {
					cur = try
					continue
				}
				out = append(out, cur)
				cur = nil
			}
			for textWidth(f, size, word) > width {
				n := fit(f, size, word, width)
				out = append(out, word[:n])
				word = word[n:]
			}
			cur = append(cur[:0:0], word...)
		}
		out = append(out, cur)
	}
	return out
}

// fit is how many leading bytes of s fit in width (at least one).
func fit(f font, size float64, s []byte, width float64) int {
	n := 1
	for n < len(s) && textWidth(f, size, s[:n+1]) <= width {
		n++
	}
	return n
}

// content is page n's content stream (of total pages).
func (p *textPage) content(n, total int, title string, pageWidth float64) []byte {
	var c []byte
	for _, r := range p.rules {
		c = fmt.Appendf(c, "0.6 G 0.5 w %s %s m %s %s l S\n", num(r.x0), num(r.y), num(r.x1), num(r.y))
	}
	lines := p.lines
	// Footer: the title on the left, "page N of M" on the right.
	pn := WinAnsi(fmt.Sprintf("page %d of %d", n, total))
	numX := pageWidth - margin - textWidth(regular, footerSize, pn)
	if t := wrap(regular, footerSize, WinAnsi(title), numX-margin-2*columnGutter); len(t) > 0 && len(t[0]) > 0 {
		lines = append(lines[:len(lines):len(lines)], placed{f: regular, size: footerSize, x: margin, y: margin, text: t[0], grey: true})
	}
	lines = append(lines[:len(lines):len(lines)], placed{f: regular, size: footerSize, x: numX, y: margin, text: pn, grey: true})
	c = append(c, "BT\n"...)
	for _, l := range lines {
		g := "0 g"
		if l.grey {
			g = "0.35 g"
		}
		c = fmt.Appendf(c, "%s /F%d %s Tf 1 0 0 1 %s %s Tm ", g, l.f+1, numf(l.size), numf(l.x), numf(l.y))
		c = Marshal(c, String(l.text))
		c = append(c, " Tj\n"...)
	}
	return append(c, "ET\n"...)
}

// num formats a coordinate with at most two decimals.
func num(v float64) string { return numf(v) }

func numf(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}

// WinAnsi converts UTF-8 text to WinAnsiEncoding (ISO 32000-1 Annex D.2)
// for the standard 14 fonts, byte by byte of the result a code the fonts
// define:
//
//   - characters WinAnsiEncoding has are kept (ASCII, Latin-1, and the
//     typographic quotes, dashes, euro, bullet, ellipsis, trade mark,
//     Œ œ Š š Ž ž Ÿ ƒ ˆ ˜ ‹ › † ‡ ‰);
//   - Latin letters with diacritics it lacks lose the diacritic
//     (ł → l, Č → C, ő → o; Ĳ → IJ), combining marks are dropped, and a
//     few symbols get an ASCII spelling (‐ ‑ ‒ − → -, ′ → ', ″ → ",
//     → → ->, ← → <-, ≤ → <=, ≥ → >=, ≠ → !=);
//   - spaces of any width and tabs become a space; zero-width characters,
//     soft hyphens and carriage returns are dropped; "\n" is kept (a line
//     break for [WriteText]);
//   - anything else — other scripts, emoji, control characters, invalid
//     UTF-8 — becomes '?'.
func WinAnsi(s string) []byte {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		if r == utf8.RuneError && n <= 1 {
			out = append(out, '?')
			continue
		}
		switch {
		case r == '\n':
			out = append(out, '\n')
		case r >= 0x20 && r < 0x7f, r >= 0xa1 && r <= 0xff && r != 0xad:
			out = append(out, byte(r))
		case r == '\t' || r == 0xa0 || r >= 0x2000 && r <= 0x200a || r == 0x202f || r == 0x205f || r == 0x3000:
			out = append(out, ' ')
		case r == '\r' || r == 0xad || r >= 0x200b && r <= 0x200f || r == 0x2060 || r == 0xfeff || r >= 0x0300 && r <= 0x036f:
		default:
			if b, ok := winAnsiHigh[r]; ok {
				out = append(out, b)
			} else if r >= 0x100 && r < 0x180 {
				switch r {
				case 0x132:
					out = append(out, 'I', 'J')
				case 0x133:
					out = append(out, 'i', 'j')
				default:
					out = append(out, latinExtendedA[r-0x100])
				}
			} else if t, ok := asciiSpelling[r]; ok {
				out = append(out, t...)
			} else {
				out = append(out, '?')
			}
		}
	}
	return out
}

// winAnsiHigh maps the characters of WinAnsiEncoding's codes 128..159.
var winAnsiHigh = map[rune]byte{
	'€': 0x80, '‚': 0x82, 'ƒ': 0x83, '„': 0x84, '…': 0x85, '†': 0x86, '‡': 0x87, 'ˆ': 0x88,
	'‰': 0x89, 'Š': 0x8a, '‹': 0x8b, 'Œ': 0x8c, 'Ž': 0x8e, '‘': 0x91, '’': 0x92, '“': 0x93,
	'”': 0x94, '•': 0x95, '–': 0x96, '—': 0x97, '˜': 0x98, '™': 0x99, 'š': 0x9a, '›': 0x9b,
	'œ': 0x9c, 'ž': 0x9e, 'Ÿ': 0x9f, '―': 0x97,
}

// latinExtendedA is the base letter of each character U+0100..U+017F
// (those WinAnsiEncoding has are found in winAnsiHigh first).
const latinExtendedA = "" +
	"AaAaAaCcCcCcCcDd" + // U+0100
	"DdEeEeEeEeEeGgGg" + // U+0110
	"GgGgHhHhIiIiIiIi" + // U+0120
	"IiIiJjKkkLlLlLlL" + // U+0130
	"lLlNnNnNnnNnOoOo" + // U+0140
	"OoOoRrRrRrSsSsSs" + // U+0150
	"SsTtTtTtUuUuUuUu" + // U+0160
	"UuUuWwYyYZzZzZzs" // U+0170

// asciiSpelling spells a few common symbols in ASCII.
var asciiSpelling = map[rune]string{
	'‐': "-", '‑': "-", '‒': "-", '−': "-", '′': "'", '″': `"`,
	'→': "->", '←': "<-", '≤': "<=", '≥': ">=", '≠': "!=",
}
