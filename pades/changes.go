package pades

import (
	"fmt"
	"io"
	"sort"

	"github.com/signet-pki/signet/internal/pdf"
)

// analyseChanges compares, for every signature, the objects as its revision
// had them with the objects as the whole file has them, and sorts each
// difference into permitted changes (new signatures, document time-stamps,
// DSS, and form filling where DocMDP allows it) and modifications.
func analyseChanges(r *pdf.Reader, src io.ReaderAt, rep *Report) {
	certP := 0
	for _, s := range rep.Signatures {
		if s.Kind == "certification" {
			certP = s.DocMDP
		}
	}
	for _, s := range rep.Signatures {
		if s.end == 0 || s.end >= rep.Size {
			if s.end != 0 {
				s.check("changes-after-signing", Passed, "the signature covers the whole file")
			}
			continue
		}
		old, err := pdf.Open(io.NewSectionReader(src, 0, s.end), s.end)
		if err != nil {
			s.fail("changes-after-signing", ModifiedAfterSigning, "the signed revision cannot be read on its own: "+err.Error())
			continue
		}
		c := &changeSet{old: old, cur: r}
		c.compare(rep.Size)
		s.PermittedChanges = c.permitted
		s.Modifications = c.modified
		formFill := c.formFill
		if len(formFill) > 0 && certP == 1 {
			s.Modifications = append(s.Modifications, formFill...)
		} else {
			s.PermittedChanges = append(s.PermittedChanges, formFill...)
		}
		if len(s.Modifications) > 0 {
			s.fail("changes-after-signing", ModifiedAfterSigning, "the document was modified after signing: "+s.Modifications[0])
		} else {
			s.check("changes-after-signing", Passed, fmt.Sprintf("%d later change(s), all permitted", len(s.PermittedChanges)))
		}
	}
}

// changeSet classifies differences between two revisions.
type changeSet struct {
	old, cur  *pdf.Reader
	permitted []string
	modified  []string
	formFill  []string
}

func (c *changeSet) allow(f string, a ...any) {
	c.permitted = append(c.permitted, fmt.Sprintf(f, a...))
}
func (c *changeSet) modify(f string, a ...any) { c.modified = append(c.modified, fmt.Sprintf(f, a...)) }
func (c *changeSet) filling(f string, a ...any) {
	c.formFill = append(c.formFill, fmt.Sprintf(f, a...))
}

