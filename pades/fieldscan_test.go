package pades

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/pdfsigtest"
)

// listedFieldNames returns the /Fields array of r's AcroForm and the names
// of the terminal fields it reaches.
func listedFieldNames(t *testing.T, r *pdf.Reader) (pdf.Array, []string) {
	t.Helper()
	_, cat, err := r.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	acro, err := r.Dict(cat["AcroForm"])
	if err != nil || acro == nil {
		t.Fatalf("no AcroForm: %v", err)
	}
	fl, err := r.Resolve(acro["Fields"])
	if err != nil {
		t.Fatal(err)
	}
	arr, _ := fl.(pdf.Array)
	var names []string
	if err := walkFields(r, arr, "", 0, func(n string, _ pdf.Ref, _ pdf.Dict) { names = append(names, n) }); err != nil {
		t.Fatal(err)
	}
	return arr, names
}

// pageWidgetNames returns the /T of the widgets in page 1's /Annots.
func pageWidgetNames(t *testing.T, r *pdf.Reader) []string {
	t.Helper()
	_, page, err := r.Page(1)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := r.Resolve(page["Annots"])
	arr, _ := a.(pdf.Array)
	var names []string
	for _, e := range arr {
		if d, _ := r.Dict(e); d.Name("Subtype") == "Widget" {
			tv, _ := d["T"].(pdf.String)
			names = append(names, string(tv))
		}
	}
	return names
}

// TestPdfsigSignatureOutsideFields signs samples with poppler's
// `pdfsig -add-signature`, which, when the catalog holds the AcroForm
// directly, puts the new field in the page's /Annots but not in /Fields
// (left empty for emptyform.pdf). Verify must find the signature, judge it
// as pdfsig does (valid, trusted) and warn that the form does not list it.
func TestPdfsigSignatureOutsideFields(t *testing.T) {
	nss := pdfsigtest.New(t)
	roots := pool([]*x509.Certificate{nss.Root})
	for _, c := range []struct {
		sample      string
		emptyFields bool
	}{
		{"emptyform.pdf", true},
		{"acroform.pdf", false},
	} {
		t.Run(c.sample, func(t *testing.T) {
			signed := nss.AddSignature(t, corpusPath(c.sample), "Sig1")

			// The shape under test, as pdfsig wrote it.
			r := mustOpen(t, signed)
			fields, names := listedFieldNames(t, r)
			if slices.Contains(names, "Sig1") {
				t.Fatalf("pdfsig listed Sig1 in /Fields (%v): the file no longer has a signature outside the form", names)
			}
			if c.emptyFields && len(fields) != 0 {
				t.Fatalf("/Fields is %v, want empty", fields)
			}
			if !slices.Contains(pageWidgetNames(t, r), "Sig1") {
				t.Fatalf("Sig1 is not among page 1's widgets %v", pageWidgetNames(t, r))
			}

			// pdfsig's own verdict.
			out := nss.Report(t, signed)
			for _, want := range []string{"Signature Field Name: Sig1", "Signature Validation: Signature is Valid.", "Certificate Validation: Certificate is Trusted."} {
				if !strings.Contains(out, want) {
					t.Errorf("pdfsig does not report %q:\n%s", want, out)
				}
			}

			rep := verifyFile(t, signed, roots)
			requireValid(t, rep, 1)
			s := rep.Signatures[0]
			if s.Field != "Sig1" || s.Kind != "approval" || s.SubFilter != "adbe.pkcs7.detached" || !s.CoversWholeFile || s.Verdict != "valid" {
				t.Errorf("got field %q kind %s sub-filter %s whole file %v verdict %s", s.Field, s.Kind, s.SubFilter, s.CoversWholeFile, s.Verdict)
			}
			if s.Signer == nil || s.Signer.Subject != nss.Cert.Subject.String() {
				t.Errorf("signer %+v, want %s", s.Signer, nss.Cert.Subject)
			}
			if len(s.Warnings) != 1 || s.Warnings[0].Name != WarningFieldNotInForm || !strings.Contains(s.Warnings[0].Detail, "/Fields") || !strings.Contains(s.Warnings[0].Detail, "page 1") {
				t.Errorf("warnings %+v, want one %s naming /Fields and page 1", s.Warnings, WarningFieldNotInForm)
			}
			checkOpenSSL(t, signed, nss.RootPEM, rep)
		})
	}
}

