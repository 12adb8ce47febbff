package pdf

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// SampleOptions describes a generated sample document.
type SampleOptions struct {
	// Pages is the number of pages (at least 1).
	Pages int
	// Title is printed on every page and written to /Info.
	Title string
	// Lines are printed below the title on the first page.
	Lines []string
	// Padding adds an unreferenced-by-content stream of about this many
	// bytes to each page's resources, to make large test files.
	Padding int64
}

// WriteSample writes a small, valid PDF 1.7 document with a classic
// cross-reference table: for `signet quickstart`, tests and benchmarks.
// It streams, so Padding may be large.
func WriteSample(w io.Writer, o SampleOptions) error {
	if o.Pages < 1 {
		o.Pages = 1
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	var off int64
	var offsets []int64
	write := func(s string) {
		n, _ := bw.WriteString(s)
		off += int64(n)
	}
	obj := func(body string) {
		offsets = append(offsets, off)
		write(fmt.Sprintf("%d 0 obj\n%s\nendobj\n", len(offsets), body))
	}
	write("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	// 1 catalog, 2 pages, 3 font, 4 info, then per page: page, content[, padding].
	obj("<</Type /Catalog /Pages 2 0 R>>")
	kids := make([]string, o.Pages)
	per := 2
	if o.Padding > 0 {
		per = 3
	}
	for i := range kids {
		kids[i] = fmt.Sprintf("%d 0 R", 5+i*per)
	}
	obj(fmt.Sprintf("<</Type /Pages /Count %d /Kids [%s]>>", o.Pages, strings.Join(kids, " ")))
	obj("<</Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding>>")
	obj(fmt.Sprintf("<</Title %s /Producer (Signet)>>", Marshal(nil, String(o.Title))))
	for p := 0; p < o.Pages; p++ {
		first := 5 + p*per
		res := "/Font <</F1 3 0 R>>"
		if o.Padding > 0 {
			res += fmt.Sprintf(" /XObject <</Pad %d 0 R>>", first+2)
		}
		obj(fmt.Sprintf("<</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources <<%s>> /Contents %d 0 R>>", res, first+1))
		var c strings.Builder
		c.WriteString("BT /F1 18 Tf 72 770 Td ")
		c.Write(Marshal(nil, String(fmt.Sprintf("%s (page %d of %d)", o.Title, p+1, o.Pages))))
		c.WriteString(" Tj /F1 11 Tf")
		if p == 0 {
			for _, l := range o.Lines {
				c.WriteString(" 0 -20 Td ")
				c.Write(Marshal(nil, String(l)))
				c.WriteString(" Tj")
			}
		}
		c.WriteString(" ET\n")
		obj(fmt.Sprintf("<</Length %d>>\nstream\n%s\nendstream", c.Len(), c.String()))
		if o.Padding > 0 {
			offsets = append(offsets, off)
			write(fmt.Sprintf("%d 0 obj\n<</Type /XObject /Subtype /Form /BBox [0 0 1 1] /Length %d>>\nstream\n", len(offsets), o.Padding))
			line := strings.Repeat("% padding padding padding padding padding padding padding padd\n", 1024)
			for left := o.Padding; left > 0; {
				n := min(left, int64(len(line)))
				write(line[:n])
				left -= n
			}
			write("\nendstream\nendobj\n")
		}
	}
	xref := off
	write(fmt.Sprintf("xref\n0 %d\n0000000000 65535 f\r\n", len(offsets)+1))
	for _, o := range offsets {
		write(fmt.Sprintf("%010d 00000 n\r\n", o))
	}
	write(fmt.Sprintf("trailer\n<</Size %d /Root 1 0 R /Info 4 0 R>>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref))
	return bw.Flush()
}
