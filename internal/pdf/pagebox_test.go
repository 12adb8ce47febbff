package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

// buildPDF returns a PDF whose objects 1.. are bodies (object 1 the
// catalog), with a classic cross-reference table.
func buildPDF(bodies ...string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	offs := make([]int, len(bodies))
	for i, body := range bodies {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, body)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(bodies)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<</Size %d /Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n", len(bodies)+1, xref)
	return b.Bytes()
}

func TestPageBoxes(t *testing.T) {
	tests := []struct {
		name   string
		pdf    []byte
		max    int
		want   []PageBox
		err    error // errors.Is target, or nil with wantErr
		failed bool
	}{{
		name: "media box on the page",
		pdf: buildPDF("<</Type /Catalog /Pages 2 0 R>>", "<</Type /Pages /Count 1 /Kids [3 0 R]>>",
			"<</Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]>>"),
		max: 10, want: []PageBox{{Right: 612, Top: 792}},
	}, {
		name: "inherited media box, crop box and rotation; reversed corners and reals",
		pdf: buildPDF("<</Type /Catalog /Pages 2 0 R>>",
			"<</Type /Pages /Count 3 /Kids [3 0 R 4 0 R] /MediaBox [0 0 595.5 842] /Rotate 90>>",
			"<</Type /Page /Parent 2 0 R /CropBox [500 800 10 20]>>",
			"<</Type /Pages /Parent 2 0 R /Count 2 /Kids [5 0 R 6 0 R] /Rotate -90 /MediaBox 7 0 R>>",
			"<</Type /Page /Parent 4 0 R>>",
			"<</Type /Page /Parent 4 0 R /Rotate 540 /CropBox [-50 -50 2000 2000]>>",
			"[100 100 400 500]"),
		max: 10,
		want: []PageBox{
			{Left: 10, Bottom: 20, Right: 500, Top: 800, Rotate: 90},
			{Left: 100, Bottom: 100, Right: 400, Top: 500, Rotate: 270},
			{Left: 100, Bottom: 100, Right: 400, Top: 500, Rotate: 180},
		},
	}, {
		name: "crop box outside the media box is ignored",
		pdf: buildPDF("<</Type /Catalog /Pages 2 0 R>>", "<</Type /Pages /Count 1 /Kids [3 0 R]>>",
			"<</Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] /CropBox [200 200 300 300]>>"),
		max: 10, want: []PageBox{{Right: 100, Top: 100}},
	}, {
		name: "too many pages",
		pdf: buildPDF("<</Type /Catalog /Pages 2 0 R>>", "<</Type /Pages /Count 2 /Kids [3 0 R 4 0 R]>>",
			"<</Type /Page /MediaBox [0 0 1 1]>>", "<</Type /Page /MediaBox [0 0 1 1]>>"),
		max: 1, err: ErrPageLimit,
	}, {
		name: "loop",
		pdf:  buildPDF("<</Type /Catalog /Pages 2 0 R>>", "<</Type /Pages /Count 1 /Kids [2 0 R] /MediaBox [0 0 1 1]>>"),
		max:  10, failed: true,
	}, {
		name: "no media box",
		pdf:  buildPDF("<</Type /Catalog /Pages 2 0 R>>", "<</Type /Pages /Count 1 /Kids [3 0 R]>>", "<</Type /Page>>"),
		max:  10, failed: true,
	}, {
		name: "empty media box",
		pdf: buildPDF("<</Type /Catalog /Pages 2 0 R>>", "<</Type /Pages /Count 1 /Kids [3 0 R]>>",
			"<</Type /Page /MediaBox [0 0 0 792]>>"),
		max: 10, failed: true,
	}, {
		name: "huge media box",
		pdf: buildPDF("<</Type /Catalog /Pages 2 0 R>>", "<</Type /Pages /Count 1 /Kids [3 0 R]>>",
			"<</Type /Page /MediaBox [0 0 1e30 792]>>"),
		max: 10, failed: true,
	}, {
		name: "bad rotation",
		pdf: buildPDF("<</Type /Catalog /Pages 2 0 R>>", "<</Type /Pages /Count 1 /Kids [3 0 R]>>",
			"<</Type /Page /MediaBox [0 0 1 1] /Rotate 45>>"),
		max: 10, failed: true,
	}, {
		name: "missing kid",
		pdf:  buildPDF("<</Type /Catalog /Pages 2 0 R>>", "<</Type /Pages /Count 1 /Kids [9 0 R] /MediaBox [0 0 1 1]>>"),
		max:  10, failed: true,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Open(bytes.NewReader(tc.pdf), int64(len(tc.pdf)))
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.PageBoxes(tc.max)
			switch {
			case tc.err != nil || tc.failed:
				if err == nil || (tc.err != nil && !errors.Is(err, tc.err)) {
					t.Fatalf("PageBoxes = %v, %v; want error %v", got, err, tc.err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("PageBoxes = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPageBoxesSample(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSample(&b, SampleOptions{Pages: 3}); err != nil {
		t.Fatal(err)
	}
	r, err := Open(bytes.NewReader(b.Bytes()), int64(b.Len()))
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.PageBoxes(100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[2].Width() != 595 || got[2].Height() != 842 {
		t.Errorf("PageBoxes = %v, want 3 A4 pages", got)
	}
}
