package pades

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzVerify runs Verify on arbitrary bytes: it must return a report or an
// error, never panic or hang, and a report must be consistent. Seeds are the
// sample corpus (classic, stream and hybrid cross-references, a pdfsig
// signature) and the field arrangements of TestScanFields (signature fields
// listed in the form, on pages only, nested, shared, looping).
func FuzzVerify(f *testing.F) {
	paths, err := filepath.Glob(corpusPath("*.pdf"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no sample PDFs: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range fieldShapes {
		f.Add(s.build(f))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Verify(bytes.NewReader(data), int64(len(data)), VerifyOptions{})
		if err != nil {
			return
		}
		if rep.Valid {
			t.Errorf("valid without trust anchors: %+v", rep)
		}
		for _, s := range rep.Signatures {
			if s.Verdict == "" || s.Indication == "" {
				t.Errorf("signature %q without a verdict", s.Field)
			}
			for _, w := range s.Warnings {
				if w.Name != WarningFieldNotInForm || w.Detail == "" {
					t.Errorf("unknown warning %+v", w)
				}
			}
		}
	})
}
