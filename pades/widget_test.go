package pades

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/pdf/pdftest"
)

// firstWidgets are the filled fields of a first signer on page 1 of an A4
// page: a typed date, a typed signature and a drawn one.
func firstWidgets() []Widget {
	return []Widget{
		{Page: 1, X: 72, Y: 600, W: 150, H: 30, Text: "2026-12-06"},
		{Page: 1, X: 72, Y: 500, W: 220, H: 40, Text: "Alice Signer", Script: true},
		{Page: 1, X: 320, Y: 500, W: 200, H: 60, Strokes: [][]Point{
			{{0.05, 0.8}, {0.2, 0.2}, {0.35, 0.75}, {0.5, 0.3}, {0.7, 0.7}, {0.95, 0.4}},
			{{0.6, 0.9}},
			{{-0.5, 2}, {1.5, -1}}, // clamped to the box
		}},
	}
}

// secondWidgets are a second signer's, on page 2.
func secondWidgets() []Widget {
	return []Widget{
		{Page: 2, X: 100, Y: 200, W: 180, H: 36, Text: "Bob Approver"},
		{Page: 2, X: 320, Y: 190, W: 160, H: 50, Strokes: [][]Point{{{0.1, 0.5}, {0.9, 0.5}}}},
	}
}

// TestSignWidgets signs a document with widgets, then signs it again with
// other widgets on another page, and checks both signatures with Verify,
// pdfsig and qpdf, the structure of the fields, and with pdftotext that
// the typed texts appear inside their boxes.
func TestSignWidgets(t *testing.T) {
	p := sharedPKI(t)
	for _, tc := range []struct {
		fixture string
		level   Level
		update  bool // SignUpdate, continuing a kept digest state
	}{
		{"classic.pdf", LevelBB, false},
		{"classic.pdf", LevelBT, false},
		{"xrefstream.pdf", LevelBT, false},
		{"xrefstream.pdf", LevelBT, true},
		{"incremental.pdf", LevelBB, false},
		{"linearized.pdf", LevelBB, true},
		{"ghostscript.pdf", LevelBB, false},
		{"cairo.pdf", LevelBB, false},
	} {
		name := tc.fixture + "/" + string(tc.level)
		if tc.update {
			name += "/SignUpdate"
		}
		t.Run(name, func(t *testing.T) {
			sign := signFile
			if tc.update {
				sign = func(t *testing.T, in string, o Options) string { return signUpdate(t, in, sha256Of, o) }
			}
			o := p.options(tc.level)
			o.Widgets = firstWidgets()
			one := sign(t, corpusPath(tc.fixture), o)
			o.Widgets = secondWidgets()
			two := sign(t, one, o)

			checkPdfsigFields(t, one, "Signature1")
			checkPdfsigFields(t, two, "Signature1", "Signature2")
			checkQpdf(t, two)
			rep := verifyFile(t, two, p.roots)
			requireValid(t, rep, 2)
			first := rep.Signatures[0]
			if c := findCheck(first, "changes-after-signing"); c == nil || c.Status != Passed {
				t.Errorf("first signature: changes-after-signing %+v", c)
			}
			if len(first.PermittedChanges) == 0 || len(first.Modifications) != 0 {
				t.Errorf("first signature: permitted %q, modifications %q", first.PermittedChanges, first.Modifications)
			}
			if rep.Signatures[1].Field != "Signature2" {
				t.Errorf("second signature's field %q", rep.Signatures[1].Field)
			}

			checkWidgetFields(t, two, map[string][]Widget{"Signature1": firstWidgets(), "Signature2": secondWidgets()})
			checkTextInBox(t, two, 1, "2026-12-06", firstWidgets()[0], 0)
			checkTextInBox(t, two, 1, "Alice", firstWidgets()[1], 0)
			checkTextInBox(t, two, 2, "Approver", secondWidgets()[0], 0)
		})
	}
}

