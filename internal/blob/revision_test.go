package blob_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/signet-pki/signet/internal/blob"
	"github.com/signet-pki/signet/internal/blob/storetest"
)

// appendChain puts base and appends tails to it one after another, and
// returns each version's name and content.
func appendChain(t *testing.T, s *blob.FS, base []byte, tails ...[]byte) ([]string, [][]byte) {
	t.Helper()
	ctx := context.Background()
	name, _, err := s.Put(ctx, bytes.NewReader(base))
	if err != nil {
		t.Fatal(err)
	}
	names, contents := []string{name}, [][]byte{base}
	for _, tail := range tails {
		content := append(bytes.Clone(contents[len(contents)-1]), tail...)
		n, size, err := s.Append(ctx, names[len(names)-1], bytes.NewReader(tail))
		if err != nil {
			t.Fatal(err)
		}
		if n != sum(content) || size != int64(len(content)) {
			t.Fatalf("Append = %s, %d; want %s, %d", n, size, sum(content), len(content))
		}
		names, contents = append(names, n), append(contents, content)
	}
	return names, contents
}

func TestAppendChain(t *testing.T) {
	s, dir := newFS(t)
	base := bytes.Repeat([]byte("%PDF-1.7 base "), 5000)
	tails := [][]byte{[]byte("first update"), []byte("\n"), bytes.Repeat([]byte("x"), 70000), []byte("3")}
	names, contents := appendChain(t, s, base, tails...)
	for i, n := range names {
		storetest.CheckContent(t, s, n, contents[i])
		b, err := s.Base(n)
		if err != nil {
			t.Fatal(err)
		}
		if want := ""; i > 0 {
			want = names[i-1]
			if b != want {
				t.Errorf("Base(version %d) = %q, want %q", i, b, want)
			}
		} else if b != want {
			t.Errorf("Base(whole blob) = %q", b)
		}
		if i > 0 {
			if _, err := os.Stat(filepath.Join(dir, n[:2], n[2:]+".rev")); err != nil {
				t.Errorf("version %d not stored as a revision: %v", i, err)
			}
		}
	}

	// The revision's file holds its tail and a trailer, not its base.
	fi, err := os.Stat(filepath.Join(dir, names[3][:2], names[3][2:]+".rev"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > int64(len(tails[2]))+400 {
		t.Errorf("revision file has %d bytes for a %d-byte tail", fi.Size(), len(tails[2]))
	}

	// Digest continues every version's hash, including after a restart
	// (whole blobs are hashed again once, revisions keep their state).
	for _, reopen := range []bool{false, true} {
		st := s
		if reopen {
			var err error
			if st, err = blob.NewFS(dir); err != nil {
				t.Fatal(err)
			}
		}
		for i, n := range names {
			h, err := st.Digest(context.Background(), n)
			if err != nil {
				t.Fatal(err)
			}
			h.Write([]byte("more"))
			if got := hex.EncodeToString(h.Sum(nil)); got != sum(append(bytes.Clone(contents[i]), "more"...)) {
				t.Errorf("reopened %v: Digest(version %d) does not continue its content's hash", reopen, i)
			}
		}
	}
}

// TestAppendDepthLimit checks that a chain never grows beyond its bound:
// the revision that would exceed it is stored whole.
func TestAppendDepthLimit(t *testing.T) {
	s, dir := newFS(t)
	tails := make([][]byte, 40)
	for i := range tails {
		tails[i] = fmt.Appendf(nil, "update %d\n", i)
	}
	names, contents := appendChain(t, s, []byte("%PDF-1.7\n"), tails...)
	whole := 0
	for i, n := range names {
		if _, err := os.Stat(filepath.Join(dir, n[:2], n[2:])); err == nil && i > 0 {
			whole++
			if b, _ := s.Base(n); b != "" {
				t.Errorf("whole version %d has base %s", i, b)
			}
		}
	}
	if whole != 1 {
		t.Errorf("%d of 40 appended versions stored whole, want 1 (the 33rd)", whole)
	}
	storetest.CheckContent(t, s, names[len(names)-1], contents[len(contents)-1])
}

func TestAppendCorrupt(t *testing.T) {
	s, dir := newFS(t)
	ctx := context.Background()
	names, _ := appendChain(t, s, []byte("base"), []byte("one"))

	// A revision whose base is gone, or whose trailer is damaged, is
	// corrupt, not silently short.
	rev := filepath.Join(dir, names[1][:2], names[1][2:]+".rev")
	data, err := os.ReadFile(rev)
	if err != nil {
		t.Fatal(err)
	}
	damaged := bytes.Clone(data)
	damaged[len(damaged)-1] ^= 1
	if err := os.WriteFile(rev, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(ctx, names[1]); !errors.Is(err, blob.ErrCorrupt) {
		t.Errorf("Open of a damaged trailer: %v, want ErrCorrupt", err)
	}
	if err := os.WriteFile(rev, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, names[0]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(ctx, names[1]); !errors.Is(err, blob.ErrCorrupt) {
		t.Errorf("Open without the base: %v, want ErrCorrupt", err)
	}
	if _, _, err := s.Append(ctx, names[1], bytes.NewReader([]byte("x"))); !errors.Is(err, blob.ErrCorrupt) {
		t.Errorf("Append without the base: %v, want ErrCorrupt", err)
	}
}

// FuzzRevisionFile stores arbitrary bytes as a revision file: Open,
// Digest, Base and Append must fail cleanly or read consistent content,
// never panic.
func FuzzRevisionFile(f *testing.F) {
	seeds, err := os.ReadDir("testdata/revisions")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range seeds {
		b, err := os.ReadFile(filepath.Join("testdata/revisions", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	s, dir := newFS(f)
	base, _, err := s.Put(context.Background(), bytes.NewReader([]byte("%PDF-1.7 fuzz base\n")))
	if err != nil {
		f.Fatal(err)
	}
	name := sum([]byte("the name of the fuzzed revision"))
	path := filepath.Join(dir, name[:2], name[2:]+".rev")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		// The seeds name the base "%PDF-1.7 fuzz base\n" at its offset.
		_ = base
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if r, size, err := s.Open(ctx, name); err == nil {
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || int64(len(got)) != size {
				t.Fatalf("Open succeeded but read %d of %d bytes: %v", len(got), size, err)
			}
		}
		_, _ = s.Digest(ctx, name)
		_, _ = s.Base(name)
		if n, _, err := s.Append(ctx, name, bytes.NewReader([]byte("tail"))); err == nil {
			s.Delete(ctx, n)
		}
	})
}
