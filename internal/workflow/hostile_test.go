package workflow

import (
	"bytes"
	"compress/zlib"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/pdf/pdftest"
)

// A HostilePDF is a test document the upload check must refuse, with a
// phrase its problem detail must contain.
type HostilePDF struct {
	Name   string
	Data   []byte
	Reason string
}

// HostilePDFs builds the documents with active content that uploads
// refuse; each hides it in a different place.
func HostilePDFs(tb testing.TB) []HostilePDF {
	tb.Helper()
	base := sample(tb)
	js := pdf.Dict{"S": pdf.Name("JavaScript"), "JS": pdf.String("app.alert(1)")}

	// JavaScript at the end of a chain of 40 actions nested directly in
	// one another through /Next (ISO 32000-1 §12.6.2).
	var nested pdf.Object = js
	for range 40 {
		nested = pdf.Dict{"S": pdf.Name("GoTo"), "D": pdf.Array{pdf.Integer(0), pdf.Name("Fit")}, "Next": nested}
	}
	deepNext := update(tb, base, func(r *pdf.Reader, u *pdf.Update) {
		setCatalogKey(tb, r, u, "OpenAction", nested)
	})
	// The same chain through 40 indirect objects.
	indirectNext := update(tb, base, func(r *pdf.Reader, u *pdf.Update) {
		next := u.Add(js)
		for range 40 {
			next = u.Add(pdf.Dict{"S": pdf.Name("GoTo"), "D": pdf.Array{pdf.Integer(0), pdf.Name("Fit")}, "Next": next})
		}
		setCatalogKey(tb, r, u, "OpenAction", next)
	})

	xfa := update(tb, base, func(r *pdf.Reader, u *pdf.Update) {
		packet := u.Add(&pdf.Stream{Dict: pdf.Dict{}, Data: []byte(`<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template xmlns="http://www.xfa.org/schema/xfa-template/3.3/"><subform name="f"><script contentType="application/x-javascript">app.alert(1)</script></subform></template></xdp:xdp>`)})
		setCatalogKey(tb, r, u, "AcroForm", pdf.Dict{"Fields": pdf.Array{}, "XFA": pdf.Array{pdf.String("template"), packet}})
	})

	attach := func(name, subtype string, content []byte) []byte {
		return update(tb, base, func(r *pdf.Reader, u *pdf.Update) {
			d := pdf.Dict{"Type": pdf.Name("EmbeddedFile"), "Filter": pdf.Name("FlateDecode")}
			if subtype != "" {
				d["Subtype"] = pdf.Name(subtype)
			}
			file := u.Add(&pdf.Stream{Dict: d, Data: deflate(tb, content)})
			spec := u.Add(pdf.Dict{"Type": pdf.Name("Filespec"), "F": pdf.String(name), "UF": pdf.String(name), "EF": pdf.Dict{"F": file}})
			setCatalogKey(tb, r, u, "Names", pdf.Dict{"EmbeddedFiles": pdf.Dict{"Names": pdf.Array{pdf.String(name), spec}}})
		})
	}
	pe := append([]byte("MZ\x90\x00\x03\x00\x00\x00"), bytes.Repeat([]byte{0}, 120)...)

	jsTree := update(tb, base, func(r *pdf.Reader, u *pdf.Update) {
		action := u.Add(js)
		leaf := u.Add(pdf.Dict{"Names": pdf.Array{pdf.String("init"), action}, "Limits": pdf.Array{pdf.String("init"), pdf.String("init")}})
		setCatalogKey(tb, r, u, "Names", pdf.Dict{"JavaScript": pdf.Dict{"Kids": pdf.Array{leaf}}})
	})
	annot := func(action pdf.Dict) []byte {
		return update(tb, base, func(r *pdf.Reader, u *pdf.Update) {
			ref, page, err := r.Page(1)
			if err != nil {
				tb.Fatal(err)
			}
			a := u.Add(pdf.Dict{"Type": pdf.Name("Annot"), "Subtype": pdf.Name("Link"),
				"Rect": pdf.Array{pdf.Integer(72), pdf.Integer(700), pdf.Integer(200), pdf.Integer(720)}, "A": action})
			p := page.Clone()
			p["Annots"] = pdf.Array{a}
			u.Set(ref, p)
		})
	}
	// indirect makes the document's open action the dictionary build
	// returns, built with the update so that it can add objects.
	indirect := func(build func(u *pdf.Update) pdf.Dict) []byte {
		return update(tb, base, func(r *pdf.Reader, u *pdf.Update) {
			setCatalogKey(tb, r, u, "OpenAction", u.Add(build(u)))
		})
	}
	// JavaScript in an earlier revision only: a later update removes it
	// from the catalog, but a viewer showing that revision runs it.
	earlier := update(tb, update(tb, base, func(r *pdf.Reader, u *pdf.Update) {
		setCatalogKey(tb, r, u, "OpenAction", js)
	}), func(r *pdf.Reader, u *pdf.Update) {
		ref, cat, err := r.Catalog()
		if err != nil {
			tb.Fatal(err)
		}
		c := cat.Clone()
		delete(c, "OpenAction")
		u.Set(ref, c)
	})

	return []HostilePDF{
		{"javascript at depth 40 through /Next", deepNext, "JavaScript"},
		{"javascript after 40 indirect /Next actions", indirectNext, "JavaScript"},
		{"xfa form with a script", xfa, "XFA"},
		{"launch action", update(tb, base, func(r *pdf.Reader, u *pdf.Update) {
			setCatalogKey(tb, r, u, "OpenAction", pdf.Dict{"S": pdf.Name("Launch"), "F": pdf.String("calc.exe")})
		}), "launch action"},
		{"embedded .exe", attach("setup.exe", "", []byte("not really")), `"setup.exe"`},
		{"embedded executable by its first bytes", attach("invoice.txt", "text/plain", pe), "Windows executable"},
		{"embedded executable by its MIME type", attach("report.dat", "application/x-msdownload", []byte("plain")), "application/x-msdownload"},
		{"embedded shell script", attach("notes", "", []byte("#!/bin/sh\nrm -rf ~\n")), "script"},
		{"embedded pdf", attach("annex", "", base), "PDF document"},
		{"javascript in an object stream", objectStreamJS(tb, base), "JavaScript"},
		{"javascript only an object stream holds", pdftest.ObjectStreams(1, 0, "<</FT /Tx /T (name)>>", "<</S /JavaScript /JS (app.alert(1))>>"), "a JavaScript action (in object 999999)"},
		{"javascript name tree", jsTree, "JavaScript name tree"},
		{"javascript in an annotation action", annot(js), "JavaScript"},
		{"rendition action with javascript", annot(pdf.Dict{"S": pdf.Name("Rendition"), "OP": pdf.Integer(4), "JS": pdf.String("app.alert(1)")}), "JavaScript (/JS)"},
		{"javascript: link", annot(pdf.Dict{"S": pdf.Name("URI"), "URI": pdf.String(" Java\tScript:app.alert(1)")}), "javascript: address"},
		{"file: link", annot(pdf.Dict{"S": pdf.Name("URI"), "URI": pdf.String("file:///C:/Windows/System32/calc.exe")}), "file: address"},
		{"submit-form action", annot(pdf.Dict{"S": pdf.Name("SubmitForm"), "F": pdf.Dict{"FS": pdf.Name("URL"), "F": pdf.String("https://example.com/collect")}}), "submit-form"},
		{"javascript in an earlier revision", earlier, "JavaScript"},
		// Viewers resolve every value, so an indirect /S, /URI, /Subtype
		// or file name counts as much as a direct one.
		{"launch action through an indirect /S", indirect(func(u *pdf.Update) pdf.Dict {
			return pdf.Dict{"S": u.Add(pdf.Name("Launch")), "F": pdf.String("calc.exe")}
		}), "launch action"},
		{"submit-form action through an indirect /S", indirect(func(u *pdf.Update) pdf.Dict {
			return pdf.Dict{"S": u.Add(pdf.Name("SubmitForm")), "F": pdf.Dict{"FS": pdf.Name("URL"), "F": pdf.String("https://example.com/collect")}}
		}), "submit-form"},
		{"javascript: link through an indirect /URI", indirect(func(u *pdf.Update) pdf.Dict {
			return pdf.Dict{"S": pdf.Name("URI"), "URI": u.Add(pdf.String("javascript:app.alert(1)"))}
		}), "javascript: address"},
		{"rich-media annotation through an indirect /Subtype", update(tb, base, func(r *pdf.Reader, u *pdf.Update) {
			ref, page, err := r.Page(1)
			if err != nil {
				tb.Fatal(err)
			}
			a := u.Add(pdf.Dict{"Type": pdf.Name("Annot"), "Subtype": u.Add(pdf.Name("RichMedia")),
				"Rect": pdf.Array{pdf.Integer(72), pdf.Integer(700), pdf.Integer(200), pdf.Integer(720)}})
			p := page.Clone()
			p["Annots"] = pdf.Array{a}
			u.Set(ref, p)
		}), "rich-media annotation"},
		// The catalog's URI dictionary (§12.6.4.7): relative links resolve
		// against /Base, so a file: base makes a relative link a file link.
		{"file: base of relative links", update(tb, annot(pdf.Dict{"S": pdf.Name("URI"), "URI": pdf.String("calc.exe")}), func(r *pdf.Reader, u *pdf.Update) {
			setCatalogKey(tb, r, u, "URI", pdf.Dict{"Base": pdf.String("file:///C:/Windows/System32/")})
		}), "file: address"},
		{"embedded .bat named through an indirect string", update(tb, base, func(r *pdf.Reader, u *pdf.Update) {
			file := u.Add(&pdf.Stream{Dict: pdf.Dict{"Type": pdf.Name("EmbeddedFile")}, Data: []byte("calc\r\n")})
			name := u.Add(pdf.String("run.bat"))
			spec := u.Add(pdf.Dict{"Type": pdf.Name("Filespec"), "F": name, "UF": name, "EF": pdf.Dict{"F": file}})
			setCatalogKey(tb, r, u, "Names", pdf.Dict{"EmbeddedFiles": pdf.Dict{"Names": pdf.Array{pdf.String("a"), spec}}})
		}), `"run.bat"`},
	}
}

