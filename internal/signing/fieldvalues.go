package signing

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/pades"
)

// Budgets of the values a recipient fills fields with.
const (
	// MaxFieldText bounds a typed value, in characters.
	MaxFieldText = 256
	// MaxStrokes bounds the strokes of one drawn field.
	MaxStrokes = 64
	// MaxStrokePoints bounds the points of one drawn field, all strokes
	// together, and of the drawn fields of one document together
	// (pades.MaxWidgetPoints).
	MaxStrokePoints = 4096
	// MaxRequestPoints bounds the points of one sign request, all fields
	// together.
	MaxRequestPoints = 4 * MaxStrokePoints
	// maxSignBody bounds the body of POST /v1/recipient/sign.
	maxSignBody = 1 << 20
)

// ErrFieldsIncomplete means the recipient left required fields of theirs
// empty; the detail names them (422).
var ErrFieldsIncomplete = &api.Error{Kind: api.KindInvalid, Type: "fields-incomplete"}

// A FieldValue is what a recipient fills one of their fields with: typed
// Text, or a drawing (Strokes, polylines of points [x, y] given as
// fractions 0..1 of the field's box from its top-left corner). Values
// exist only in the request and in the signed PDF: nothing stores them.
type FieldValue struct {
	ID      string        `json:"id"`
	Text    string        `json:"text,omitempty"`
	Strokes [][][]float64 `json:"strokes,omitempty"`
}

// A signRequest is the body of POST /v1/recipient/sign, decoded as
// every JSON body is (api.DecodeJSONLimit, strict) and then checked by
// [checkFieldValues].
type signRequest struct {
	Fields []FieldValue `json:"fields,omitempty"`
}

// checkFieldValues checks the shape and budgets of vs, each named by its
// index: an id given once, text or strokes (not both), text of at most
// [MaxFieldText] characters on one line, at most [MaxStrokes] strokes and
// [MaxStrokePoints] points a field and [MaxRequestPoints] in all, each
// point two finite numbers in [0, 1].
func checkFieldValues(vs []FieldValue) error {
	seen := map[string]bool{}
	total := 0
	for i, v := range vs {
		at := fmt.Sprintf("fields[%d]", i)
		if v.ID == "" || len(v.ID) > 64 {
			return withDetail(ErrInvalid, at+": id must name one of your fields", nil)
		}
		if seen[v.ID] {
			return withDetail(ErrInvalid, at+": field "+v.ID+" is given twice", nil)
		}
		seen[v.ID] = true
		if v.Text != "" && v.Strokes != nil {
			return withDetail(ErrInvalid, at+": give text or strokes, not both", nil)
		}
		if err := checkFieldText(at, v.Text); err != nil {
			return err
		}
		if v.Strokes == nil {
			continue
		}
		if len(v.Strokes) == 0 || len(v.Strokes) > MaxStrokes {
			return withDetail(ErrInvalid, fmt.Sprintf("%s: a drawing has 1 to %d strokes", at, MaxStrokes), nil)
		}
		n := 0
		for j, s := range v.Strokes {
			if len(s) == 0 {
				return withDetail(ErrInvalid, fmt.Sprintf("%s.strokes[%d]: a stroke has at least one point", at, j), nil)
			}
			n += len(s)
			for _, p := range s {
				if len(p) != 2 || !unit(p[0]) || !unit(p[1]) {
					return withDetail(ErrInvalid, fmt.Sprintf("%s.strokes[%d]: each point is [x, y], two numbers from 0 to 1", at, j), nil)
				}
			}
		}
		if n > MaxStrokePoints {
			return withDetail(ErrInvalid, fmt.Sprintf("%s: a drawing has at most %d points", at, MaxStrokePoints), nil)
		}
		total += n
		if total > MaxRequestPoints {
			return withDetail(ErrInvalid, fmt.Sprintf("the drawings have at most %d points in all", MaxRequestPoints), nil)
		}
	}
	return nil
}

func unit(f float64) bool { return !math.IsNaN(f) && f >= 0 && f <= 1 }

func checkFieldText(at, s string) error {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxFieldText {
		return withDetail(ErrInvalid, fmt.Sprintf("%s: text is at most %d characters of valid UTF-8", at, MaxFieldText), nil)
	}
	if strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || isBidi(r) }) {
		return withDetail(ErrInvalid, at+": text is one line without control or bidirectional formatting characters", nil)
	}
	return nil
}

