package workflow

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/signet-pki/signet/internal/pdf"
)

// pdfInfo is what the upload check learns about a PDF.
type pdfInfo struct {
	Pages int
}

// maxPageTreeDepth bounds the page tree walk (ISO 32000-1 §7.7.3.2 puts
// no limit; real documents stay far below).
const maxPageTreeDepth = 64

// checkPDF parses the whole PDF in ra (size bytes): header, cross-reference
// data and trailer, the catalog, every page of the page tree, and every
// object the cross-reference data lists. It refuses encrypted documents
// (§7.6) and documents with active content: JavaScript actions or a
// /JavaScript name tree (§12.6.4.16, §7.7.4), /JS entries, additional
// actions /AA (§12.6.3) and launch actions (§12.6.4.5).
func checkPDF(ra io.ReaderAt, size int64) (pdfInfo, error) {
	head := make([]byte, min(size, 1024))
	if _, err := ra.ReadAt(head, 0); err != nil && err != io.EOF {
		return pdfInfo{}, fmt.Errorf("workflow: read upload: %w", err)
	}
	if !bytes.HasPrefix(head, []byte("%PDF-")) {
		return pdfInfo{}, withDetail(ErrNotPDF, "the body does not start with %PDF-", nil)
	}
	r, err := pdf.Open(ra, size)
	switch {
	case errors.Is(err, pdf.ErrEncrypted):
		return pdfInfo{}, withDetail(ErrEncryptedPDF, "encrypted PDFs are refused", err)
	case err != nil:
		return pdfInfo{}, withDetail(ErrMalformedPDF, "the PDF's cross-reference data or trailer is unreadable", err)
	}
	_, cat, err := r.Catalog()
	if err != nil {
		return pdfInfo{}, withDetail(ErrMalformedPDF, "the PDF has no readable document catalog", err)
	}
	pages, err := countPages(r, cat["Pages"])
	if err != nil {
		return pdfInfo{}, withDetail(ErrMalformedPDF, "the PDF's page tree is broken: "+err.Error(), err)
	}
	if pages == 0 {
		return pdfInfo{}, withDetail(ErrMalformedPDF, "the PDF has no pages", nil)
	}
	if names, err := r.Dict(cat["Names"]); err == nil && names != nil {
		if _, ok := names["JavaScript"]; ok {
			return pdfInfo{}, withDetail(ErrActiveContent, "the PDF carries JavaScript (a /JavaScript name tree)", nil)
		}
	}
	seen := map[int]bool{}
	for _, sec := range r.Sections {
		for _, num := range sec.Objects {
			if seen[num] {
				continue
			}
			seen[num] = true
			obj, err := r.Resolve(pdf.Ref{Num: num, Gen: r.Generation(num)})
			if err != nil {
				return pdfInfo{}, withDetail(ErrMalformedPDF, fmt.Sprintf("object %d does not parse", num), err)
			}
			if why := activeContent(obj, 0); why != "" {
				return pdfInfo{}, withDetail(ErrActiveContent, fmt.Sprintf("the PDF carries %s (object %d)", why, num), nil)
			}
		}
	}
	return pdfInfo{Pages: pages}, nil
}

// activeContent returns what active content o (walked to a bounded depth,
// without following references: every object is checked on its own)
// holds, or "".
func activeContent(o pdf.Object, depth int) string {
	if depth > 32 {
		return ""
	}
	switch v := o.(type) {
	case *pdf.Stream:
		return activeContent(v.Dict, depth)
	case pdf.Dict:
		switch v.Name("S") {
		case "JavaScript":
			return "a JavaScript action"
		case "Launch":
			return "a launch action"
		}
		if _, ok := v["JS"]; ok {
			return "JavaScript (/JS)"
		}
		if _, ok := v["AA"]; ok {
			return "additional actions (/AA)"
		}
		for _, e := range v {
			if why := activeContent(e, depth+1); why != "" {
				return why
			}
		}
	case pdf.Array:
		for _, e := range v {
			if why := activeContent(e, depth+1); why != "" {
				return why
			}
		}
	}
	return ""
}

// countPages walks the page tree from node and counts its leaves, refusing
// loops, missing nodes and excessive depth, so that every page is
// reachable.
func countPages(r *pdf.Reader, root pdf.Object) (int, error) {
	seen := map[int]bool{}
	var walk func(node pdf.Object, depth int) (int, error)
	walk = func(node pdf.Object, depth int) (int, error) {
		if depth > maxPageTreeDepth {
			return 0, errors.New("page tree too deep")
		}
		ref, ok := node.(pdf.Ref)
		if !ok {
			return 0, errors.New("page tree node is not an indirect reference")
		}
		if seen[ref.Num] {
			return 0, fmt.Errorf("page tree loop at object %d", ref.Num)
		}
		seen[ref.Num] = true
		d, err := r.Dict(node)
		if err != nil {
			return 0, err
		}
		if d == nil {
			return 0, fmt.Errorf("page tree node %d is missing", ref.Num)
		}
		switch d.Name("Type") {
		case "Page":
			return 1, nil
		case "Pages":
		default:
			return 0, fmt.Errorf("object %d in the page tree is neither /Page nor /Pages", ref.Num)
		}
		kids, err := r.Resolve(d["Kids"])
		if err != nil {
			return 0, err
		}
		arr, ok := kids.(pdf.Array)
		if !ok {
			return 0, fmt.Errorf("page tree node %d has no /Kids array", ref.Num)
		}
		n := 0
		for _, k := range arr {
			c, err := walk(k, depth+1)
			if err != nil {
				return 0, err
			}
			n += c
		}
		return n, nil
	}
	return walk(root, 0)
}
