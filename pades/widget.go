package pades

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/signet-pki/signet/internal/pdf"
)

// Bounds of the widgets of one signature ([Options.Widgets]).
const (
	// MaxWidgets is the most widgets one signature shows.
	MaxWidgets = 64
	// MaxWidgetPoints is the most stroke points of all the widgets of one
	// signature together; a stroke without points counts as one.
	MaxWidgetPoints = 4096
	// MaxWidgetText is the most characters (Unicode code points) of one
	// widget's Text.
	MaxWidgetText = 256
)

// ErrInvalidWidget wraps every error about [Options.Widgets]: a widget on
// a page the document lacks, outside its page, empty, too large a text or
// drawing, too many widgets, or widgets together with [Options.Visible].
var ErrInvalidWidget = errors.New("pades: invalid widget")

// boxTolerance is how far, in points, a widget's box may reach past its
// page's visible area (rounding in the caller's coordinates).
const boxTolerance = 1.0

// validateWidgets checks what can be checked of the widgets without the
// document.
func (o *Options) validateWidgets() error {
	ws := o.Widgets
	if len(ws) == 0 {
		return nil
	}
	if o.Visible != nil {
		return fmt.Errorf("%w: a signature has either a visible appearance or widgets, not both", ErrInvalidWidget)
	}
	if len(ws) > MaxWidgets {
		return fmt.Errorf("%w: %d widgets, at most %d", ErrInvalidWidget, len(ws), MaxWidgets)
	}
	points := 0
	for i, w := range ws {
		if w.Page < 1 {
			return fmt.Errorf("%w: widget %d: page %d does not exist", ErrInvalidWidget, i+1, w.Page)
		}
		if !finite(w.X, w.Y, w.W, w.H) {
			return fmt.Errorf("%w: widget %d: its box is not a finite number of points", ErrInvalidWidget, i+1)
		}
		if w.W <= 0 || w.H <= 0 {
			return fmt.Errorf("%w: widget %d: needs a positive width and height, not %s x %s", ErrInvalidWidget, i+1, fmtNum(w.W), fmtNum(w.H))
		}
		if n := utf8.RuneCountInString(w.Text); n > MaxWidgetText {
			return fmt.Errorf("%w: widget %d: %d characters of text, at most %d", ErrInvalidWidget, i+1, n, MaxWidgetText)
		}
		drawn := 0
		for _, s := range w.Strokes {
			points += max(len(s), 1)
			drawn += len(s)
			for _, p := range s {
				if !finite(p.X, p.Y) {
					return fmt.Errorf("%w: widget %d: a stroke point is not a finite number", ErrInvalidWidget, i+1)
				}
			}
		}
		if points > MaxWidgetPoints {
			return fmt.Errorf("%w: more than %d stroke points in all", ErrInvalidWidget, MaxWidgetPoints)
		}
		if drawn == 0 && len(bytes.TrimSpace(pdf.WinAnsi(w.Text))) == 0 {
			return fmt.Errorf("%w: widget %d: has neither text nor strokes", ErrInvalidWidget, i+1)
		}
	}
	return nil
}

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

func fmtNum(v float64) string { return string(pdfReal(v)) }