// BenignPDFs builds documents the upload check must accept: links, an
// attached XML invoice, object streams.
func BenignPDFs(tb testing.TB) map[string][]byte {
	tb.Helper()
	base := sample(tb)
	withLink := update(tb, base, func(r *pdf.Reader, u *pdf.Update) {
		ref, page, err := r.Page(1)
		if err != nil {
			tb.Fatal(err)
		}
		link := u.Add(pdf.Dict{"Type": pdf.Name("Annot"), "Subtype": pdf.Name("Link"),
			"Rect": pdf.Array{pdf.Integer(72), pdf.Integer(700), pdf.Integer(200), pdf.Integer(720)},
			"A":    pdf.Dict{"S": pdf.Name("URI"), "URI": pdf.String("https://example.com/terms")}})
		p := page.Clone()
		p["Annots"] = pdf.Array{link}
		u.Set(ref, p)
	})
	invoice := update(tb, withLink, func(r *pdf.Reader, u *pdf.Update) {
		file := u.Add(&pdf.Stream{Dict: pdf.Dict{"Type": pdf.Name("EmbeddedFile"), "Subtype": pdf.Name("text/xml"), "Filter": pdf.Name("FlateDecode")},
			Data: deflate(tb, []byte(`<?xml version="1.0"?><Invoice/>`))})
		spec := u.Add(pdf.Dict{"Type": pdf.Name("Filespec"), "F": pdf.String("factur-x.xml"), "UF": pdf.String("factur-x.xml"), "EF": pdf.Dict{"F": file}})
		setCatalogKey(tb, r, u, "Names", pdf.Dict{"EmbeddedFiles": pdf.Dict{"Names": pdf.Array{pdf.String("factur-x.xml"), spec}}})
	})
	webBase := update(tb, withLink, func(r *pdf.Reader, u *pdf.Update) {
		setCatalogKey(tb, r, u, "URI", pdf.Dict{"Base": pdf.String("https://example.com/docs/")})
	})
	return map[string][]byte{
		"uri link":             withLink,
		"https base of links":  webBase,
		"xml attachment":       invoice,
		"object streams":       qpdf(tb, withLink, "--object-streams=generate"),
		"large object streams": pdftest.ObjectStreams(2, 4<<20, "<</FT /Tx /T (name)>>", "<</Type /Annot /Subtype /Text>>"),
	}
}

