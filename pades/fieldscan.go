package pades

import (
	"fmt"

	"github.com/signet-pki/signet/internal/pdf"
)

// Bounds of the walks over the page tree and the field hierarchy.
const (
	// maxPageTreeDepth bounds the nesting of /Pages nodes, as pdf.Page does.
	maxPageTreeDepth = 64
	// maxPageNodes bounds the page tree nodes (pages and intermediate
	// nodes) visited when looking for widget annotations.
	maxPageNodes = 1 << 20
	// maxFieldDepth bounds the nesting of form fields, through /Kids
	// (walkFields) or through /Parent (widgetField).
	maxFieldDepth = 32
)

// formField is a terminal form field of the document.
type formField struct {
	// name is the fully qualified field name (§12.7.4.2).
	name string
	// ref is the field's object; zero for a direct object.
	ref pdf.Ref
	// dict is the field dictionary, with an inherited /FT filled in.
	dict pdf.Dict
	// inForm is false for a field that the AcroForm's /Fields does not
	// reach and that was found through a page's widget annotation.
	inForm bool
	// page is the 1-based page whose /Annots holds the widget, for a field
	// found there.
	page int
}

// scanFields calls fn for every terminal form field, once each: first the
// fields the AcroForm's /Fields reaches, then those reached only from the
// pages' widget annotations (§12.5.6.19: a widget is a field or a kid of
// one). Some writers, poppler's pdfsig among them, add a signature field to
// a page's /Annots without listing it in /Fields; viewers that look at the
// pages still show it, so Signet must see it too.
func scanFields(r *pdf.Reader, fn func(formField)) error {
	_, cat, err := r.Catalog()
	if err != nil {
		return err
	}
	seen := map[pdf.Ref]bool{}
	acro, err := r.Dict(cat["AcroForm"])
	if err != nil {
		return fmt.Errorf("pades: reading /AcroForm: %w", err)
	}
	if acro != nil {
		fl, err := r.Resolve(acro["Fields"])
		if err != nil {
			return fmt.Errorf("pades: reading /Fields: %w", err)
		}
		arr, _ := fl.(pdf.Array)
		err = walkFields(r, arr, "", 0, func(name string, ref pdf.Ref, d pdf.Dict) {
			if ref != (pdf.Ref{}) {
				seen[ref] = true
			}
			fn(formField{name: name, ref: ref, dict: d, inForm: true})
		})
		if err != nil {
			return err
		}
	}
	return walkPageAnnots(r, cat["Pages"], func(page int, annot pdf.Object) error {
		f, ok, err := widgetField(r, annot)
		if err != nil || !ok {
			return err
		}
		if f.ref != (pdf.Ref{}) {
			if seen[f.ref] {
				return nil
			}
			seen[f.ref] = true
		}
		f.page = page
		fn(f)
		return nil
	})
}

// walkPageAnnots calls fn with each entry of each page's /Annots, pages in
// document order, walking the page tree from root with bounded depth and
// node count and visiting each node and each annotation object once.
func walkPageAnnots(r *pdf.Reader, root pdf.Object, fn func(page int, annot pdf.Object) error) error {
	type item struct {
		node  pdf.Object
		depth int
	}
	stack := []item{{root, 0}}
	nodes := map[pdf.Ref]bool{}
	annots := map[pdf.Ref]bool{}
	visited, page := 0, 0
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if ref, ok := it.node.(pdf.Ref); ok {
			if nodes[ref] {
				continue // a loop or a shared node: each is seen once
			}
			nodes[ref] = true
		}
		if visited++; visited > maxPageNodes {
			return fmt.Errorf("pades: the page tree has more than %d nodes", maxPageNodes)
		}
		if it.depth > maxPageTreeDepth {
			return fmt.Errorf("pades: the page tree is nested too deeply")
		}
		d, err := r.Dict(it.node)
		if err != nil {
			return fmt.Errorf("pades: reading the page tree: %w", err)
		}
		if d == nil {
			continue
		}
		if d.Name("Type") != "Page" && d["Kids"] != nil {
			kids, err := r.Resolve(d["Kids"])
			if err != nil {
				return fmt.Errorf("pades: reading the page tree: %w", err)
			}
			arr, _ := kids.(pdf.Array)
			for i := len(arr) - 1; i >= 0; i-- {
				stack = append(stack, item{arr[i], it.depth + 1})
			}
			continue
		}
		page++
		a, err := r.Resolve(d["Annots"])
		if err != nil {
			return fmt.Errorf("pades: reading the annotations of page %d: %w", page, err)
		}
		arr, _ := a.(pdf.Array)
		for _, e := range arr {
			if ref, ok := e.(pdf.Ref); ok {
				if annots[ref] {
					continue
				}
				annots[ref] = true
			}
			if err := fn(page, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// widgetField returns the terminal field that the annotation annot belongs
// to, when annot is a widget: the widget itself when it has a /T or no
// /Parent (a field merged with its widget), otherwise its /Parent. The
// name is built from the /T entries up the /Parent chain and /FT is
// inherited (§12.7.4.1). Objects that are not widget dictionaries yield
// false.
func widgetField(r *pdf.Reader, annot pdf.Object) (formField, bool, error) {
	w, err := optionalDict(r, annot)
	if err != nil || w == nil || w.Name("Subtype") != "Widget" {
		return formField{}, false, err
	}
	f := formField{dict: w}
	f.ref, _ = annot.(pdf.Ref)
	if w["T"] == nil && w["Parent"] != nil {
		p, err := optionalDict(r, w["Parent"])
		if err != nil {
			return formField{}, false, err
		}
		if p != nil {
			f.dict = p
			f.ref, _ = w["Parent"].(pdf.Ref)
		}
	}
	name := ""
	ft := f.dict["FT"]
	cur := f.dict
	for depth := 0; cur != nil; depth++ {
		if depth > maxFieldDepth {
			return formField{}, false, fmt.Errorf("pades: form fields nested too deeply")
		}
		if t, ok := cur["T"].(pdf.String); ok {
			if name != "" {
				name = "." + name
			}
			name = string(t) + name
		}
		if ft == nil {
			ft = cur["FT"]
		}
		if cur["Parent"] == nil {
			break
		}
		if cur, err = optionalDict(r, cur["Parent"]); err != nil {
			return formField{}, false, err
		}
	}
	if ft != nil && f.dict["FT"] == nil {
		f.dict = f.dict.Clone()
		f.dict["FT"] = ft
	}
	f.name = name
	return f, true, nil
}

// isSignatureField reports whether o is a signature field or a widget of
// one: its /FT, inherited through /Parent, is /Sig.
func isSignatureField(r *pdf.Reader, o pdf.Object) bool {
	d, err := optionalDict(r, o)
	for depth := 0; err == nil && d != nil && depth <= maxFieldDepth; depth++ {
		if ft := d.Name("FT"); ft != "" {
			return ft == "Sig"
		}
		if d["Parent"] == nil {
			return false
		}
		d, err = optionalDict(r, d["Parent"])
	}
	return false
}

// optionalDict resolves o and returns it when it is a dictionary, nil for
// any other kind of object; only an unreadable object is an error.
func optionalDict(r *pdf.Reader, o pdf.Object) (pdf.Dict, error) {
	v, err := r.Resolve(o)
	if err != nil {
		return nil, fmt.Errorf("pades: reading an annotation or form field: %w", err)
	}
	d, _ := v.(pdf.Dict)
	return d, nil
}