// addWidgetField adds the signature field sigRef belongs to as a field
// whose kids are one widget annotation per widget, each with its own
// appearance and on its page's /Annots. It returns the field and the
// pages it changed.
//
// Each widget repeats the field's /V. /V is inheritable (§12.7.3.1), so
// the copy changes nothing for readers that take the kids as widgets of
// the field; poppler takes a kid with a /Parent for a nameless child field
// (a representation of the same field, §12.7.3.2) and reads /V only from
// it, so without the copy pdfsig would list each widget as an unsigned
// signature field. With it, pdfsig lists the signature once per widget,
// each time valid.
func addWidgetField(r *pdf.Reader, upd *pdf.Update, name string, sigRef pdf.Ref, ws []Widget) (pdf.Ref, []pdf.Ref, error) {
	fieldRef := upd.Reserve()
	kids := make(pdf.Array, 0, len(ws))
	var pages []pdf.Ref
	seen := map[pdf.Ref]bool{}
	for i, w := range ws {
		pageRef, page, err := r.Page(w.Page)
		if err != nil {
			return pdf.Ref{}, nil, fmt.Errorf("%w: widget %d: %v", ErrInvalidWidget, i+1, err)
		}
		box, err := pageBox(r, page)
		if err != nil {
			return pdf.Ref{}, nil, fmt.Errorf("pades: page %d: %w", w.Page, err)
		}
		if w.X < box[0]-boxTolerance || w.Y < box[1]-boxTolerance ||
			w.X+w.W > box[2]+boxTolerance || w.Y+w.H > box[3]+boxTolerance {
			return pdf.Ref{}, nil, fmt.Errorf("%w: widget %d: the box [%s %s %s %s] is not inside page %d [%s %s %s %s]",
				ErrInvalidWidget, i+1, fmtNum(w.X), fmtNum(w.Y), fmtNum(w.X+w.W), fmtNum(w.Y+w.H), w.Page,
				fmtNum(box[0]), fmtNum(box[1]), fmtNum(box[2]), fmtNum(box[3]))
		}
		rotate, err := pageRotation(r, page)
		if err != nil {
			return pdf.Ref{}, nil, fmt.Errorf("pades: page %d: %w", w.Page, err)
		}
		annot := pdf.Dict{
			"Type":    pdf.Name("Annot"),
			"Subtype": pdf.Name("Widget"),
			"Parent":  fieldRef,
			"V":       sigRef,
			"P":       pageRef,
			"Rect":    pdf.Array{pdfReal(w.X), pdfReal(w.Y), pdfReal(w.X + w.W), pdfReal(w.Y + w.H)},
			"F":       pdf.Integer(132), // Print | Locked
			"AP":      pdf.Dict{"N": upd.Add(widgetAppearance(w, rotate))},
		}
		if rotate != 0 {
			annot["MK"] = pdf.Dict{"R": pdf.Integer(rotate)}
		}
		annotRef := upd.Add(annot)
		if err := addAnnot(upd, pageRef, annotRef); err != nil {
			return pdf.Ref{}, nil, err
		}
		kids = append(kids, annotRef)
		if !seen[pageRef] {
			seen[pageRef] = true
			pages = append(pages, pageRef)
		}
	}
	upd.Set(fieldRef, pdf.Dict{
		"FT":   pdf.Name("Sig"),
		"T":    textString(name),
		"V":    sigRef,
		"Kids": kids,
	})
	return fieldRef, pages, nil
}

// addAnnot appends annot to the /Annots of the page pageRef, as this
// update has the page: an array direct in the page, or an indirect one.
func addAnnot(upd *pdf.Update, pageRef, annot pdf.Ref) error {
	o, err := upd.Get(pageRef)
	if err != nil {
		return fmt.Errorf("pades: reading page object %d: %w", pageRef.Num, err)
	}
	page, ok := o.(pdf.Dict)
	if !ok {
		return fmt.Errorf("pades: page object %d is not a dictionary", pageRef.Num)
	}
	if a, ok := page["Annots"].(pdf.Ref); ok {
		cur, err := upd.Get(a)
		if err != nil {
			return fmt.Errorf("pades: reading /Annots: %w", err)
		}
		arr, _ := cur.(pdf.Array)
		upd.Set(a, append(append(pdf.Array{}, arr...), annot))
		return nil
	}
	arr, _ := page["Annots"].(pdf.Array)
	p := page.Clone()
	p["Annots"] = append(append(pdf.Array{}, arr...), annot)
	upd.Set(pageRef, p)
	return nil
}

// pageBox returns the visible area of a page (§14.11.2): its CropBox
// clipped to its MediaBox, both inherited from the page tree, as lower-left
// x, y and upper-right x, y.
func pageBox(r *pdf.Reader, page pdf.Dict) ([4]float64, error) {
	var media, crop *[4]float64
	d := page
	for depth := 0; d != nil && depth <= maxPageTreeDepth; depth++ {
		if media == nil {
			media = rectangle(r, d["MediaBox"])
		}
		if crop == nil {
			crop = rectangle(r, d["CropBox"])
		}
		if media != nil && crop != nil || d["Parent"] == nil {
			break
		}
		p, err := r.Dict(d["Parent"])
		if err != nil {
			return [4]float64{}, fmt.Errorf("reading the page tree: %w", err)
		}
		d = p
	}
	if media == nil {
		return [4]float64{}, errors.New("the page has no valid /MediaBox")
	}
	box := *media
	if crop != nil {
		c := [4]float64{max(box[0], crop[0]), max(box[1], crop[1]), min(box[2], crop[2]), min(box[3], crop[3])}
		if c[0] < c[2] && c[1] < c[3] {
			box = c
		}
	}
	return box, nil
}