// checkPdfsigFields runs poppler's pdfsig, which lists a signature once
// per widget of its field, and requires every listing valid and the
// listed fields to be names, in that order.
func checkPdfsigFields(t *testing.T, path string, names ...string) {
	t.Helper()
	out := pdftest.Tool(t, "pdfsig", path)
	blocks := strings.Split(out, "Signature #")[1:]
	var got []string
	for _, b := range blocks {
		m := regexp.MustCompile(`Signature Field Name: (\S+)`).FindStringSubmatch(b)
		if m == nil || !strings.Contains(b, "Signature Validation: Signature is Valid.") {
			t.Errorf("pdfsig: a signature that is not valid:\n%s", b)
			continue
		}
		if len(got) == 0 || got[len(got)-1] != m[1] {
			got = append(got, m[1])
		}
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Errorf("pdfsig lists the signatures of %q, want %q:\n%s", got, names, out)
	}
}

// TestWidgetsRotated signs pages shown rotated (/Rotate): the widgets'
// texts read upright, inside their boxes as the pages are shown.
func TestWidgetsRotated(t *testing.T) {
	p := sharedPKI(t)
	for _, rotate := range []int{90, 180, 270} {
		t.Run(strconv.Itoa(rotate), func(t *testing.T) {
			in := filepath.Join(t.TempDir(), "rotated.pdf")
			pdftest.Tool(t, "qpdf", corpusPath("classic.pdf"), "--rotate=+"+strconv.Itoa(rotate)+":1-2", in)
			o := p.options(LevelBB)
			o.Widgets = firstWidgets()
			out := signFile(t, in, o)
			checkPdfsigFields(t, out, "Signature1")
			checkQpdf(t, out)
			requireValid(t, verifyFile(t, out, p.roots), 1)
			checkTextInBox(t, out, 1, "2026-12-06", firstWidgets()[0], rotate)
			checkTextInBox(t, out, 1, "Alice", firstWidgets()[1], rotate)
		})
	}
}

