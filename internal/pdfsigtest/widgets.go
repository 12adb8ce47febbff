package pdfsigtest

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/signet-pki/signet/internal/pdf"
)

// WidgetRects returns the /Rect (lower-left x, y, upper-right x, y) of
// every widget on page 1 of the PDF b whose parent is a signature field:
// the filled fields that signatures show (pades.Options.Widgets).
func WidgetRects(t testing.TB, b []byte) [][4]float64 {
	t.Helper()
	r, err := pdf.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	_, page, err := r.Page(1)
	if err != nil {
		t.Fatal(err)
	}
	annots, _ := r.Resolve(page["Annots"])
	arr, _ := annots.(pdf.Array)
	var out [][4]float64
	for _, a := range arr {
		d, err := r.Dict(a)
		if err != nil || d.Name("Subtype") != "Widget" {
			continue
		}
		if parent, _ := r.Dict(d["Parent"]); parent.Name("FT") != "Sig" {
			continue
		}
		rect, _ := r.Resolve(d["Rect"])
		ra, _ := rect.(pdf.Array)
		var v [4]float64
		for i := range min(4, len(ra)) {
			o, _ := r.Resolve(ra[i])
			switch n := o.(type) {
			case pdf.Integer:
				v[i] = float64(n)
			case pdf.Real:
				if v[i], err = strconv.ParseFloat(string(n), 64); err != nil {
					t.Fatalf("widget /Rect %v: %v", ra, err)
				}
			}
		}
		out = append(out, v)
	}
	return out
}