// TestSignAfterPdfsigOutsideFields: Signet counts a signature outside the
// form as a signature when it signs (a certification is refused, the new
// field gets another name) and the first signature stays valid, with its
// warning, once the second is added.
func TestSignAfterPdfsigOutsideFields(t *testing.T) {
	nss := pdfsigtest.New(t)
	p := sharedPKI(t)
	first := nss.AddSignature(t, corpusPath("emptyform.pdf"), "Signature1")

	data, err := os.ReadFile(first)
	if err != nil {
		t.Fatal(err)
	}
	o := p.options(LevelBB)
	o.Certify = 2
	if err := Sign(context.Background(), &bytes.Buffer{}, bytes.NewReader(data), int64(len(data)), o); !errors.Is(err, ErrAlreadySigned) {
		t.Errorf("certifying a document signed outside its form: %v, want ErrAlreadySigned", err)
	}

	second := signFile(t, first, p.options(LevelBT))
	roots := pool([]*x509.Certificate{nss.Root, p.root.Cert})
	rep := verifyFile(t, second, roots)
	requireValid(t, rep, 2)
	a, b := rep.Signatures[0], rep.Signatures[1]
	if a.Field != "Signature1" || b.Field == a.Field {
		t.Errorf("fields %q and %q, want Signature1 and another name", a.Field, b.Field)
	}
	if len(a.Warnings) != 1 || a.Warnings[0].Name != WarningFieldNotInForm {
		t.Errorf("first signature warnings %+v, want %s", a.Warnings, WarningFieldNotInForm)
	}
	if len(b.Warnings) != 0 {
		t.Errorf("Signet's own signature has warnings %+v", b.Warnings)
	}
	if !slices.ContainsFunc(a.PermittedChanges, func(s string) bool { return strings.Contains(s, "signature added") }) {
		t.Errorf("first signature's permitted changes %v do not list the added signature", a.PermittedChanges)
	}
	out := nss.Report(t, second)
	if n := strings.Count(out, "Signature Validation: Signature is Valid."); n != 2 {
		t.Errorf("pdfsig: %d valid signatures, want 2:\n%s", n, out)
	}
}

// TestLaterSignatureWidgetOutsideFields: a later revision that adds, to a
// page only, a signature field whose widget is a separate kid (/FT on the
// parent) is the same permitted change as one listed in the form; a text
// field added the same way is a modification.
func TestLaterSignatureWidgetOutsideFields(t *testing.T) {
	p := sharedPKI(t)
	signed := signFile(t, corpusPath("classic.pdf"), p.options(LevelBB))
	addField := func(ft pdf.Name) func(r *pdf.Reader, u *pdf.Update) {
		return func(r *pdf.Reader, u *pdf.Update) {
			pageRef, page, err := r.Page(1)
			if err != nil {
				t.Fatal(err)
			}
			field := u.Reserve()
			widget := u.Add(pdf.Dict{"Type": pdf.Name("Annot"), "Subtype": pdf.Name("Widget"), "Parent": field,
				"Rect": pdf.Array{pdf.Integer(0), pdf.Integer(0), pdf.Integer(0), pdf.Integer(0)}, "P": pageRef})
			u.Set(field, pdf.Dict{"FT": ft, "T": pdf.String("Later"), "Kids": pdf.Array{widget}})
			annots, ok := page["Annots"].(pdf.Array)
			if !ok {
				t.Fatalf("page 1 /Annots is %T, want a direct array", page["Annots"])
			}
			np := page.Clone()
			np["Annots"] = append(append(pdf.Array{}, annots...), widget)
			u.Set(pageRef, np)
		}
	}
	t.Run("signature field", func(t *testing.T) {
		edited := appendRevision(t, signed, addField("Sig"))
		checkQpdf(t, edited)
		rep := verifyFile(t, edited, p.roots)
		requireValid(t, rep, 1)
		if len(rep.Signatures[0].Modifications) != 0 {
			t.Errorf("modifications %v", rep.Signatures[0].Modifications)
		}
	})
	t.Run("text field", func(t *testing.T) {
		edited := appendRevision(t, signed, addField("Tx"))
		s := verifyFile(t, edited, p.roots).Signatures[0]
		if s.SubIndication != ModifiedAfterSigning || !slices.ContainsFunc(s.Modifications, func(m string) bool { return strings.Contains(m, "annotations changed") }) {
			t.Errorf("got %s/%s, modifications %v; want MODIFIED_AFTER_SIGNING for the annotations", s.Indication, s.SubIndication, s.Modifications)
		}
	})
}

// withRevision returns data with an incremental update made by change
// appended.
func withRevision(t testing.TB, data []byte, change func(r *pdf.Reader, u *pdf.Update)) []byte {
	t.Helper()
	r, err := pdf.Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	u := pdf.NewUpdate(r)
	change(r, u)
	b, err := u.Build()
	if err != nil {
		t.Fatal(err)
	}
	return append(append([]byte{}, data...), b.Data...)
}

