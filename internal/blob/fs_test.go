package blob_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/blob"
	"github.com/signet-pki/signet/internal/blob/storetest"
)

func newFS(t testing.TB) (*blob.FS, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := blob.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func sum(b []byte) string { return storetest.Sum(b) }

// TestConformance runs the Store conformance suite on a directory.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) blob.Store {
		s, _ := newFS(t)
		return s
	})
}

// TestLayout checks where FS keeps a blob, and that neither concurrent
// Puts of one content nor a failed Put leave files behind.
func TestLayout(t *testing.T) {
	s, dir := newFS(t)
	ctx := context.Background()
	data := bytes.Repeat([]byte("same content "), 50000)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, _, err := s.Put(ctx, bytes.NewReader(data)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	name := sum(data)
	got, err := os.ReadFile(filepath.Join(dir, name[:2], name[2:]))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("blob not at its content address (err %v)", err)
	}
	if _, _, err := s.Put(ctx, &storetest.FailingReader{Data: data, N: 100000}); err == nil {
		t.Fatal("Put succeeded with a failing reader")
	}
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 1 {
		t.Fatalf("files after concurrent and failed Puts: %v, want only the blob", files)
	}
}

// TestPutRefreshesModTime: Put of stored content, and Append to a blob,
// stamp it with the store's clock, so that garbage collection spares it.
func TestPutRefreshesModTime(t *testing.T) {
	s, _ := newFS(t)
	ctx := context.Background()
	name, _, err := s.Put(ctx, bytes.NewReader([]byte("content")))
	if err != nil {
		t.Fatal(err)
	}
	for i, op := range []func() error{
		func() error { _, _, err := s.Put(ctx, bytes.NewReader([]byte("content"))); return err },
		func() error { _, _, err := s.Append(ctx, name, bytes.NewReader([]byte("more"))); return err },
	} {
		at := time.Date(2030, 1, 2, 3, 4, 5+i, 0, time.UTC)
		s.Now = func() time.Time { return at }
		if err := op(); err != nil {
			t.Fatal(err)
		}
		if mt, err := s.ModTime(name); err != nil || !mt.Equal(at) {
			t.Fatalf("operation %d: ModTime = %v, %v; want %v", i, mt, err, at)
		}
	}
}

// TestCrashLeftoversRemoved simulates a crash between the temporary write
// and the rename: NewFS removes the leftover and no blob appears.
func TestCrashLeftoversRemoved(t *testing.T) {
	dir := t.TempDir()
	if _, err := blob.NewFS(dir); err != nil {
		t.Fatal(err)
	}
	// A whole blob's temporary file, and a revision's in its directory.
	lefts := []string{filepath.Join(dir, "tmp", "put-123"), filepath.Join(dir, "ab", ".put-456")}
	for _, left := range lefts {
		if err := os.MkdirAll(filepath.Dir(left), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(left, []byte("half a docu"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s, err := blob.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, left := range lefts {
		if _, err := os.Stat(left); !os.IsNotExist(err) {
			t.Fatalf("leftover temporary file %s survived NewFS: %v", left, err)
		}
	}
	var names []string
	s.Walk(context.Background(), func(n string) error { names = append(names, n); return nil })
	if len(names) != 0 {
		t.Fatalf("Walk found %v", names)
	}
}

// FuzzPut checks the round trip: what Put stores, Open returns, under the
// SHA-256 of the content.
func FuzzPut(f *testing.F) {
	s, _ := newFS(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		name, size, err := s.Put(ctx, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if name != sum(data) || size != int64(len(data)) {
			t.Fatalf("Put = %s, %d", name, size)
		}
		r, _, err := s.Open(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		got := make([]byte, len(data))
		if _, err := r.ReadAt(got, 0); err != nil && len(data) > 0 {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatal("round trip changed the content")
		}
	})
}