// isBidi reports whether r is a Unicode bidirectional formatting
// character, which could make a typed value read otherwise than it is.
func isBidi(r rune) bool {
	return r == 0x061C || r == 0x200E || r == 0x200F || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// DateFormat is how a date field shows the signing date (UTC).
const DateFormat = "2006-01-02"

// filled is a field of the recipient with the value it is shown with.
type filled struct {
	field  workflow.Field
	widget pades.Widget
}

// fillFields matches vs to the recipient's fields fs: each value must
// name one of fs (others are refused: a recipient fills only their own
// fields), with a value its kind takes; date fields are filled with the
// signing date at, whatever was sent. A required field left empty is
// [ErrFieldsIncomplete], naming every such field. The widgets' boxes are
// in the fields' own coordinates (the page box's lower-left corner at
// the origin).
func fillFields(fs []workflow.Field, vs []FieldValue, at time.Time) ([]filled, error) {
	byID := make(map[string]FieldValue, len(vs))
	for i, v := range vs {
		j := slices.IndexFunc(fs, func(f workflow.Field) bool { return f.ID == v.ID })
		if j < 0 {
			return nil, withDetail(ErrInvalid, fmt.Sprintf("fields[%d]: %s is not one of your fields", i, v.ID), nil)
		}
		switch f := fs[j]; {
		case f.Kind == workflow.FieldText && v.Strokes != nil:
			return nil, withDetail(ErrInvalid, fmt.Sprintf("fields[%d]: a text field takes text, not strokes", i), nil)
		case f.Kind == workflow.FieldDate && (v.Text != "" || v.Strokes != nil):
			// The server fills dates; what was sent is ignored.
		}
		byID[v.ID] = v
	}
	var out []filled
	var missing []string
	for _, f := range fs {
		w := pades.Widget{Page: f.Page, X: f.X, Y: f.Y, W: f.W, H: f.H}
		v := byID[f.ID]
		switch {
		case f.Kind == workflow.FieldDate:
			w.Text = at.UTC().Format(DateFormat)
		case v.Strokes != nil:
			w.Strokes = make([][]pades.Point, len(v.Strokes))
			for i, s := range v.Strokes {
				w.Strokes[i] = make([]pades.Point, len(s))
				for j, p := range s {
					w.Strokes[i][j] = pades.Point{X: p[0], Y: p[1]}
				}
			}
		case strings.TrimSpace(v.Text) != "":
			w.Text = strings.TrimSpace(v.Text)
			w.Script = f.Kind == workflow.FieldSignature || f.Kind == workflow.FieldInitials
		default:
			if f.Required {
				name := f.ID
				if f.Label != "" {
					name += " (" + f.Label + ")"
				}
				missing = append(missing, name)
			}
			continue
		}
		out = append(out, filled{field: f, widget: w})
	}
	if len(missing) > 0 {
		return nil, withDetail(ErrFieldsIncomplete, "fill the required fields: "+strings.Join(missing, ", "), nil)
	}
	// One signature shows the drawings of one document: at most
	// pades.MaxWidgetPoints points together.
	points := map[string]int{}
	for _, f := range out {
		for _, s := range f.widget.Strokes {
			points[f.field.DocumentID] += len(s)
		}
		if points[f.field.DocumentID] > pades.MaxWidgetPoints {
			return nil, withDetail(ErrInvalid, fmt.Sprintf("the drawings on one document have at most %d points together", pades.MaxWidgetPoints), nil)
		}
	}
	return out, nil
}

// widgetsOf returns the widgets of fs on document docID, their boxes
// moved into the page's user space by the document's page sizes.
func widgetsOf(fs []filled, docID string, pages []workflow.PageSize) []pades.Widget {
	var out []pades.Widget
	for _, f := range fs {
		if f.field.DocumentID != docID {
			continue
		}
		w := f.widget
		if w.Page >= 1 && w.Page <= len(pages) {
			p := pages[w.Page-1]
			w.X += p.Left
			w.Y += p.Bottom
		}
		out = append(out, w)
	}
	return out
}