// fieldShape edits a document to give it a particular arrangement of form
// fields and widget annotations.
type fieldShape struct {
	name string
	base string // corpus sample
	edit func(t testing.TB, r *pdf.Reader, u *pdf.Update)
}

// setAnnots sets page n's /Annots.
func setAnnots(t testing.TB, r *pdf.Reader, u *pdf.Update, n int, annots ...pdf.Object) {
	t.Helper()
	ref, page, err := r.Page(n)
	if err != nil {
		t.Fatal(err)
	}
	np := page.Clone()
	np["Annots"] = pdf.Array(annots)
	u.Set(ref, np)
}

// setFields sets the catalog's AcroForm to a direct dictionary with /Fields.
func setFields(t testing.TB, r *pdf.Reader, u *pdf.Update, fields ...pdf.Object) {
	t.Helper()
	ref, cat, err := r.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	nc := cat.Clone()
	nc["AcroForm"] = pdf.Dict{"Fields": pdf.Array(append([]pdf.Object{}, fields...))}
	u.Set(ref, nc)
}

func widget(extra pdf.Dict) pdf.Dict {
	d := pdf.Dict{"Type": pdf.Name("Annot"), "Subtype": pdf.Name("Widget"),
		"Rect": pdf.Array{pdf.Integer(0), pdf.Integer(0), pdf.Integer(0), pdf.Integer(0)}}
	for k, v := range extra {
		d[k] = v
	}
	return d
}

// fakeSig is a signature dictionary whose byte range and contents are not a
// signature: enough for discovery, FORMAT_FAILURE for validation.
func fakeSig() pdf.Dict {
	return pdf.Dict{"Type": pdf.Name("Sig"), "Filter": pdf.Name("Adobe.PPKLite"), "SubFilter": pdf.Name("ETSI.CAdES.detached"),
		"ByteRange": pdf.Array{pdf.Integer(0), pdf.Integer(10), pdf.Integer(20), pdf.Integer(10)}, "Contents": pdf.String("\x30\x00")}
}

