package workflow

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/pdf/pdftest"
)

// FuzzCheckPDF feeds arbitrary bytes to the upload check. Property: it
// never panics, every refusal is one of the upload problems, and an
// accepted file has at least one page and is accepted again identically.
// Seeds: a sample, every hostile and benign test document, and a small
// decompression bomb.
func FuzzCheckPDF(f *testing.F) {
	var b bytes.Buffer
	pdf.WriteSample(&b, pdf.SampleOptions{Pages: 2, Title: "seed"})
	f.Add(b.Bytes())
	f.Add([]byte("%PDF-1.7\n"))
	for _, h := range HostilePDFs(f) {
		f.Add(h.Data)
	}
	benign := BenignPDFs(f)
	for _, name := range slices.Sorted(maps.Keys(benign)) {
		f.Add(benign[name])
	}
	f.Add(pdftest.Bomb(8, 1<<20))
	const budget = 4 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := checkPDF(bytes.NewReader(data), int64(len(data)), budget)
		if err != nil {
			for _, want := range []error{ErrNotPDF, ErrMalformedPDF, ErrEncryptedPDF, ErrActiveContent, ErrDecodeBudget, ErrCertifiedPDF} {
				if errors.Is(err, want) {
					return
				}
			}
			t.Fatalf("unexpected refusal: %v", err)
		}
		if info.Pages < 1 {
			t.Fatalf("accepted with %d pages", info.Pages)
		}
		again, err := checkPDF(bytes.NewReader(data), int64(len(data)), budget)
		if err != nil || again != info {
			t.Fatalf("second check differs: %+v %v", again, err)
		}
	})
}

// FuzzCursor checks that list cursors round-trip and that decoding any
// string either fails cleanly or yields a cursor that encodes back to it.
func FuzzCursor(f *testing.F) {
	f.Add("djE6MTcwMDAwMDAwMDAwMDAwMDAwMDplbnZfYWJj", int64(1700000000000000000), "env_abc")
	f.Add("", int64(0), "x")
	f.Fuzz(func(t *testing.T, c string, ns int64, id string) {
		if tm, gotID, err := decodeCursor(c); err == nil {
			if encodeCursor(tm, gotID) != c {
				t.Fatalf("cursor %q decodes to (%v, %q) which encodes differently", c, tm, gotID)
			}
		} else if !errors.Is(err, ErrInvalid) {
			t.Fatalf("decode error is not ErrInvalid: %v", err)
		}
		if id == "" {
			return
		}
		tm := time.Unix(0, ns).UTC()
		enc := encodeCursor(tm, id)
		if len(enc) > 200 {
			return
		}
		gotT, gotID, err := decodeCursor(enc)
		if err != nil || !gotT.Equal(tm) || gotID != id {
			t.Fatalf("round trip of (%v, %q): (%v, %q, %v)", tm, id, gotT, gotID, err)
		}
	})
}
