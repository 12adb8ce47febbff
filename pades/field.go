package pades

import (
	"fmt"
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/pdf"
)

// document is what Sign needs to know about the document before it adds a
// field.
type document struct {
	catRef     pdf.Ref
	cat        pdf.Dict
	acroRef    *pdf.Ref // nil when the AcroForm is direct in the catalog or absent
	acro       pdf.Dict
	fieldNames map[string]bool
	signatures int
	docMDP     int // P of a certification signature, 0 if none
}

// inspect reads the catalog, the AcroForm and the form fields, including
// those only the pages' widget annotations reach (see scanFields).
func inspect(r *pdf.Reader) (*document, error) {
	ref, cat, err := r.Catalog()
	if err != nil {
		return nil, err
	}
	d := &document{catRef: ref, cat: cat, fieldNames: map[string]bool{}}
	if ar, ok := cat["AcroForm"].(pdf.Ref); ok {
		d.acroRef = &ar
	}
	d.acro, err = r.Dict(cat["AcroForm"])
	if err != nil {
		return nil, fmt.Errorf("pades: reading /AcroForm: %w", err)
	}
	err = scanFields(r, func(f formField) {
		d.fieldNames[f.name] = true
		if f.dict.Name("FT") == "Sig" && f.dict["V"] != nil {
			d.signatures++
		}
	})
	if err != nil {
		return nil, err
	}
	if d.docMDP, err = certification(r, cat); err != nil {
		return nil, err
	}
	return d, nil
}

// CheckSignable returns [ErrCertified] when the document r reads is
// certified with DocMDP permissions P=1 (catalog /Perms /DocMDP,
// ISO 32000-1 §12.8.2.2): no change at all is permitted, not even another
// signature, so [Sign] refuses it. It returns nil for any other document,
// and the error when the catalog or permissions cannot be read.
func CheckSignable(r *pdf.Reader) error {
	_, cat, err := r.Catalog()
	if err != nil {
		return err
	}
	p, err := certification(r, cat)
	if err != nil {
		return err
	}
	if p == 1 {
		return ErrCertified
	}
	return nil
}

// certification returns the DocMDP permission P of the document's
// certification signature, the one catalog /Perms /DocMDP names, or 0.
func certification(r *pdf.Reader, cat pdf.Dict) (int, error) {
	perms, err := r.Dict(cat["Perms"])
	if err != nil {
		return 0, fmt.Errorf("pades: reading /Perms: %w", err)
	}
	if perms == nil {
		return 0, nil
	}
	sig, err := r.Dict(perms["DocMDP"])
	if err != nil {
		return 0, fmt.Errorf("pades: reading the certification signature: %w", err)
	}
	if sig == nil {
		return 0, nil
	}
	return docMDPPermission(r, sig), nil
}

// docMDPPermission returns P from a certification signature dictionary's
// DocMDP reference (default 2, §12.8.2.2).
func docMDPPermission(r *pdf.Reader, sig pdf.Dict) int {
	refs, _ := r.Resolve(sig["Reference"])
	arr, _ := refs.(pdf.Array)
	for _, e := range arr {
		sr, err := r.Dict(e)
		if err != nil || sr == nil || sr.Name("TransformMethod") != "DocMDP" {
			continue
		}
		tp, _ := r.Dict(sr["TransformParams"])
		// P may be an indirect object; viewers resolve it.
		po, _ := r.Resolve(tp["P"])
		if p, ok := po.(pdf.Integer); ok && p >= 1 && p <= 3 {
			return int(p)
		}
		return 2
	}
	return 0
}