// fieldShapes are the arrangements TestScanFields checks and FuzzVerify
// starts from.
var fieldShapes = []struct {
	fieldShape
	want []string // "name inForm page" of each field found
	err  string
}{
	{fieldShape{"listed and on the page", "emptyform.pdf", func(t testing.TB, r *pdf.Reader, u *pdf.Update) {
		w := u.Add(widget(pdf.Dict{"FT": pdf.Name("Sig"), "T": pdf.String("S"), "V": u.Add(fakeSig())}))
		setFields(t, r, u, w)
		setAnnots(t, r, u, 1, w)
	}}, []string{"S true 0"}, ""},
	{fieldShape{"on the page only", "emptyform.pdf", func(t testing.TB, r *pdf.Reader, u *pdf.Update) {
		w := u.Add(widget(pdf.Dict{"FT": pdf.Name("Sig"), "T": pdf.String("S"), "V": u.Add(fakeSig())}))
		setAnnots(t, r, u, 1, w)
	}}, []string{"S false 1"}, ""},
	{fieldShape{"no AcroForm at all", "classic.pdf", func(t testing.TB, r *pdf.Reader, u *pdf.Update) {
		w := u.Add(widget(pdf.Dict{"FT": pdf.Name("Sig"), "T": pdf.String("S"), "V": u.Add(fakeSig())}))
		setAnnots(t, r, u, 2, w)
	}}, []string{"S false 2"}, ""},
	{fieldShape{"widget kid of a listed field", "emptyform.pdf", func(t testing.TB, r *pdf.Reader, u *pdf.Update) {
		f := u.Reserve()
		w := u.Add(widget(pdf.Dict{"Parent": f}))
		u.Set(f, pdf.Dict{"FT": pdf.Name("Sig"), "T": pdf.String("S"), "V": u.Add(fakeSig()), "Kids": pdf.Array{w}})
		setFields(t, r, u, f)
		setAnnots(t, r, u, 1, w)
	}}, []string{"S true 0"}, ""},
	{fieldShape{"several widget kids on two pages, /V repeated", "classic.pdf", func(t testing.TB, r *pdf.Reader, u *pdf.Update) {
		f, sig := u.Reserve(), u.Add(fakeSig())
		w1 := u.Add(widget(pdf.Dict{"Parent": f, "V": sig}))
		w2 := u.Add(widget(pdf.Dict{"Parent": f, "V": sig}))
		w3 := u.Add(widget(pdf.Dict{"Parent": f, "V": sig}))
		u.Set(f, pdf.Dict{"FT": pdf.Name("Sig"), "T": pdf.String("S"), "V": sig, "Kids": pdf.Array{w1, w2, w3}})
		setFields(t, r, u, f)
		setAnnots(t, r, u, 1, w1, w2)
		setAnnots(t, r, u, 2, w3)
	}}, []string{"S true 0"}, ""},
	{fieldShape{"widget kid of an unlisted nested field", "emptyform.pdf", func(t testing.TB, r *pdf.Reader, u *pdf.Update) {
		top, f := u.Reserve(), u.Reserve()
		w := u.Add(widget(pdf.Dict{"Parent": f}))
		u.Set(top, pdf.Dict{"T": pdf.String("outer"), "FT": pdf.Name("Sig"), "Kids": pdf.Array{f}})
		u.Set(f, pdf.Dict{"T": pdf.String("inner"), "Parent": top, "V": u.Add(fakeSig()), "Kids": pdf.Array{w}})
		setAnnots(t, r, u, 1, w)
	}}, []string{"outer.inner false 1"}, ""},
	{fieldShape{"same widget on both pages, other annotations ignored", "classic.pdf", func(t testing.TB, r *pdf.Reader, u *pdf.Update) {
		w := u.Add(widget(pdf.Dict{"FT": pdf.Name("Sig"), "T": pdf.String("S"), "V": u.Add(fakeSig())}))
		link := u.Add(pdf.Dict{"Type": pdf.Name("Annot"), "Subtype": pdf.Name("Link")})
		setAnnots(t, r, u, 1, link, pdf.Integer(7), pdf.Null{}, w)
		setAnnots(t, r, u, 2, w, widget(pdf.Dict{"FT": pdf.Name("Tx"), "T": pdf.String("text")}))
	}}, []string{"S false 1", "text false 2"}, ""},
	{fieldShape{"page tree loop", "emptyform.pdf", func(t testing.TB, r *pdf.Reader, u *pdf.Update) {
		_, cat, _ := r.Catalog()
		pages := cat["Pages"].(pdf.Ref)
		node, _ := r.Dict(pages)
		nn := node.Clone()
		nn["Kids"] = append(append(pdf.Array{}, nn["Kids"].(pdf.Array)...), pages)
		u.Set(pages, nn)
		w := u.Add(widget(pdf.Dict{"FT": pdf.Name("Sig"), "T": pdf.String("S"), "V": u.Add(fakeSig())}))
		setAnnots(t, r, u, 1, w)
	}}, []string{"S false 1"}, ""},
	{fieldShape{"parent loop", "emptyform.pdf", func(t testing.TB, r *pdf.Reader, u *pdf.Update) {
		a, b := u.Reserve(), u.Reserve()
		u.Set(a, pdf.Dict{"T": pdf.String("a"), "Parent": b})
		u.Set(b, pdf.Dict{"T": pdf.String("b"), "Parent": a})
		setAnnots(t, r, u, 1, u.Add(widget(pdf.Dict{"Parent": a})))
	}}, nil, "nested too deeply"},
}

// build applies the shape to its base sample.
func (s fieldShape) build(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(corpusPath(s.base))
	if err != nil {
		t.Fatal(err)
	}
	return withRevision(t, data, func(r *pdf.Reader, u *pdf.Update) { s.edit(t, r, u) })
}

// TestScanFields checks which fields scanFields finds, once each, and
// whether each is listed in the form; Verify reports the signatures among
// them with the warning exactly for those outside the form.
func TestScanFields(t *testing.T) {
	for _, c := range fieldShapes {
		t.Run(c.name, func(t *testing.T) {
			data := c.build(t)
			r, err := pdf.Open(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			err = scanFields(r, func(f formField) {
				got = append(got, fmt.Sprintf("%s %v %d", f.name, f.inForm, f.page))
			})
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("scanFields: %v, want an error containing %q", err, c.err)
				}
				if _, err := Verify(bytes.NewReader(data), int64(len(data)), VerifyOptions{}); err == nil {
					t.Errorf("Verify accepted the document")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("fields %q, want %q", got, c.want)
			}
			rep, err := Verify(bytes.NewReader(data), int64(len(data)), VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Signatures) != 1 {
				t.Fatalf("%d signatures, want 1", len(rep.Signatures))
			}
			s := rep.Signatures[0]
			outside := strings.Contains(c.want[0], " false ")
			if got := len(s.Warnings) == 1 && s.Warnings[0].Name == WarningFieldNotInForm; got != outside {
				t.Errorf("warnings %+v, want the %s warning: %v", s.Warnings, WarningFieldNotInForm, outside)
			}
			if s.Indication != TotalFailed || s.SubIndication != FormatFailure {
				t.Errorf("fake signature: %s/%s, want TOTAL-FAILED/FORMAT_FAILURE", s.Indication, s.SubIndication)
			}
		})
	}
}
