package pades

import (
	"bytes"
	"errors"
	"testing"

	"github.com/signet-pki/signet/internal/pdf"
)

// TestCheckSignableIndirectPermission: a certification whose DocMDP
// permission P is written as an indirect object forbids any change as
// much as a direct P 1 does (viewers resolve the reference), and an
// indirect P 2 permits signing.
func TestCheckSignableIndirectPermission(t *testing.T) {
	tests := []struct {
		name string
		p    func(u *pdf.Update) pdf.Object
		want error
	}{
		{"direct P 1", func(*pdf.Update) pdf.Object { return pdf.Integer(1) }, ErrCertified},
		{"indirect P 1", func(u *pdf.Update) pdf.Object { return u.Add(pdf.Integer(1)) }, ErrCertified},
		{"indirect P 2", func(u *pdf.Update) pdf.Object { return u.Add(pdf.Integer(2)) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var base bytes.Buffer
			if err := pdf.WriteSample(&base, pdf.SampleOptions{Pages: 1, Title: "certified"}); err != nil {
				t.Fatal(err)
			}
			r, err := pdf.Open(bytes.NewReader(base.Bytes()), int64(base.Len()))
			if err != nil {
				t.Fatal(err)
			}
			ref, cat, err := r.Catalog()
			if err != nil {
				t.Fatal(err)
			}
			u := pdf.NewUpdate(r)
			sig := u.Add(pdf.Dict{"Type": pdf.Name("Sig"), "Reference": pdf.Array{pdf.Dict{
				"Type": pdf.Name("SigRef"), "TransformMethod": pdf.Name("DocMDP"),
				"TransformParams": pdf.Dict{"Type": pdf.Name("TransformParams"), "P": tt.p(u), "V": pdf.Name("1.2")},
			}}})
			c := cat.Clone()
			c["Perms"] = pdf.Dict{"DocMDP": sig}
			u.Set(ref, c)
			b, err := u.Build()
			if err != nil {
				t.Fatal(err)
			}
			doc := append(base.Bytes(), b.Data...)
			r, err = pdf.Open(bytes.NewReader(doc), int64(len(doc)))
			if err != nil {
				t.Fatal(err)
			}
			if err := CheckSignable(r); !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Errorf("CheckSignable = %v, want %v", err, tt.want)
			}
		})
	}
}