// pageRotation returns the page's /Rotate, inherited from the page tree:
// 0, 90, 180 or 270 degrees clockwise. A value that is not a multiple of
// 90 is an error, as viewers disagree on it.
func pageRotation(r *pdf.Reader, page pdf.Dict) (int, error) {
	d := page
	for depth := 0; d != nil && depth <= maxPageTreeDepth; depth++ {
		if v, ok := d["Rotate"]; ok {
			o, err := r.Resolve(v)
			if err != nil {
				return 0, fmt.Errorf("reading /Rotate: %w", err)
			}
			n, ok := o.(pdf.Integer)
			if !ok || n%90 != 0 {
				return 0, fmt.Errorf("the page's /Rotate %s is not a multiple of 90", pdf.Marshal(nil, o))
			}
			return int((n%360 + 360) % 360), nil
		}
		if d["Parent"] == nil {
			break
		}
		p, err := r.Dict(d["Parent"])
		if err != nil {
			return 0, fmt.Errorf("reading the page tree: %w", err)
		}
		d = p
	}
	return 0, nil
}

// rectangle reads a rectangle (§7.9.5), normalized so that the first
// corner is the lower left; nil when o is not a rectangle of positive
// area.
func rectangle(r *pdf.Reader, o pdf.Object) *[4]float64 {
	v, err := r.Resolve(o)
	arr, ok := v.(pdf.Array)
	if err != nil || !ok || len(arr) != 4 {
		return nil
	}
	var n [4]float64
	for i, e := range arr {
		e, err := r.Resolve(e)
		if err != nil {
			return nil
		}
		switch x := e.(type) {
		case pdf.Integer:
			n[i] = float64(x)
		case pdf.Real:
			f, err := strconv.ParseFloat(string(x), 64)
			if err != nil {
				return nil
			}
			n[i] = f
		default:
			return nil
		}
	}
	b := [4]float64{min(n[0], n[2]), min(n[1], n[3]), max(n[0], n[2]), max(n[1], n[3])}
	if !finite(b[:]...) || b[0] >= b[2] || b[1] >= b[3] {
		return nil
	}
	return &b
}

// The widgets' inks, as PDF colour operands.
const (
	ink     = "0.08 0.16 0.47" // dark blue: drawings and typed signatures
	textInk = "0.1 0.1 0.1"    // near black: typed dates and texts
	rule    = "0.6 0.6 0.6"    // grey: a drawing's baseline
)

// widgetAppearance is the normal appearance of one widget: its drawing,
// or else its text on one line, clipped to its box. On a page shown
// rotated (/Rotate, degrees clockwise) it is drawn upright as the page is
// seen, in a box of the size seen, and turned back by the form's /Matrix
// (§12.5.5 then fits the turned box to /Rect).
func widgetAppearance(w Widget, rotate int) *pdf.Stream {
	if rotate == 90 || rotate == 270 {
		w.W, w.H = w.H, w.W
	}
	d := pdf.Dict{
		"Type":    pdf.Name("XObject"),
		"Subtype": pdf.Name("Form"),
		"BBox":    pdf.Array{pdf.Integer(0), pdf.Integer(0), pdfReal(w.W), pdfReal(w.H)},
	}
	// Counter-clockwise by rotate, translated back into the first quadrant.
	switch rotate {
	case 90:
		d["Matrix"] = pdf.Array{pdf.Integer(0), pdf.Integer(1), pdf.Integer(-1), pdf.Integer(0), pdfReal(w.H), pdf.Integer(0)}
	case 180:
		d["Matrix"] = pdf.Array{pdf.Integer(-1), pdf.Integer(0), pdf.Integer(0), pdf.Integer(-1), pdfReal(w.W), pdfReal(w.H)}
	case 270:
		d["Matrix"] = pdf.Array{pdf.Integer(0), pdf.Integer(-1), pdf.Integer(1), pdf.Integer(0), pdf.Integer(0), pdfReal(w.W)}
	}
	var b []byte
	b = fmt.Appendf(b, "q 0 0 %s %s re W n\n", pdfReal(w.W), pdfReal(w.H))
	if hasPoints(w.Strokes) {
		b = appendStrokes(b, w)
	} else {
		font := pdf.Helvetica
		if w.Script {
			font = pdf.TimesItalic
		}
		b = appendText(b, w, font)
		d["Resources"] = pdf.Dict{"Font": pdf.Dict{"F1": pdf.Dict{
			"Type": pdf.Name("Font"), "Subtype": pdf.Name("Type1"),
			"BaseFont": pdf.Name(font), "Encoding": pdf.Name("WinAnsiEncoding"),
		}}}
	}
	b = append(b, "Q\n"...)
	return &pdf.Stream{Dict: d, Data: b}
}