// TestWidgetsChangedAfterSigning: the widgets of a signed signature field,
// and the field itself, are covered by its signature; a later revision
// that changes them is a modification, whoever signs it.
func TestWidgetsChangedAfterSigning(t *testing.T) {
	p := sharedPKI(t)
	o := p.options(LevelBB)
	o.Widgets = firstWidgets()
	withWidgets := signFile(t, corpusPath("classic.pdf"), o)
	o.Widgets = nil
	o.Visible = &Visible{Page: 1, X: 72, Y: 72, W: 200, H: 50}
	visible := signFile(t, corpusPath("classic.pdf"), o)

	// kid returns the i-th widget of the first signature field.
	kid := func(t *testing.T, r *pdf.Reader, i int) (pdf.Ref, pdf.Dict) {
		var ref pdf.Ref
		if err := scanFields(r, func(f formField) {
			if f.name == "Signature1" {
				kids, _ := r.Resolve(f.dict["Kids"])
				ref = kids.(pdf.Array)[i].(pdf.Ref)
			}
		}); err != nil {
			t.Fatal(err)
		}
		d, err := r.Dict(ref)
		if err != nil || d == nil {
			t.Fatalf("widget %d: %v", i, err)
		}
		return ref, d.Clone()
	}
	field := func(t *testing.T, r *pdf.Reader) (pdf.Ref, pdf.Dict) {
		var ref pdf.Ref
		var d pdf.Dict
		if err := scanFields(r, func(f formField) {
			if f.name == "Signature1" {
				ref, d = f.ref, f.dict.Clone()
			}
		}); err != nil {
			t.Fatal(err)
		}
		return ref, d
	}
	other := &pdf.Stream{Dict: pdf.Dict{"Type": pdf.Name("XObject"), "Subtype": pdf.Name("Form"),
		"BBox": pdf.Array{pdf.Integer(0), pdf.Integer(0), pdf.Integer(150), pdf.Integer(30)}},
		Data: []byte("BT /Helv 12 Tf 2 10 Td (1999-01-01) Tj ET")}
	for _, tc := range []struct {
		name    string
		base    string
		change  func(t *testing.T, r *pdf.Reader, u *pdf.Update)
		mention string
	}{
		{"a widget's appearance replaced", withWidgets, func(t *testing.T, r *pdf.Reader, u *pdf.Update) {
			ref, d := kid(t, r, 0)
			d["AP"] = pdf.Dict{"N": u.Add(other)}
			u.Set(ref, d)
		}, "/AP changed"},
		{"a widget's appearance stream rewritten", withWidgets, func(t *testing.T, r *pdf.Reader, u *pdf.Update) {
			_, d := kid(t, r, 0)
			ap, _ := r.Dict(d["AP"])
			u.Set(ap["N"].(pdf.Ref), other)
		}, "changed"},
		{"a widget moved", withWidgets, func(t *testing.T, r *pdf.Reader, u *pdf.Update) {
			ref, d := kid(t, r, 1)
			d["Rect"] = pdf.Array{pdf.Integer(0), pdf.Integer(0), pdf.Integer(10), pdf.Integer(10)}
			u.Set(ref, d)
		}, "/Rect changed"},
		{"a widget hidden", withWidgets, func(t *testing.T, r *pdf.Reader, u *pdf.Update) {
			ref, d := kid(t, r, 2)
			d["F"] = pdf.Integer(2)
			u.Set(ref, d)
		}, "/F changed"},
		{"a widget dropped from the field", withWidgets, func(t *testing.T, r *pdf.Reader, u *pdf.Update) {
			ref, d := field(t, r)
			d["Kids"] = d["Kids"].(pdf.Array)[:2]
			u.Set(ref, d)
		}, "/Kids changed"},
		{"a widget dropped from the page", withWidgets, func(t *testing.T, r *pdf.Reader, u *pdf.Update) {
			setAnnots(t, r, u, 1)
		}, "annotations changed"},
		{"a visible signature's appearance replaced", visible, func(t *testing.T, r *pdf.Reader, u *pdf.Update) {
			ref, d := field(t, r)
			d["AP"] = pdf.Dict{"N": u.Add(other)}
			u.Set(ref, d)
		}, "/AP changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edited := appendRevision(t, tc.base, func(r *pdf.Reader, u *pdf.Update) { tc.change(t, r, u) })
			s := verifyFile(t, edited, p.roots).Signatures[0]
			if s.Indication != TotalFailed || s.SubIndication != ModifiedAfterSigning {
				t.Fatalf("got %s/%s, modifications %q; want MODIFIED_AFTER_SIGNING", s.Indication, s.SubIndication, s.Modifications)
			}
			if !strings.Contains(strings.Join(s.Modifications, "; "), tc.mention) {
				t.Errorf("modifications %q do not mention %q", s.Modifications, tc.mention)
			}
		})
	}
}

// TestWidgetsCertified: a certification with DocMDP P=2 may show widgets,
// and a later approval signature's widgets are permitted changes for it.
func TestWidgetsCertified(t *testing.T) {
	p := sharedPKI(t)
	o := p.options(LevelBB)
	o.Certify = 2
	o.Widgets = firstWidgets()
	one := signFile(t, corpusPath("classic.pdf"), o)
	o = p.options(LevelBB)
	o.Widgets = secondWidgets()
	two := signFile(t, one, o)
	rep := verifyFile(t, two, p.roots)
	requireValid(t, rep, 2)
	if s := rep.Signatures[0]; s.Kind != "certification" || s.DocMDP != 2 || len(s.Modifications) != 0 {
		t.Errorf("certification: kind %s, P=%d, modifications %q", s.Kind, s.DocMDP, s.Modifications)
	}
	checkPdfsigFields(t, two, "Signature1", "Signature2")
	checkQpdf(t, two)
}

