package workflow

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/pades"
)

// pdfInfo is what the upload check learns about a PDF.
type pdfInfo struct {
	Pages int
}

// maxPageTreeDepth bounds the page tree walk (ISO 32000-1 §7.7.3.2 puts
// no limit; real documents stay far below).
const maxPageTreeDepth = 64

// checkPDF parses the whole PDF in ra (size bytes) within a decoding
// budget of budget bytes: header, cross-reference data and trailers, the
// catalog, every page of the page tree, and every object of the file (see
// [pdf.Reader.Objects]: current and superseded versions and the contents
// of object streams). It refuses
//   - a document that needs more than budget bytes to read
//     ([ErrDecodeBudget]): a decompression bomb;
//   - encrypted documents (§7.6, [ErrEncryptedPDF]);
//   - documents certified with DocMDP P=1 ([ErrCertifiedPDF]), which can
//     never be signed;
//   - active content ([ErrActiveContent], see [activeContent]).
func checkPDF(ra io.ReaderAt, size, budget int64) (pdfInfo, error) {
	head := make([]byte, min(size, 1024))
	if _, err := ra.ReadAt(head, 0); err != nil && err != io.EOF {
		return pdfInfo{}, fmt.Errorf("workflow: read upload: %w", err)
	}
	if !bytes.HasPrefix(head, []byte("%PDF-")) {
		return pdfInfo{}, withDetail(ErrNotPDF, "the body does not start with %PDF-", nil)
	}
	r, err := pdf.Open(ra, size, pdf.WithBudget(budget))
	switch {
	case errors.Is(err, pdf.ErrEncrypted):
		return pdfInfo{}, withDetail(ErrEncryptedPDF, "encrypted PDFs are refused", err)
	case err != nil:
		return pdfInfo{}, malformed("the PDF's cross-reference data or trailer is unreadable", err)
	}
	_, cat, err := r.Catalog()
	if err != nil {
		return pdfInfo{}, malformed("the PDF has no readable document catalog", err)
	}
	pages, err := countPages(r, cat["Pages"])
	if err != nil {
		return pdfInfo{}, malformed("the PDF's page tree is broken: "+err.Error(), err)
	}
	if pages == 0 {
		return pdfInfo{}, withDetail(ErrMalformedPDF, "the PDF has no pages", nil)
	}
	switch err := pades.CheckSignable(r); {
	case errors.Is(err, pades.ErrCertified):
		return pdfInfo{}, withDetail(ErrCertifiedPDF, "the PDF carries a certification signature whose DocMDP permissions "+
			"(catalog /Perms /DocMDP, /TransformParams /P 1) forbid any change, so it can never be signed; "+
			"upload the document before it was certified", err)
	case err != nil:
		return pdfInfo{}, malformed("the PDF's certification permissions are unreadable", err)
	}
	sc := &scanner{r: r}
	for _, sec := range r.Sections {
		why, err := sc.object(sec.Trailer)
		if err != nil {
			return pdfInfo{}, malformed("a trailer of the PDF is unreadable", err)
		}
		if why != "" {
			return pdfInfo{}, activeContent(why, fmt.Sprintf("in the trailer at offset %d", sec.Offset))
		}
	}
	err = r.Objects(func(num int, o pdf.Object) error {
		why, err := sc.object(o)
		if err != nil {
			return err
		}
		if why != "" {
			return activeContent(why, "in object "+strconv.Itoa(num))
		}
		return nil
	})
	var refused *api.Error
	switch {
	case errors.As(err, &refused):
		return pdfInfo{}, err
	case err != nil:
		return pdfInfo{}, malformed("an object of the PDF does not parse", err)
	}
	return pdfInfo{Pages: pages}, nil
}

// activeContent returns the upload problem for active content.
func activeContent(why, where string) error {
	return withDetail(ErrActiveContent, "the PDF carries "+why+" ("+where+"); "+
		"a signature must cover what the signer sees, so documents with active content are refused", nil)
}

// malformed returns the upload problem for a parse failure: a spent
// decoding budget, or a malformed PDF.
func malformed(detail string, err error) error {
	var be *pdf.BudgetError
	if errors.As(err, &be) {
		return withDetail(ErrDecodeBudget, "the PDF decompresses to more than "+strconv.FormatInt(be.Limit, 10)+
			" bytes (streams decoded and read, and cross-reference entries), the limit for one document", err)
	}
	var se *pdf.StreamTooLargeError
	if errors.As(err, &se) {
		return withDetail(ErrDecodeBudget, "a stream of the PDF decompresses to more than "+strconv.FormatInt(se.Limit, 10)+
			" bytes, the limit for one stream", err)
	}
	return withDetail(ErrMalformedPDF, detail, err)
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