// walkFields calls fn for every terminal field with its fully qualified
// name, its object (zero for a direct one) and its dictionary, inheriting
// /FT from ancestors.
func walkFields(r *pdf.Reader, fields pdf.Array, prefix string, depth int, fn func(string, pdf.Ref, pdf.Dict)) error {
	if depth > maxFieldDepth {
		return fmt.Errorf("pades: form fields nested too deeply")
	}
	for _, f := range fields {
		d, err := r.Dict(f)
		if err != nil {
			return fmt.Errorf("pades: reading a form field: %w", err)
		}
		if d == nil {
			continue
		}
		name := prefix
		if t, ok := d["T"].(pdf.String); ok {
			if name != "" {
				name += "."
			}
			name += string(t)
		}
		kids, _ := r.Resolve(d["Kids"])
		if arr, ok := kids.(pdf.Array); ok && len(arr) > 0 {
			// Kids without /T are widgets of this field.
			first, _ := r.Dict(arr[0])
			if first != nil && first["T"] != nil {
				if err := walkFields(r, arr, name, depth+1, func(n string, kr pdf.Ref, kd pdf.Dict) {
					if kd["FT"] == nil && d["FT"] != nil {
						kd = kd.Clone()
						kd["FT"] = d["FT"]
					}
					fn(n, kr, kd)
				}); err != nil {
					return err
				}
				continue
			}
		}
		ref, _ := f.(pdf.Ref)
		fn(name, ref, d)
	}
	return nil
}

// addField adds the signature field to the AcroForm and its widgets to
// their pages' /Annots, and (for a certification) the signature to the
// catalog's /Perms. With opts.Widgets the field's kids are one widget per
// filled field (see addWidgetField); otherwise the field is merged with a
// single widget, hidden or showing opts.Visible.
func addField(r *pdf.Reader, upd *pdf.Update, doc *document, sigRef pdf.Ref, opts Options, ap appearance) error {
	name := opts.FieldName
	if name == "" {
		for i := 1; ; i++ {
			name = fmt.Sprintf("Signature%d", i)
			if !doc.fieldNames[name] {
				break
			}
		}
	} else if doc.fieldNames[name] {
		return fmt.Errorf("pades: the document already has a field named %q", name)
	}
	var fieldRef pdf.Ref
	var pages []pdf.Ref
	if len(opts.Widgets) > 0 {
		var err error
		if fieldRef, pages, err = addWidgetField(r, upd, name, sigRef, opts.Widgets); err != nil {
			return err
		}
	} else {
		var pageRef pdf.Ref
		var err error
		if fieldRef, pageRef, err = addMergedField(r, upd, name, sigRef, opts.Visible, ap); err != nil {
			return err
		}
		pages = []pdf.Ref{pageRef}
	}

	cat := doc.cat.Clone()
	catChanged := false
	acro := pdf.Dict{}
	if doc.acro != nil {
		acro = doc.acro.Clone()
	}
	switch f := acro["Fields"].(type) {
	case pdf.Ref:
		cur, err := upd.Get(f)
		if err != nil {
			return fmt.Errorf("pades: reading /Fields: %w", err)
		}
		arr, _ := cur.(pdf.Array)
		upd.Set(f, append(append(pdf.Array{}, arr...), fieldRef))
	default:
		arr, _ := f.(pdf.Array)
		acro["Fields"] = append(append(pdf.Array{}, arr...), fieldRef)
	}
	acro["SigFlags"] = pdf.Integer(3)
	if doc.acroRef != nil {
		upd.Set(*doc.acroRef, acro)
	} else {
		cat["AcroForm"] = upd.Add(acro)
		catChanged = true
	}
	if opts.Certify > 0 {
		perms, _ := r.Dict(cat["Perms"])
		np := pdf.Dict{}
		for k, v := range perms {
			np[k] = v
		}
		np["DocMDP"] = sigRef
		cat["Perms"] = np
		catChanged = true
	}
	if catChanged {
		// The catalog may be a page's own object only in broken files; the
		// page updates above used Set on different numbers.
		for _, pageRef := range pages {
			if doc.catRef == pageRef {
				return fmt.Errorf("pades: the catalog and the page are the same object")
			}
		}
		upd.Set(doc.catRef, cat)
	}
	return nil
}