func findCheck(s *SignatureReport, name string) *Check {
	for i := range s.Checks {
		if s.Checks[i].Name == name {
			return &s.Checks[i]
		}
	}
	return nil
}

// checkWidgetFields requires each named signature field to be listed in
// /Fields, signed, and to have one kid per widget: a widget annotation
// with the field as /Parent, on its page's /Annots and as its /P, with
// the widget's /Rect, flags Print|Locked and an appearance stream.
func checkWidgetFields(t *testing.T, path string, want map[string][]Widget) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pdf.Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]int{}
	err = scanFields(r, func(f formField) {
		ws, ok := want[f.name]
		if !ok {
			return
		}
		if found[f.name]++; found[f.name] > 1 {
			t.Errorf("%s found %d times", f.name, found[f.name])
			return
		}
		if !f.inForm || f.dict.Name("FT") != "Sig" || f.dict["V"] == nil {
			t.Errorf("%s: in /Fields %v, /FT %v, /V %v", f.name, f.inForm, f.dict["FT"], f.dict["V"])
		}
		kids, _ := r.Resolve(f.dict["Kids"])
		arr, _ := kids.(pdf.Array)
		if len(arr) != len(ws) {
			t.Fatalf("%s: %d kids, want %d", f.name, len(arr), len(ws))
		}
		for i, k := range arr {
			kd, err := r.Dict(k)
			if err != nil || kd == nil {
				t.Fatalf("%s: kid %d: %v", f.name, i, err)
			}
			w := ws[i]
			pageRef, page, err := r.Page(w.Page)
			if err != nil {
				t.Fatal(err)
			}
			if kd.Name("Subtype") != "Widget" || kd["Parent"] != f.ref || kd["P"] != pageRef || kd["T"] != nil {
				t.Errorf("%s: kid %d: /Subtype %v /Parent %v /P %v /T %v", f.name, i, kd["Subtype"], kd["Parent"], kd["P"], kd["T"])
			}
			if flags, _ := kd.Int("F"); flags != 132 {
				t.Errorf("%s: kid %d: /F %d, want 132", f.name, i, flags)
			}
			rect := rectangle(r, kd["Rect"])
			if rect == nil || *rect != [4]float64{w.X, w.Y, w.X + w.W, w.Y + w.H} {
				t.Errorf("%s: kid %d: /Rect %v", f.name, i, kd["Rect"])
			}
			ap, _ := r.Dict(kd["AP"])
			if n, _ := r.Resolve(ap["N"]); n == nil {
				t.Errorf("%s: kid %d: no appearance", f.name, i)
			} else if s, ok := n.(*pdf.Stream); !ok || s.Dict.Name("Subtype") != "Form" {
				t.Errorf("%s: kid %d: appearance %T", f.name, i, n)
			}
			annots, _ := r.Resolve(page["Annots"])
			onPage := false
			for _, a := range annots.(pdf.Array) {
				onPage = onPage || a == k
			}
			if !onPage {
				t.Errorf("%s: kid %d is not in page %d's /Annots", f.name, i, w.Page)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range want {
		if found[name] == 0 {
			t.Errorf("field %s not found", name)
		}
	}
}

var bboxWord = regexp.MustCompile(`<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>`)

// checkTextInBox requires pdftotext to find word on page, upright and
// inside the box of w as the page is shown, rotated by rotate degrees
// clockwise (pdftotext measures from the top-left corner of the page as
// shown).
func checkTextInBox(t *testing.T, path string, page int, word string, w Widget, rotate int) {
	t.Helper()
	n := strconv.Itoa(page)
	out := pdftest.Tool(t, "pdftotext", "-bbox", "-f", n, "-l", n, path, "-")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pdf.Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	_, pd, err := r.Page(page)
	if err != nil {
		t.Fatal(err)
	}
	box, err := pageBox(r, pd)
	if err != nil {
		t.Fatal(err)
	}
	// The box as shown: from the top-left corner of the visible area.
	var want [4]float64
	switch rotate {
	case 0:
		want = [4]float64{w.X - box[0], box[3] - w.Y - w.H, w.X + w.W - box[0], box[3] - w.Y}
	case 90:
		want = [4]float64{w.Y - box[1], w.X - box[0], w.Y + w.H - box[1], w.X + w.W - box[0]}
	case 180:
		want = [4]float64{box[2] - w.X - w.W, w.Y - box[1], box[2] - w.X, w.Y + w.H - box[1]}
	case 270:
		want = [4]float64{box[3] - w.Y - w.H, box[2] - w.X - w.W, box[3] - w.Y, box[2] - w.X}
	}
	for _, m := range bboxWord.FindAllStringSubmatch(out, -1) {
		if m[5] != word {
			continue
		}
		var v [4]float64
		for i := range v {
			v[i], _ = strconv.ParseFloat(m[i+1], 64)
		}
		const tol = 1.5
		if v[0] < want[0]-tol || v[1] < want[1]-tol || v[2] > want[2]+tol || v[3] > want[3]+tol {
			t.Errorf("%q on page %d at %v (from the top), outside the box %v as shown", word, page, v, want)
		}
		if v[2]-v[0] <= v[3]-v[1] {
			t.Errorf("%q on page %d at %v is not upright", word, page, v)
		}
		return
	}
	t.Errorf("pdftotext does not find %q on page %d:\n%s", word, page, out)
}

// TestWidgetErrors: widgets that cannot be placed are refused with
// ErrInvalidWidget and a message naming the problem.
func TestWidgetErrors(t *testing.T) {
	p := sharedPKI(t)
	data, err := os.ReadFile(corpusPath("classic.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	ok := Widget{Page: 1, X: 72, Y: 72, W: 100, H: 30, Text: "x"}
	with := func(mod func(*Widget)) []Widget {
		w := ok
		mod(&w)
		return []Widget{w}
	}
	many := make([]Widget, MaxWidgets+1)
	for i := range many {
		many[i] = ok
	}
	line := make([]Point, MaxWidgetPoints/2+1)
	for _, tc := range []struct {
		name    string
		widgets []Widget
		visible *Visible
		want    string
	}{
		{"page 0", with(func(w *Widget) { w.Page = 0 }), nil, "page 0 does not exist"},
		{"missing page", with(func(w *Widget) { w.Page = 3 }), nil, "page 3 does not exist"},
		{"negative width", with(func(w *Widget) { w.W = -5 }), nil, "positive width and height"},
		{"zero height", with(func(w *Widget) { w.H = 0 }), nil, "positive width and height"},
		{"not a number", with(func(w *Widget) { w.X = math.NaN() }), nil, "not a finite number"},
		{"left of the page", with(func(w *Widget) { w.X = -10 }), nil, "is not inside page 1 [0 0 595 842]"},
		{"above the page", with(func(w *Widget) { w.Y = 830 }), nil, "is not inside page 1"},
		{"wider than the page", with(func(w *Widget) { w.W = 600 }), nil, "is not inside page 1"},
		{"empty", with(func(w *Widget) { w.Text = "  " }), nil, "neither text nor strokes"},
		{"long text", with(func(w *Widget) { w.Text = strings.Repeat("é", MaxWidgetText+1) }), nil, "257 characters of text, at most 256"},
		{"too many widgets", many, nil, "65 widgets, at most 64"},
		{"too many points", []Widget{
			{Page: 1, X: 72, Y: 72, W: 100, H: 30, Strokes: [][]Point{line}},
			{Page: 2, X: 72, Y: 72, W: 100, H: 30, Strokes: [][]Point{line}},
		}, nil, "more than 4096 stroke points"},
		{"too many empty strokes", with(func(w *Widget) { w.Strokes = make([][]Point, MaxWidgetPoints+1) }), nil, "more than 4096 stroke points"},
		{"point not a number", with(func(w *Widget) { w.Strokes = [][]Point{{{0.5, math.Inf(1)}}} }), nil, "stroke point is not a finite number"},
		{"with Visible", []Widget{ok}, &Visible{Page: 1, X: 72, Y: 72, W: 100, H: 30}, "not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := p.options(LevelBB)
			o.Widgets = tc.widgets
			o.Visible = tc.visible
			var out bytes.Buffer
			err := Sign(context.Background(), &out, bytes.NewReader(data), int64(len(data)), o)
			if !errors.Is(err, ErrInvalidWidget) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Sign: %v, want ErrInvalidWidget with %q", err, tc.want)
			}
		})
	}
	// The limits themselves are accepted.
	o := p.options(LevelBB)
	full := make([]Widget, MaxWidgets)
	for i := range full {
		full[i] = Widget{Page: 1 + i%2, X: -0.5, Y: 0, W: 595.5, H: 842, Text: strings.Repeat("W", MaxWidgetText)}
	}
	full[0].Text = ""
	full[0].Strokes = [][]Point{make([]Point, MaxWidgetPoints)}
	o.Widgets = full
	var out bytes.Buffer
	if err := Sign(context.Background(), &out, bytes.NewReader(data), int64(len(data)), o); err != nil {
		t.Fatalf("Sign at the limits: %v", err)
	}
}

// TestWidgetAppearance checks the appearance streams' drawing operators:
// fonts, text size fitted to the box, clamped and flipped stroke points,
// and that the output is deterministic.
func TestWidgetAppearance(t *testing.T) {
	for _, tc := range []struct {
		name string
		w    Widget
		want []string // substrings of the content stream
		font pdf.Name
	}{
		{
			name: "typed text fits the height",
			w:    Widget{W: 200, H: 20, Text: "Hi"},
			want: []string{"q 0 0 200 20 re W n\n", "/F1 14 Tf 0.1 0.1 0.1 rg", "(Hi) Tj"},
			font: "Helvetica",
		},
		{
			name: "long text shrinks to the width",
			// 20 × "W" is 20 × 944/1000 em; the width less 2 × 4 padding is 192.
			w:    Widget{W: 200, H: 40, Text: strings.Repeat("W", 20)},
			want: []string{"/F1 10.169 Tf", "1 0 0 1 4 "},
			font: "Helvetica",
		},
		{
			name: "script in dark blue",
			w:    Widget{W: 200, H: 40, Text: "Zoë (Ł)", Script: true},
			want: []string{"/F1 28 Tf 0.08 0.16 0.47 rg", `(Zo\353 \(L\)) Tj`},
			font: "Times-Italic",
		},
		{
			name: "strokes flipped, clamped and inset",
			// pen 0.04 × 50 = 2; x = 1 + f × 98, y = 1 + (1 - f) × 48
			w:    Widget{W: 100, H: 50, Text: "ignored", Strokes: [][]Point{{{0, 0}, {1, 1}}, {{0.5, 0.5}}, {{-1, 2}}}},
			want: []string{"0.08 0.16 0.47 RG 2 w 1 J 1 j\n", "1 49 m 99 1 l S\n", "50 25 m 50 25 l S\n", "1 1 m 1 1 l S\n"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := widgetAppearance(tc.w, 0)
			got := string(s.Data)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("appearance lacks %q:\n%s", w, got)
				}
			}
			res, _ := s.Dict["Resources"].(pdf.Dict)
			fonts, _ := res["Font"].(pdf.Dict)
			f1, _ := fonts["F1"].(pdf.Dict)
			if f1.Name("BaseFont") != tc.font {
				t.Errorf("font %v, want %q", f1["BaseFont"], tc.font)
			}
			if tc.font == "" && strings.Contains(got, "Tj") {
				t.Errorf("a drawing shows text:\n%s", got)
			}
			if again := widgetAppearance(tc.w, 0); !bytes.Equal(again.Data, s.Data) {
				t.Errorf("appearance differs between runs")
			}
		})
	}
}
