package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/signet-pki/signet/internal/blob"
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

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func TestPutOpenDelete(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"small", []byte("%PDF-1.7 hello")},
		{"large", bytes.Repeat([]byte("0123456789abcdef"), 1<<16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, dir := newFS(t)
			name, size, err := s.Put(ctx, bytes.NewReader(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if name != sum(tt.data) || size != int64(len(tt.data)) {
				t.Fatalf("Put = %s, %d; want %s, %d", name, size, sum(tt.data), len(tt.data))
			}
			if _, err := os.Stat(filepath.Join(dir, name[:2], name[2:])); err != nil {
				t.Fatalf("blob not at its content address: %v", err)
			}
			r, n, err := s.Open(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(r)
			r.Close()
			if err != nil || n != size || !bytes.Equal(got, tt.data) {
				t.Fatalf("Open read %d bytes (size %d, err %v), want the %d put", len(got), n, err, len(tt.data))
			}
			if err := s.Delete(ctx, name); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.Open(ctx, name); !errors.Is(err, blob.ErrNotFound) {
				t.Fatalf("Open after Delete: %v, want ErrNotFound", err)
			}
			if err := s.Delete(ctx, name); err != nil {
				t.Fatalf("Delete of a missing blob: %v", err)
			}
		})
	}
}

func TestInvalidNames(t *testing.T) {
	s, _ := newFS(t)
	ctx := context.Background()
	for _, name := range []string{"", "ab", "../../etc/passwd", sum(nil)[:63] + "G", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855", sum(nil) + "0"} {
		if _, _, err := s.Open(ctx, name); !errors.Is(err, blob.ErrInvalidName) {
			t.Errorf("Open(%q) = %v, want ErrInvalidName", name, err)
		}
		if err := s.Delete(ctx, name); !errors.Is(err, blob.ErrInvalidName) {
			t.Errorf("Delete(%q) = %v, want ErrInvalidName", name, err)
		}
	}
}

func TestConcurrentPutSameContent(t *testing.T) {
	s, dir := newFS(t)
	ctx := context.Background()
	data := bytes.Repeat([]byte("same content "), 50000)
	const n = 16
	var wg sync.WaitGroup
	names := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			names[i], _, errs[i] = s.Put(ctx, bytes.NewReader(data))
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || names[i] != sum(data) {
			t.Fatalf("Put %d = %s, %v", i, names[i], errs[i])
		}
	}
	got, err := os.ReadFile(filepath.Join(dir, names[0][:2], names[0][2:]))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("stored content differs after concurrent puts (err %v)", err)
	}
	tmp, _ := os.ReadDir(filepath.Join(dir, "tmp"))
	if len(tmp) != 0 {
		t.Fatalf("%d temporary files left behind", len(tmp))
	}
}

// failingReader yields some data and then an error, like a client that
// disconnects mid-upload.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("connection reset")
	}
	k := min(len(p), f.n)
	f.n -= k
	return k, nil
}

func TestPutFailureLeavesNothing(t *testing.T) {
	s, dir := newFS(t)
	if _, _, err := s.Put(context.Background(), &failingReader{n: 100000}); err == nil {
		t.Fatal("Put succeeded with a failing reader")
	}
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Fatalf("files left after a failed Put: %v", files)
	}
}

// TestNoPartialBlobVisible holds a Put in the middle of its copy and checks
// that nothing is visible under the final name until it returns.
func TestNoPartialBlobVisible(t *testing.T) {
	s, dir := newFS(t)
	data := bytes.Repeat([]byte{7}, 1<<20)
	name := sum(data)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, _, err := s.Put(context.Background(), pr)
		done <- err
	}()
	if _, err := pw.Write(data[:len(data)/2]); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, name[:2], name[2:])); !os.IsNotExist(err) {
		t.Fatalf("final name visible during Put: %v", err)
	}
	if _, _, err := s.Open(context.Background(), name); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open during Put = %v, want ErrNotFound", err)
	}
	pw.Write(data[len(data)/2:])
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	r, n, err := s.Open(context.Background(), name)
	if err != nil || n != int64(len(data)) {
		t.Fatalf("Open after Put = %d, %v", n, err)
	}
	r.Close()
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

func TestWalk(t *testing.T) {
	s, _ := newFS(t)
	ctx := context.Background()
	want := map[string]bool{}
	for _, d := range []string{"a", "b", "c"} {
		n, _, err := s.Put(ctx, bytes.NewReader([]byte(d)))
		if err != nil {
			t.Fatal(err)
		}
		want[n] = true
	}
	got := map[string]bool{}
	if err := s.Walk(ctx, func(n string) error { got[n] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("Walk = %v, want %v", got, want)
	}
	for n := range want {
		if !got[n] {
			t.Fatalf("Walk missed %s", n)
		}
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