// compare walks the objects that sections after the signed revision define.
func (c *changeSet) compare(size int64) {
	changed := map[int]bool{}
	for _, sec := range c.cur.Sections {
		if sec.Offset < c.old.Size() {
			continue
		}
		for _, n := range sec.Objects {
			changed[n] = true
		}
	}
	nums := make([]int, 0, len(changed))
	for n := range changed {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	catRef, _ := c.cur.Trailer["Root"].(pdf.Ref)
	oldCatRef, _ := c.old.Trailer["Root"].(pdf.Ref)
	if catRef != oldCatRef {
		c.modify("the document catalog was replaced")
	}
	roles := c.roles()
	for _, n := range nums {
		newObj, err := c.cur.Resolve(pdf.Ref{Num: n})
		if err != nil {
			c.modify("object %d cannot be read: %v", n, err)
			continue
		}
		oldObj, err := c.old.Resolve(pdf.Ref{Num: n})
		if err != nil {
			c.modify("object %d cannot be read in the signed revision: %v", n, err)
			continue
		}
		if _, isNull := oldObj.(pdf.Null); isNull {
			c.added(n, newObj)
			continue
		}
		if pdf.Equal(oldObj, newObj) {
			continue
		}
		c.changedObject(n, oldObj, newObj, roles)
	}
	for _, sec := range c.cur.Sections {
		if sec.Offset < c.old.Size() {
			continue
		}
		for _, n := range sec.Freed {
			if changed[n] {
				continue // freed and reused later: judged above
			}
			if o, err := c.old.Resolve(pdf.Ref{Num: n}); err == nil {
				if _, isNull := o.(pdf.Null); !isNull {
					c.modify("object %d (%s) was deleted", n, describe(o))
				}
			}
		}
	}
}

// roles names the objects whose changes are judged by their role rather
// than their content: the catalog, the AcroForm, its /Fields array and the
// pages' /Annots arrays.
func (c *changeSet) roles() map[int]string {
	roles := map[int]string{}
	if ref, ok := c.cur.Trailer["Root"].(pdf.Ref); ok {
		roles[ref.Num] = "catalog"
		cat, _ := c.cur.Dict(ref)
		if ar, ok := cat["AcroForm"].(pdf.Ref); ok {
			roles[ar.Num] = "acroform"
		}
		acro, _ := c.cur.Dict(cat["AcroForm"])
		if fr, ok := acro["Fields"].(pdf.Ref); ok {
			roles[fr.Num] = "fields"
		}
		if dr, ok := cat["DSS"].(pdf.Ref); ok {
			roles[dr.Num] = "dss"
		}
	}
	return roles
}

// added judges a new object. New objects change nothing unless something
// old refers to them, which changedObject judges; they are listed when they
// are signatures.
func (c *changeSet) added(n int, o pdf.Object) {
	d, ok := o.(pdf.Dict)
	if !ok {
		return
	}
	switch {
	case d.Name("Type") == "DocTimeStamp" || d.Name("SubFilter") == "ETSI.RFC3161":
		c.allow("document time-stamp added (object %d)", n)
	case d.Name("Type") == "Sig":
		c.allow("signature added (object %d)", n)
	case d.Name("Type") == "DSS":
		c.allow("validation data (DSS) added")
	}
}

// The keys a later revision may change in the catalog, the AcroForm
// dictionary, a signature field and another form field. (Functions, not
// package-level maps, which are built when the package is initialized.)
func catalogKeys(k pdf.Name) bool {
	switch k {
	case "DSS", "AcroForm", "Extensions":
		return true
	}
	return false
}

func acroFormKeys(k pdf.Name) bool {
	switch k {
	case "Fields", "SigFlags", "DR", "DA", "NeedAppearances":
		return true
	}
	return false
}

func sigFieldKeys(k pdf.Name) bool {
	switch k {
	case "V", "AP", "AS", "F", "Lock", "SV":
		return true
	}
	return false
}

func formKeys(k pdf.Name) bool {
	switch k {
	case "V", "AS", "AP":
		return true
	}
	return false
}

func (c *changeSet) changedObject(n int, oldObj, newObj pdf.Object, roles map[int]string) {
	od, ok1 := asDict(oldObj)
	nd, ok2 := asDict(newObj)
	switch {
	case roles[n] == "dss" || (ok2 && nd.Name("Type") == "DSS"):
		c.allow("validation data (DSS) updated")
		return
	case roles[n] == "fields":
		c.growingArray(n, "the form's field list", oldObj, newObj)
		return
	case roles[n] == "catalog" && ok1 && ok2:
		for _, k := range diffKeys(od, nd) {
			if !catalogKeys(k) {
				c.modify("the document catalog's /%s changed", k)
			}
		}
		if !pdf.Equal(od["AcroForm"], nd["AcroForm"]) {
			if _, direct := nd["AcroForm"].(pdf.Dict); direct {
				oa, _ := od["AcroForm"].(pdf.Dict)
				c.acroForm(oa, nd["AcroForm"].(pdf.Dict))
			}
		}
		if !pdf.Equal(od["DSS"], nd["DSS"]) {
			c.allow("validation data (DSS) added to the catalog")
		}
		return
	case roles[n] == "acroform" && ok1 && ok2:
		c.acroForm(od, nd)
		return
	}
	if !ok1 || !ok2 {
		if oa, ok := oldObj.(pdf.Array); ok {
			if na, ok := newObj.(pdf.Array); ok && c.annotsArray(oa, na) {
				return
			}
		}
		c.modify("object %d (%s) changed", n, describe(oldObj))
		return
	}
	switch {
	case od.Name("Type") == "Page":
		for _, k := range diffKeys(od, nd) {
			if k != "Annots" {
				c.modify("page object %d: /%s changed", n, k)
				continue
			}
			oa, _ := od["Annots"].(pdf.Array)
			na, ok := nd["Annots"].(pdf.Array)
			if !ok || !c.annotsArray(oa, na) {
				c.modify("page object %d: annotations changed", n)
			}
		}
	case od.Name("FT") == "Sig" || nd.Name("FT") == "Sig":
		if od["V"] != nil {
			// A signed field, its appearance included, stays as signed.
			for _, k := range diffKeys(od, nd) {
				if k == "V" {
					c.modify("signature field %q: its signature was replaced", fieldName(nd))
				} else {
					c.modify("signed signature field %q: /%s changed", fieldName(nd), k)
				}
			}
			return
		}
		for _, k := range diffKeys(od, nd) {
			if !sigFieldKeys(k) {
				c.modify("signature field object %d: /%s changed", n, k)
			}
		}
		if nd["V"] != nil {
			c.allow("existing empty signature field %q signed", fieldName(nd))
		}
	case od["FT"] != nil:
		for _, k := range diffKeys(od, nd) {
			if !formKeys(k) {
				c.modify("form field %q: /%s changed", fieldName(nd), k)
			}
		}
		c.filling("form field %q filled in", fieldName(nd))
	case od.Name("Subtype") == "Widget" && c.signedWidget(od):
		// A widget of a signed signature field (its filled fields) is
		// covered by that signature and stays as signed.
		for _, k := range diffKeys(od, nd) {
			c.modify("widget object %d of a signed signature field: /%s changed", n, k)
		}
	case od.Name("Subtype") == "Widget":
		for _, k := range diffKeys(od, nd) {
			if k != "AS" && k != "AP" {
				c.modify("widget object %d: /%s changed", n, k)
			}
		}
		c.filling("widget appearance of object %d updated", n)
	default:
		c.modify("object %d (%s) changed", n, describe(oldObj))
	}
}

// signedWidget reports whether the widget w belonged, in the signed
// revision, to a signature field that held a signature: /FT /Sig and a /V,
// each on w or inherited through /Parent.
func (c *changeSet) signedWidget(w pdf.Dict) bool {
	var ft, v pdf.Object
	d := w
	for depth := 0; d != nil && depth <= maxFieldDepth; depth++ {
		if ft == nil {
			ft = d["FT"]
		}
		if v == nil {
			v = d["V"]
		}
		if d["Parent"] == nil {
			break
		}
		var err error
		if d, err = optionalDict(c.old, d["Parent"]); err != nil {
			return false
		}
	}
	name, _ := ft.(pdf.Name)
	_, null := v.(pdf.Null)
	return name == "Sig" && v != nil && !null
}

func (c *changeSet) acroForm(od, nd pdf.Dict) {
	for _, k := range diffKeys(od, nd) {
		if !acroFormKeys(k) {
			c.modify("the form's /%s changed", k)
		}
	}
	of, _ := c.old.Resolve(od["Fields"])
	nf, _ := c.cur.Resolve(nd["Fields"])
	oa, _ := of.(pdf.Array)
	na, _ := nf.(pdf.Array)
	if _, isRef := nd["Fields"].(pdf.Ref); !isRef {
		c.growingArray(0, "the form's field list", oa, na)
	}
}

// growingArray permits an array that only gained signature fields.
func (c *changeSet) growingArray(n int, what string, oldObj, newObj pdf.Object) {
	oa, _ := oldObj.(pdf.Array)
	na, ok := newObj.(pdf.Array)
	if !ok || !c.annotsArray(oa, na) {
		c.modify("%s changed in a way other than adding signature fields", what)
	}
}

// annotsArray reports whether na is oa plus new signature fields or
// widgets of signature fields (/FT /Sig, inherited through /Parent), the
// same test by which scanFields finds a signature field in /Annots.
func (c *changeSet) annotsArray(oa, na pdf.Array) bool {
	if len(na) < len(oa) {
		return false
	}
	old := map[pdf.Ref]bool{}
	for _, e := range oa {
		if r, ok := e.(pdf.Ref); ok {
			old[r] = true
		}
	}
	kept := 0
	for _, e := range na {
		r, ok := e.(pdf.Ref)
		if !ok {
			return false
		}
		if old[r] {
			kept++
			continue
		}
		if !isSignatureField(c.cur, r) {
			return false
		}
	}
	return kept == len(old)
}

func asDict(o pdf.Object) (pdf.Dict, bool) {
	switch v := o.(type) {
	case pdf.Dict:
		return v, true
	case *pdf.Stream:
		return nil, false
	}
	return nil, false
}

func diffKeys(a, b pdf.Dict) []pdf.Name {
	var out []pdf.Name
	for k, v := range a {
		if w, ok := b[k]; !ok || !pdf.Equal(v, w) {
			out = append(out, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func fieldName(d pdf.Dict) string {
	if t, ok := d["T"].(pdf.String); ok {
		return string(t)
	}
	return "(unnamed)"
}

func describe(o pdf.Object) string {
	switch v := o.(type) {
	case *pdf.Stream:
		if t := v.Dict.Name("Subtype"); t != "" {
			return "stream /" + string(t)
		}
		if t := v.Dict.Name("Type"); t != "" {
			return "stream /" + string(t)
		}
		return "content stream"
	case pdf.Dict:
		if t := v.Name("Type"); t != "" {
			return "/" + string(t)
		}
		return "dictionary"
	case pdf.Array:
		return "array"
	}
	return fmt.Sprintf("%T", o)
}
