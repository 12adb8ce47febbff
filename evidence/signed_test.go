package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"strings"
	"testing"
	"time"
)

// digestSigner "signs" with the manifest's SHA-256: deterministic, so
// that two writers' outputs can be compared byte for byte.
type digestSigner struct{}

func (digestSigner) SignManifest(_ context.Context, m []byte) ([]byte, error) {
	s := sha256.Sum256(m)
	return s[:], nil
}

func streamed(content func() string) File {
	return File{Path: "documents/d1/final.pdf", Open: func(context.Context) (ReadCloser, error) {
		return io.NopCloser(strings.NewReader(content())), nil
	}}
}

// TestSignedMatchesWrite: a bundle signed first and streamed after is
// the same ZIP, byte for byte, as one written by Write; a streamed file
// that reads differently the second time fails the bundle.
func TestSignedMatchesWrite(t *testing.T) {
	ctx := context.Background()
	m := Manifest{EnvelopeID: "env-1", Tenant: "t-1", Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	files := func(content func() string) []File {
		return []File{{Path: PathEnvelope, Data: []byte(`{"id":"env-1"}`)}, streamed(content), {Path: PathReadme, Data: []byte("read me\n")}}
	}
	same := func() string { return "%PDF-1.7 final" }
	var want bytes.Buffer
	if err := Write(ctx, &want, m, files(same), digestSigner{}); err != nil {
		t.Fatal(err)
	}
	s, err := Sign(ctx, m, files(same), digestSigner{})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := s.Write(ctx, &got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Error("Sign+Write and Write differ")
	}
	zr, err := zip.NewReader(bytes.NewReader(got.Bytes()), int64(got.Len()))
	if err != nil {
		t.Fatal(err)
	}
	rc, err := zr.Open(PathManifest)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(rc); !bytes.Equal(b, s.Manifest()) {
		t.Error("the bundle's manifest is not the signed one")
	}

	n := 0
	changing := func() string { n++; return strings.Repeat("x", n) }
	s, err = Sign(ctx, m, files(changing), digestSigner{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, io.Discard); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Errorf("changed file: %v", err)
	}

	for name, fs := range map[string][]File{
		"reserved":  {{Path: PathManifest, Data: nil}},
		"duplicate": {{Path: "a", Data: nil}, {Path: "a", Data: nil}},
		"unsafe":    {{Path: "../a", Data: nil}},
	} {
		if _, err := Sign(ctx, m, fs, digestSigner{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