func sample(tb testing.TB) []byte {
	tb.Helper()
	var b bytes.Buffer
	if err := pdf.WriteSample(&b, pdf.SampleOptions{Pages: 1, Title: "hostile"}); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

func update(tb testing.TB, base []byte, fn func(r *pdf.Reader, u *pdf.Update)) []byte {
	tb.Helper()
	r, err := pdf.Open(bytes.NewReader(base), int64(len(base)))
	if err != nil {
		tb.Fatal(err)
	}
	u := pdf.NewUpdate(r)
	fn(r, u)
	built, err := u.Build()
	if err != nil {
		tb.Fatal(err)
	}
	return append(bytes.Clone(base), built.Data...)
}

func setCatalogKey(tb testing.TB, r *pdf.Reader, u *pdf.Update, key pdf.Name, v pdf.Object) {
	tb.Helper()
	ref, cat, err := r.Catalog()
	if err != nil {
		tb.Fatal(err)
	}
	c := cat.Clone()
	c[key] = v
	u.Set(ref, c)
}

func deflate(tb testing.TB, data []byte) []byte {
	tb.Helper()
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	w.Write(data)
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// objectStreamJS puts a JavaScript open action in its own object and has
// qpdf move it into an object stream.
func objectStreamJS(tb testing.TB, base []byte) []byte {
	tb.Helper()
	doc := update(tb, base, func(r *pdf.Reader, u *pdf.Update) {
		a := u.Add(pdf.Dict{"Type": pdf.Name("Action"), "S": pdf.Name("JavaScript"), "JS": pdf.String("app.alert(1)")})
		setCatalogKey(tb, r, u, "OpenAction", a)
	})
	out := qpdf(tb, doc, "--object-streams=generate")
	r, err := pdf.Open(bytes.NewReader(out), int64(len(out)))
	if err != nil {
		tb.Fatal(err)
	}
	_, cat, err := r.Catalog()
	if err != nil {
		tb.Fatal(err)
	}
	ref, ok := cat["OpenAction"].(pdf.Ref)
	if !ok || !r.InObjectStream(ref.Num) {
		tb.Fatalf("qpdf left the open action %v outside an object stream", cat["OpenAction"])
	}
	return out
}

// qpdf runs qpdf with args over doc and returns its output.
func qpdf(tb testing.TB, doc []byte, args ...string) []byte {
	tb.Helper()
	dir := tb.TempDir()
	in, out := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "out.pdf")
	if err := os.WriteFile(in, doc, 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command("qpdf", append(args, in, out)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("qpdf (make test installs it): %v: %s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
