package archive

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/signet-pki/signet/pades"
)

// FuzzState reads the renewal state of arbitrary bytes: it returns a
// state or an error, never panics, and a state with a time-stamp has a
// due date no later than its authority could be trusted. Seeds are a
// sealed (B-LTA) document and the sample corpus.
func FuzzState(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("..", "..", "testdata", "pdf", "*.pdf"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no sample PDFs: %v", err)
	}
	paths = append(paths, filepath.Join("testdata", "sealed.pdf"))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := stateOf(bytes.NewReader(data), int64(len(data)), pades.VerifyOptions{Now: func() time.Time { return now }}, DefaultMargin, DefaultWeakenings)
		if err != nil || st.invalid != "" {
			return
		}
		if st.stamped.IsZero() != st.due.IsZero() || st.reason == "" {
			t.Fatalf("inconsistent state %+v", st)
		}
	})
}

// FuzzSignatureContents decodes the /Contents a byte range leaves out of
// arbitrary bytes: an error or a DER value, never a panic or a read
// beyond the bound.
func FuzzSignatureContents(f *testing.F) {
	sealed, err := os.ReadFile(filepath.Join("testdata", "sealed.pdf"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sealed, int64(0), int64(10), int64(20), int64(5))
	f.Add([]byte("xx<3000>yy"), int64(0), int64(2), int64(8), int64(2))
	f.Add([]byte("<>"), int64(0), int64(0), int64(2), int64(0))
	f.Fuzz(func(t *testing.T, data []byte, a, b, c, d int64) {
		der, err := signatureContents(bytes.NewReader(data), []int64{a, b, c, d})
		if err == nil && (len(der) == 0 || int64(len(der)) > maxContents) {
			t.Fatalf("decoded %d bytes", len(der))
		}
	})
}
