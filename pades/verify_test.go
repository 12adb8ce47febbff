package pades

import (
	"bytes"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/testpki"
)

// appendRevision appends an incremental update made by change to the file at
// path, as another tool editing the signed document would.
func appendRevision(t *testing.T, path string, change func(r *pdf.Reader, u *pdf.Update)) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
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
	out := filepath.Join(t.TempDir(), "edited.pdf")
	if err := os.WriteFile(out, append(data, b.Data...), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTamperFlippedByte flips one byte in each signed region and expects
// the signatures covering it, and only those, to fail by name.
func TestTamperFlippedByte(t *testing.T) {
	p := sharedPKI(t)
	two := signFile(t, signFile(t, corpusPath("classic.pdf"), p.options(LevelBT)), p.options(LevelBT))
	data, _ := os.ReadFile(two)
	rep := verifyFile(t, two, p.roots)
	requireValid(t, rep, 2)
	first, second := rep.Signatures[0].ByteRange, rep.Signatures[1].ByteRange
	cases := []struct {
		name    string
		offset  int64
		invalid []string // fields that must be invalid
	}{
		{"header", 10, []string{"Signature1", "Signature2"}},
		{"first revision, before its contents", first[1] - 40, []string{"Signature1", "Signature2"}},
		{"first revision, after its contents", first[2] + 5, []string{"Signature1", "Signature2"}},
		{"second signature's /M", int64(bytes.Index(data[first[2]+first[3]:], []byte("(D:"))) + first[2] + first[3] + 6, []string{"Signature2"}},
		{"last bytes of the file", second[2] + second[3] - 3, []string{"Signature2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := append([]byte{}, data...)
			bad[c.offset] ^= 0x01
			r, err := Verify(bytes.NewReader(bad), int64(len(bad)), VerifyOptions{Roots: p.roots})
			if err != nil {
				// A flip may break the structure (an xref digit): that is
				// unusable input, also a detection.
				t.Logf("unusable after flip at %d: %v", c.offset, err)
				return
			}
			if r.Valid {
				t.Fatalf("flip at %d not detected", c.offset)
			}
			want := map[string]bool{}
			for _, f := range c.invalid {
				want[f] = true
			}
			for _, s := range r.Signatures {
				if want[s.Field] && s.Indication != TotalFailed {
					t.Errorf("%s: %s, want TOTAL-FAILED", s.Field, s.Indication)
				}
				if !want[s.Field] && s.Indication != TotalPassed {
					t.Errorf("%s: %s (%s), want TOTAL-PASSED", s.Field, s.Indication, s.Reason)
				}
			}
		})
	}
}

// TestModificationAfterSigning: a later revision that changes page content,
// deletes an object or adds a page is a modification; form filling after an
// approval signature is permitted, after a P=1 certification it is not.
func TestModificationAfterSigning(t *testing.T) {
	p := sharedPKI(t)
	signed := signFile(t, corpusPath("acroform.pdf"), p.options(LevelBT))

	pageContent := func(r *pdf.Reader, u *pdf.Update) {
		_, page, err := r.Page(1)
		if err != nil {
			t.Fatal(err)
		}
		ref := page["Contents"].(pdf.Ref)
		u.Set(ref, &pdf.Stream{Dict: pdf.Dict{}, Data: []byte("BT /F1 24 Tf 72 400 Td (PAY 1,000,000) Tj ET")})
	}
	fillText := func(r *pdf.Reader, u *pdf.Update) {
		_, cat, _ := r.Catalog()
		acro, _ := r.Dict(cat["AcroForm"])
		fields, _ := r.Resolve(acro["Fields"])
		for _, f := range fields.(pdf.Array) {
			d, _ := r.Dict(f)
			if d.Name("FT") == "Tx" {
				d = d.Clone()
				d["V"] = pdf.String("filled in")
				u.Set(f.(pdf.Ref), d)
				return
			}
		}
		t.Fatal("acroform.pdf has no text field")
	}
	cases := []struct {
		name     string
		base     string
		change   func(*pdf.Reader, *pdf.Update)
		modified bool
		mention  string
	}{
		{"page content replaced", signed, pageContent, true, "changed"},
		{"form filled after approval", signed, fillText, false, "filled in"},
		{"info dictionary rewritten", signed, func(r *pdf.Reader, u *pdf.Update) {
			u.Set(r.Trailer["Info"].(pdf.Ref), pdf.Dict{"Title": pdf.String("Another title")})
		}, true, "changed"},
	}
	if _, ok := mustOpen(t, signed).Trailer["Info"].(pdf.Ref); !ok {
		cases = cases[:2]
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			edited := appendRevision(t, c.base, c.change)
			checkQpdf(t, edited)
			rep := verifyFile(t, edited, p.roots)
			s := rep.Signatures[0]
			all := strings.Join(append(append([]string{}, s.Modifications...), s.PermittedChanges...), "; ")
			if c.modified {
				if s.Indication != TotalFailed || s.SubIndication != ModifiedAfterSigning || len(s.Modifications) == 0 {
					t.Fatalf("got %s/%s, modifications %v; want MODIFIED_AFTER_SIGNING", s.Indication, s.SubIndication, s.Modifications)
				}
			} else {
				requireValid(t, rep, 1)
			}
			if !strings.Contains(all, c.mention) {
				t.Errorf("changes %q do not mention %q", all, c.mention)
			}
		})
	}

	t.Run("form filled after P=1 certification", func(t *testing.T) {
		o := p.options(LevelBT)
		o.Certify = 1
		certified := signFile(t, corpusPath("acroform.pdf"), o)
		edited := appendRevision(t, certified, fillText)
		s := verifyFile(t, edited, p.roots).Signatures[0]
		if s.SubIndication != ModifiedAfterSigning {
			t.Fatalf("got %s/%s, want MODIFIED_AFTER_SIGNING", s.Indication, s.SubIndication)
		}
	})
	t.Run("empty revision", func(t *testing.T) {
		edited := appendRevision(t, signed, func(r *pdf.Reader, u *pdf.Update) {})
		requireValid(t, verifyFile(t, edited, p.roots), 1)
	})
}

func mustOpen(t *testing.T, path string) *pdf.Reader {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := pdf.Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestTrust: without trust anchors, or with the wrong ones, a signature is
// INDETERMINATE with NO_CERTIFICATE_CHAIN_FOUND, never valid.
func TestTrust(t *testing.T) {
	p := sharedPKI(t)
	signed := signFile(t, corpusPath("classic.pdf"), p.options(LevelBT))
	other, err := testpki.NewRoot("Unrelated Root", testpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	for name, roots := range map[string]*Report{
		"no anchors":    verifyFile(t, signed, nil),
		"other anchors": verifyFile(t, signed, pool([]*x509.Certificate{other.Cert})),
	} {
		s := roots.Signatures[0]
		if s.Indication != Indeterminate || s.SubIndication != NoCertificateChainFound || roots.Valid {
			t.Errorf("%s: %s/%s valid=%v, want INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND", name, s.Indication, s.SubIndication, roots.Valid)
		}
	}
}
