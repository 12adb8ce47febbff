package pades

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
	"os"
	"path/filepath"
	"testing"
)

// signUpdate signs the file at in with SignUpdate and returns the path of
// the file with the update appended.
func signUpdate(t *testing.T, in string, prefix func(data []byte) hash.Hash, opts Options) string {
	t.Helper()
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	var h hash.Hash
	if prefix != nil {
		h = prefix(data)
	}
	var upd bytes.Buffer
	if err := SignUpdate(context.Background(), &upd, bytes.NewReader(data), int64(len(data)), h, opts); err != nil {
		t.Fatalf("SignUpdate(%s): %v", filepath.Base(in), err)
	}
	if bytes.Contains(upd.Bytes(), data[:min(len(data), 64)]) && len(data) > 64 {
		t.Fatal("the update repeats the document")
	}
	path := filepath.Join(t.TempDir(), "updated.pdf")
	if err := os.WriteFile(path, append(data, upd.Bytes()...), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func sha256Of(data []byte) hash.Hash {
	h := sha256.New()
	h.Write(data)
	return h
}

// TestSignUpdate signs every sample with an update stored apart, once
// hashing the document and once continuing a kept digest state; the
// document with the update appended passes pdfsig, qpdf and Verify.
func TestSignUpdate(t *testing.T) {
	p := sharedPKI(t)
	for _, name := range corpus {
		t.Run(name, func(t *testing.T) {
			one := signUpdate(t, corpusPath(name), nil, p.options(LevelBT))
			two := signUpdate(t, one, sha256Of, p.options(LevelBT))
			want := 2
			roots := p.roots
			if name == "signed-pdfsig.pdf" {
				want = 3
				other, err := os.ReadFile(corpusPath("signed-pdfsig-root.pem"))
				if err != nil {
					t.Fatal(err)
				}
				roots = roots.Clone()
				roots.AppendCertsFromPEM(other)
			}
			checkPdfsig(t, two, want)
			checkQpdf(t, two)
			requireValid(t, verifyFile(t, two, roots), want)
		})
	}
}

// TestSignUpdateUsesPrefix checks that the digest state is what the
// signature covers: a state of other bytes gives a signature that does not
// verify, and a state of another algorithm, or a level that appends to its
// own output, is refused.
func TestSignUpdateUsesPrefix(t *testing.T) {
	p := sharedPKI(t)
	in := corpusPath(corpus[0])
	wrong := signUpdate(t, in, func([]byte) hash.Hash { return sha256Of([]byte("other bytes")) }, p.options(LevelBB))
	rep := verifyFile(t, wrong, p.roots)
	if len(rep.Signatures) != 1 || rep.Signatures[0].Indication != TotalFailed {
		t.Fatalf("a signature over a wrong digest state verified: %+v", rep.Signatures)
	}
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := SignUpdate(context.Background(), &out, bytes.NewReader(data), int64(len(data)), sha512.New(), p.options(LevelBB)); err == nil {
		t.Error("SignUpdate accepted a SHA-512 state for a SHA-256 signature")
	}
	if err := SignUpdate(context.Background(), &out, bytes.NewReader(data), int64(len(data)), nil, Options{Signer: p.signer, Certificates: p.options(LevelBB).Certificates, Level: LevelBLT}); err == nil {
		t.Error("SignUpdate accepted level B-LT")
	}
}
