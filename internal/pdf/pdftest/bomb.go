// Package pdftest builds hostile PDF files for tests: documents that are
// well formed but cost a reader far more than their size.
package pdftest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
)

// Bomb returns a one-page PDF 1.7 document with a cross-reference stream
// and streams object streams (§7.5.7), each of which inflates to inflated
// bytes (at least 64): one small object, then spaces. The whole file is
// about inflated/1000 bytes per stream; 64 streams of 32 MiB make a file
// of about 2 MB that decompresses to 2 GiB.
//
// Every object stream holds the same object, <</Pad true>>; see
// [ObjectStreams].
func Bomb(streams, inflated int) []byte {
	return ObjectStreams(streams, inflated, "<</Pad true>>")
}

// ObjectStreams returns a one-page PDF 1.7 document with a
// cross-reference stream and streams object streams (§7.5.7), each of
// which holds object, in PDF syntax, padded with spaces to inflated bytes.
// Every object stream has the same content (so it is compressed once):
// its header names the object 999999, which no cross-reference entry
// names; the entries of objects 4+streams+i point into object stream 4+i.
func ObjectStreams(streams, inflated int, object string) []byte {
	const header = "999999 0 "
	inflated = max(inflated, len(header)+len(object))
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.DefaultCompression)
	zw.Write([]byte(header + object))
	spaces := bytes.Repeat([]byte{' '}, 64<<10)
	for left := inflated - len(header) - len(object); left > 0; {
		n := min(left, len(spaces))
		zw.Write(spaces[:n])
		left -= n
	}
	zw.Close()
	body := z.Bytes()

	var b bytes.Buffer
	var offsets []int // offsets[i] is the offset of object i+1
	obj := func(s string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), s)
	}
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	obj("<</Type /Catalog /Pages 2 0 R>>")
	obj("<</Type /Pages /Count 1 /Kids [3 0 R]>>")
	obj("<</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]>>")
	for range streams {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n<</Type /ObjStm /N 1 /First %d /Filter /FlateDecode /Length %d>>\nstream\n", len(offsets), len(header), len(body))
		b.Write(body)
		b.WriteString("\nendstream\nendobj\n")
	}
	// The cross-reference stream: free object 0, objects 1..3+streams at
	// offsets, objects 4+streams.. compressed, then itself.
	xrefNum := 4 + 2*streams
	var rows bytes.Buffer
	row := func(typ byte, f2 uint32, f3 uint16) {
		rows.WriteByte(typ)
		binary.Write(&rows, binary.BigEndian, f2)
		binary.Write(&rows, binary.BigEndian, f3)
	}
	row(0, 0, 65535)
	for _, off := range offsets {
		row(1, uint32(off), 0)
	}
	for i := range streams {
		row(2, uint32(4+i), 0)
	}
	row(1, uint32(b.Len()), 0)
	xref := b.Len()
	fmt.Fprintf(&b, "%d 0 obj\n<</Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d>>\nstream\n", xrefNum, xrefNum+1, rows.Len())
	b.Write(rows.Bytes())
	fmt.Fprintf(&b, "\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n", xref)
	return b.Bytes()
}
