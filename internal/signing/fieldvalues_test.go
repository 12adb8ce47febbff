package signing

import (
	"errors"
	"math"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/workflow"
)

// fuzzFields are the recipient's fields the fuzzed values are matched
// against: one of each kind, the signature and the text required.
var fuzzFields = []workflow.Field{
	{ID: "fld_s", DocumentID: "doc_1", Kind: workflow.FieldSignature, Page: 1, X: 10, Y: 20, W: 100, H: 30, Required: true},
	{ID: "fld_i", DocumentID: "doc_1", Kind: workflow.FieldInitials, Page: 1, X: 10, Y: 60, W: 40, H: 30},
	{ID: "fld_d", DocumentID: "doc_2", Kind: workflow.FieldDate, Page: 2, X: 10, Y: 20, W: 100, H: 30},
	{ID: "fld_t", DocumentID: "doc_2", Kind: workflow.FieldText, Page: 1, X: 10, Y: 60, W: 200, H: 30, Required: true},
}

// FuzzFieldValues feeds arbitrary sign request bodies through the
// decoder of POST /v1/recipient/sign (strict JSON, then
// checkFieldValues) and matches what it accepts with the recipient's
// fields (fillFields). Properties: it never panics; every refusal is a
// 422 problem; what is accepted keeps every budget, and yields one
// widget per filled field, in its field's box, with points in [0, 1], the
// date field dated by the server and every required field filled.
// Seeds: testdata/fuzz/FuzzFieldValues.
func FuzzFieldValues(f *testing.F) {
	f.Add([]byte(`{"fields":[{"id":"fld_s","strokes":[[[0.1,0.2],[0.3,0.4]]]},{"id":"fld_t","text":"Zürich"}]}`))
	at := time.Date(2026, 12, 6, 23, 59, 59, 0, time.FixedZone("X", -3600))
	f.Fuzz(func(t *testing.T, data []byte) {
		var req signRequest
		if err := api.UnmarshalStrict(data, &req); err != nil {
			return
		}
		if err := checkFieldValues(req.Fields); err != nil {
			var ae *api.Error
			if !errors.As(err, &ae) || ae.Kind != api.KindInvalid {
				t.Fatalf("checkFieldValues: %v, not a 422 problem", err)
			}
			return
		}
		points := 0
		for _, v := range req.Fields {
			if utf8.RuneCountInString(v.Text) > MaxFieldText || len(v.Strokes) > MaxStrokes {
				t.Fatalf("accepted %+v beyond the budgets", v)
			}
			for _, s := range v.Strokes {
				points += len(s)
			}
		}
		if points > MaxRequestPoints {
			t.Fatalf("accepted %d points", points)
		}
		fills, err := fillFields(fuzzFields, req.Fields, at)
		if err != nil {
			var ae *api.Error
			if !errors.As(err, &ae) || ae.Kind != api.KindInvalid {
				t.Fatalf("fillFields: %v, not a 422 problem", err)
			}
			return
		}
		filled := map[string]bool{}
		for _, fl := range fills {
			w, fd := fl.widget, fl.field
			if filled[fd.ID] {
				t.Fatalf("field %s filled twice", fd.ID)
			}
			filled[fd.ID] = true
			if w.Page != fd.Page || w.X != fd.X || w.Y != fd.Y || w.W != fd.W || w.H != fd.H {
				t.Fatalf("widget %+v outside its field %+v", w, fd)
			}
			if fd.Kind == workflow.FieldDate && (w.Text != "2026-12-07" || w.Strokes != nil) {
				t.Fatalf("date field shows %+v", w)
			}
			if w.Text == "" && len(w.Strokes) == 0 {
				t.Fatalf("empty widget %+v", w)
			}
			for _, s := range w.Strokes {
				for _, p := range s {
					if !(p.X >= 0 && p.X <= 1 && p.Y >= 0 && p.Y <= 1) || math.IsNaN(p.X) {
						t.Fatalf("point %+v outside the box", p)
					}
				}
			}
		}
		for _, fd := range fuzzFields {
			if fd.Required && !filled[fd.ID] {
				t.Fatalf("required field %s left empty", fd.ID)
			}
		}
	})
}

// TestFillFieldsDocumentPoints: the drawings of one document, which one
// signature shows, keep within pades.MaxWidgetPoints together; the same
// drawings on two documents are fine.
func TestFillFieldsDocumentPoints(t *testing.T) {
	drawing := func(id string, n int) FieldValue {
		s := make([][]float64, n)
		for i := range s {
			s[i] = []float64{0.5, 0.5}
		}
		return FieldValue{ID: id, Strokes: [][][]float64{s}}
	}
	fs := []workflow.Field{
		{ID: "a", DocumentID: "d1", Kind: workflow.FieldSignature, Page: 1, W: 10, H: 10},
		{ID: "b", DocumentID: "d1", Kind: workflow.FieldInitials, Page: 1, W: 10, H: 10},
		{ID: "c", DocumentID: "d2", Kind: workflow.FieldInitials, Page: 1, W: 10, H: 10},
	}
	at := time.Now()
	for _, tc := range []struct {
		name string
		vs   []FieldValue
		ok   bool
	}{
		{"two documents", []FieldValue{drawing("a", 4000), drawing("c", 4000)}, true},
		{"one document, at the limit", []FieldValue{drawing("a", 2048), drawing("b", 2048)}, true},
		{"one document, over", []FieldValue{drawing("a", 2048), drawing("b", 2049)}, false},
	} {
		if err := checkFieldValues(tc.vs); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		fills, err := fillFields(fs, tc.vs, at)
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("%s: %d widgets, %v", tc.name, len(fills), err)
		}
	}
}