// addMergedField adds a signature field merged with its one widget, on
// the page of visible (page 1 with an empty rectangle when visible is
// nil), and returns the field and its page.
func addMergedField(r *pdf.Reader, upd *pdf.Update, name string, sigRef pdf.Ref, visible *Visible, ap appearance) (field, page pdf.Ref, err error) {
	pageNum := 1
	rect := pdf.Array{pdf.Integer(0), pdf.Integer(0), pdf.Integer(0), pdf.Integer(0)}
	var apStream *pdf.Stream
	if v := visible; v != nil {
		if v.W <= 0 || v.H <= 0 {
			return pdf.Ref{}, pdf.Ref{}, fmt.Errorf("pades: visible signature needs a positive width and height")
		}
		pageNum = v.Page
		rect = pdf.Array{pdfReal(v.X), pdfReal(v.Y), pdfReal(v.X + v.W), pdfReal(v.Y + v.H)}
		apStream = ap.stream(v.W, v.H)
	} else {
		apStream = emptyAppearance()
	}
	pageRef, _, err := r.Page(pageNum)
	if err != nil {
		return pdf.Ref{}, pdf.Ref{}, fmt.Errorf("pades: %w", err)
	}
	fieldRef := upd.Add(pdf.Dict{
		"FT":      pdf.Name("Sig"),
		"T":       textString(name),
		"V":       sigRef,
		"Type":    pdf.Name("Annot"),
		"Subtype": pdf.Name("Widget"),
		"Rect":    rect,
		"F":       pdf.Integer(132), // Print | Locked
		"P":       pageRef,
		"AP":      pdf.Dict{"N": upd.Add(apStream)},
	})
	if err := addAnnot(upd, pageRef, fieldRef); err != nil {
		return pdf.Ref{}, pdf.Ref{}, err
	}
	return fieldRef, pageRef, nil
}

func pdfReal(f float64) pdf.Real {
	s := fmt.Sprintf("%.2f", f)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" || s == "-" {
		s = "0"
	}
	return pdf.Real(s)
}

// appearance is the text shown in a visible signature.
type appearance struct {
	signer, reason string
	when           time.Time
}

func emptyAppearance() *pdf.Stream {
	return &pdf.Stream{Dict: pdf.Dict{
		"Type": pdf.Name("XObject"), "Subtype": pdf.Name("Form"),
		"BBox": pdf.Array{pdf.Integer(0), pdf.Integer(0), pdf.Integer(0), pdf.Integer(0)},
	}}
}

// stream draws a thin frame and up to three lines of Helvetica text.
func (a appearance) stream(w, h float64) *pdf.Stream {
	lines := []string{"Digitally signed by " + a.signer, "Date: " + a.when.UTC().Format("2006-01-02 15:04:05 UTC")}
	if a.reason != "" {
		lines = append(lines, "Reason: "+a.reason)
	}
	size := h / float64(len(lines)+1)
	if size > 10 {
		size = 10
	}
	var b strings.Builder
	fmt.Fprintf(&b, "q 0.5 w 0.2 0.2 0.6 RG 0.25 0.25 %s %s re S Q\n", pdfReal(w-0.5), pdfReal(h-0.5))
	fmt.Fprintf(&b, "BT /F1 %s Tf 0.1 0.1 0.3 rg\n", pdfReal(size))
	for i, l := range lines {
		y := h - float64(i+1)*size*1.2
		fmt.Fprintf(&b, "1 0 0 1 3 %s Tm ", pdfReal(y))
		b.Write(pdf.Marshal(nil, pdf.String(latin1(l))))
		b.WriteString(" Tj\n")
	}
	b.WriteString("ET\n")
	return &pdf.Stream{
		Dict: pdf.Dict{
			"Type": pdf.Name("XObject"), "Subtype": pdf.Name("Form"),
			"BBox": pdf.Array{pdf.Integer(0), pdf.Integer(0), pdfReal(w), pdfReal(h)},
			"Resources": pdf.Dict{"Font": pdf.Dict{"F1": pdf.Dict{
				"Type": pdf.Name("Font"), "Subtype": pdf.Name("Type1"),
				"BaseFont": pdf.Name("Helvetica"), "Encoding": pdf.Name("WinAnsiEncoding"),
			}}},
		},
		Data: []byte(b.String()),
	}
}

// latin1 maps s to WinAnsi-compatible bytes, replacing what does not fit.
func latin1(s string) string {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r < 0x100 {
			out = append(out, byte(r))
		} else {
			out = append(out, '?')
		}
	}
	return string(out)
}
