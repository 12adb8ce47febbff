package backup

import (
	"context"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/blob"
	blobpostgres "github.com/signet-pki/signet/internal/blob/postgres"
	"github.com/signet-pki/signet/internal/pgtest"
)

// generator yields n pseudo-random bytes.
type generator struct {
	rng *rand.ChaCha8
	n   int64
}

func (g *generator) Read(p []byte) (int, error) {
	if g.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.n)]
	g.rng.Read(p)
	g.n -= int64(len(p))
	return len(p), nil
}

// heapPeak samples the bytes of live and unswept heap objects until stop
// is called, and returns the highest sample above the level at its start.
func heapPeak() (stop func() uint64) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	base := read()
	var peak atomic.Uint64
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			if v := read(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-stopped
		if v := read(); v > peak.Load() {
			peak.Store(v)
		}
		if p := peak.Load(); p > base {
			return p - base
		}
		return 0
	}
}

// TestMemoryBounded backs up, verifies and restores a data directory
// holding a 96 MB blob while sampling the heap: each stays far below the
// blob's size (streamed, one segment at a time).
func TestMemoryBounded(t *testing.T) {
	const size = 96 << 20
	const bound = 24 << 20
	f := newFixture(t)
	fs, err := blob.NewFS(filepath.Join(f.dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, _, err := fs.Put(ctx, &generator{rng: rand.NewChaCha8([32]byte{'b'}), n: size}); err != nil {
		t.Fatal(err)
	}
	key := testKey(t)
	out := filepath.Join(t.TempDir(), "big.backup")
	w, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	stop := heapPeak()
	_, err = Create(ctx, w, CreateOptions{Dir: f.dir, Key: key})
	peak := stop()
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("create: heap peak %d MB over a %d MB blob", peak>>20, size>>20)
	if peak > bound {
		t.Errorf("create: heap grew by %d MB for a %d MB blob", peak>>20, size>>20)
	}

	for _, op := range []string{"verify", "restore"} {
		r, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		stop := heapPeak()
		var s *Summary
		if op == "verify" {
			s, err = Verify(ctx, r, VerifyOptions{Key: key})
		} else {
			s, err = Restore(ctx, r, RestoreOptions{Dir: filepath.Join(t.TempDir(), "restored"), Key: key, MasterKey: string(f.mk)})
		}
		peak := stop()
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		if s.BlobBytes < size {
			t.Errorf("%s: %d blob bytes", op, s.BlobBytes)
		}
		t.Logf("%s: heap peak %d MB", op, peak>>20)
		if peak > bound {
			t.Errorf("%s: heap grew by %d MB for a %d MB blob", op, peak>>20, size>>20)
		}
	}
}

// TestPostgresMemoryBounded backs up, verifies and restores a PostgreSQL
// deployment holding a 96 MB document (blob_chunks rows) while sampling
// the heap: each stays far below the document's size (the table travels
// in parts of 1 MiB, COPY streams both ways).
func TestPostgresMemoryBounded(t *testing.T) {
	const size = 96 << 20
	const bound = 24 << 20
	f := newPGFixture(t)
	ctx := context.Background()
	bs, err := blobpostgres.New(ctx, pgtest.Pool(t, f.appURL))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := bs.Put(ctx, &generator{rng: rand.NewChaCha8([32]byte{'p'}), n: size}); err != nil {
		t.Fatal(err)
	}
	key := testKey(t)
	out := filepath.Join(t.TempDir(), "big.backup")
	w, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	stop := heapPeak()
	_, err = Create(ctx, w, CreateOptions{Dir: f.dir, DatabaseURL: f.appURL, Key: key})
	peak := stop()
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("create: heap peak %d MB over a %d MB document", peak>>20, size>>20)
	if peak > bound {
		t.Errorf("create: heap grew by %d MB for a %d MB document", peak>>20, size>>20)
	}
	for _, op := range []string{"verify", "restore"} {
		r, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		stop := heapPeak()
		var s *Summary
		if op == "verify" {
			s, err = Verify(ctx, r, VerifyOptions{Key: key})
		} else {
			target, _ := pgtest.NewDatabase(t)
			s, err = Restore(ctx, r, RestoreOptions{Dir: filepath.Join(t.TempDir(), "restored"), DatabaseURL: target, Key: key, MasterKey: strings.TrimSpace(string(f.mk))})
		}
		peak := stop()
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		if s.Bytes < size {
			t.Errorf("%s: %d bytes", op, s.Bytes)
		}
		t.Logf("%s: heap peak %d MB", op, peak>>20)
		if peak > bound {
			t.Errorf("%s: heap grew by %d MB for a %d MB document", op, peak>>20, size>>20)
		}
	}
}