func hasPoints(strokes [][]Point) bool {
	for _, s := range strokes {
		if len(s) > 0 {
			return true
		}
	}
	return false
}

// appendText sets the widget's text on one line: as large as 70% of the
// box's height allows, smaller if it would not fit the width, vertically
// centred, after a small left padding.
func appendText(b []byte, w Widget, font pdf.StandardFont) []byte {
	text := bytes.ReplaceAll(pdf.WinAnsi(w.Text), []byte{'\n'}, []byte{' '})
	pad := min(w.H*0.15, w.W*0.05, 4)
	size := w.H * 0.7
	if unit := font.Width(1, text); unit > 0 {
		size = min(size, (w.W-2*pad)/unit)
	}
	asc, desc := font.Extent()
	baseline := (w.H-size*(asc-desc)/1000)/2 - size*desc/1000
	colour := textInk
	if w.Script {
		colour = ink
	}
	b = fmt.Appendf(b, "BT /F1 %s Tf %s rg 1 0 0 1 %s %s Tm ", num3(size), colour, num3(pad), num3(baseline))
	b = pdf.Marshal(b, pdf.String(text))
	return append(b, " Tj ET\n"...)
}

// appendStrokes draws the polylines in round-capped, round-joined ink over
// a faint baseline. Points are fractions of the box from its top-left
// corner, clamped to it; the pen's width scales with the box and the
// drawing is inset by half of it so that no ink is clipped.
func appendStrokes(b []byte, w Widget) []byte {
	lw := min(max(min(w.W, w.H)*0.04, 0.6), 4)
	b = fmt.Appendf(b, "%s RG 0.3 w %s %s m %s %s l S\n",
		rule, num3(w.W*0.05), num3(w.H*0.18), num3(w.W*0.95), num3(w.H*0.18))
	b = fmt.Appendf(b, "%s RG %s w 1 J 1 j\n", ink, num3(lw))
	point := func(b []byte, p Point) []byte {
		b = appendNum3(b, lw/2+clamp01(p.X)*(w.W-lw))
		b = append(b, ' ')
		return appendNum3(b, lw/2+(1-clamp01(p.Y))*(w.H-lw))
	}
	for _, s := range w.Strokes {
		if len(s) == 0 {
			continue
		}
		b = append(point(b, s[0]), " m"...)
		rest := s[1:]
		if len(rest) == 0 {
			rest = s // a dot: a zero-length segment shows as a round cap
		}
		for _, p := range rest {
			b = append(point(append(b, ' '), p), " l"...)
		}
		b = append(b, " S\n"...)
	}
	return b
}

func clamp01(f float64) float64 { return min(max(f, 0), 1) }

// num3 formats a content stream operand with at most three decimals.
func num3(v float64) string { return string(appendNum3(nil, v)) }

// appendNum3 appends v with at most three decimals, without trailing
// zeros.
func appendNum3(b []byte, v float64) []byte {
	start := len(b)
	b = strconv.AppendFloat(b, v, 'f', 3, 64)
	for b[len(b)-1] == '0' {
		b = b[:len(b)-1]
	}
	if b[len(b)-1] == '.' {
		b = b[:len(b)-1]
	}
	if string(b[start:]) == "-0" {
		b = append(b[:start], '0')
	}
	return b
}
