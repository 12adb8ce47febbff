// Package pdftest builds hostile PDF files for tests: documents that are
// well formed but cost a reader far more than their size.
package pdftest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"strings"
)

// Bomb returns a one-page PDF 1.7 document with a cross-reference stream
// and streams object streams (§7.5.7), each of which inflates to inflated
// bytes: see [ObjectStreams]. The whole file is about inflated/1000 bytes
// per stream; 64 streams of 32 MiB make a file of about 2 MB that
// decompresses to 2 GiB. Every stream is reachable from the catalog, as a
// form field.
func Bomb(streams, inflated int) []byte {
	return ObjectStreams(streams, inflated, "<</FT /Tx /T (pad)>>", "null")
}

// ObjectStreams returns a one-page PDF 1.7 document with a
// cross-reference stream and streams object streams (§7.5.7), each padded
// with spaces to inflated bytes (at least its objects' size). Each holds
// two objects, listed and unlisted, in PDF syntax. The cross-reference
// entry of object 4+streams+i points to listed in object stream 4+i, and
// the catalog's /AcroForm /Fields array refers to each of them; unlisted,
// object 999999 in every stream's header, has no cross-reference entry.
// Every object stream has the same content, so it is compressed once.
func ObjectStreams(streams, inflated int, listed, unlisted string) []byte {
	header := fmt.Sprintf("999998 0 999999 %d ", len(listed)+1)
	objects := listed + " " + unlisted
	inflated = max(inflated, len(header)+len(objects))
	var z bytes.Buffer
	zw, _ := zlib.NewWriterLevel(&z, zlib.DefaultCompression)
	zw.Write([]byte(header + objects))
	spaces := bytes.Repeat([]byte{' '}, 64<<10)
	for left := inflated - len(header) - len(objects); left > 0; {
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
	fields := make([]string, streams)
	for i := range fields {
		fields[i] = fmt.Sprintf("%d 0 R", 4+streams+i)
	}
	obj(fmt.Sprintf("<</Type /Catalog /Pages 2 0 R /AcroForm <</Fields [%s]>>>>", strings.Join(fields, " ")))
	obj("<</Type /Pages /Count 1 /Kids [3 0 R]>>")
	obj("<</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]>>")
	for range streams {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n<</Type /ObjStm /N 2 /First %d /Filter /FlateDecode /Length %d>>\nstream\n", len(offsets), len(header), len(body))
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
