package postgres_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/signet-pki/signet/internal/blob"
	blobpostgres "github.com/signet-pki/signet/internal/blob/postgres"
	"github.com/signet-pki/signet/internal/blob/storetest"
	"github.com/signet-pki/signet/internal/pgtest"
	"github.com/signet-pki/signet/internal/workflow"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// Garbage collection runs on this store as on blob.FS.
var _ workflow.BlobCollector = (*blobpostgres.Store)(nil)

// open returns a store on a fresh database and a pool of the database's
// owner, for looking at the tables.
func open(t testing.TB) (*blobpostgres.Store, *pgxpool.Pool) {
	t.Helper()
	owner, _ := pgtest.NewDatabase(t)
	pool := pgtest.Pool(t, owner)
	s, err := blobpostgres.New(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	return s, pool
}

// TestConformance runs the Store conformance suite on a fresh database.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) blob.Store {
		s, _ := open(t)
		return s
	})
}

func count(t *testing.T, pool *pgxpool.Pool, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestChunks checks the layout: a whole blob in 1 MiB chunks, a revision's
// chunks holding only its tail, one copy of content put twice.
func TestChunks(t *testing.T) {
	s, pool := open(t)
	ctx := t.Context()
	data := storetest.Pattern(1, 5<<19+1)
	name, _, err := s.Put(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(ctx, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	const chunks = `SELECT count(*) FROM blob_chunks c JOIN blobs b USING (content) WHERE b.name = $1`
	const bytesOf = `SELECT coalesce(sum(octet_length(c.data)), 0) FROM blob_chunks c JOIN blobs b USING (content) WHERE b.name = $1`
	if n, size := count(t, pool, chunks, name), count(t, pool, bytesOf, name); n != 3 || size != int64(len(data)) {
		t.Fatalf("a %d-byte blob is in %d chunks of %d bytes, want 3 of %d", len(data), n, size, len(data))
	}
	if n := count(t, pool, `SELECT count(*) FROM blob_chunks`); n != 3 {
		t.Fatalf("%d chunks after putting one content twice, want 3", n)
	}
	tail := []byte("%%EOF incremental update\n")
	rev, _, err := s.Append(ctx, name, bytes.NewReader(tail))
	if err != nil {
		t.Fatal(err)
	}
	if n, size := count(t, pool, chunks, rev), count(t, pool, bytesOf, rev); n != 1 || size != int64(len(tail)) {
		t.Fatalf("revision in %d chunks of %d bytes, want its %d-byte tail alone", n, size, len(tail))
	}
	if b, err := s.Base(rev); err != nil || b != name {
		t.Fatalf("Base(revision) = %q, %v; want %s", b, err, name)
	}
	// A blob of one chunk (stored in one round trip) put twice keeps one
	// copy.
	small := storetest.Pattern(2, 1000)
	var smallName string
	for range 2 {
		if smallName, _, err = s.Put(ctx, bytes.NewReader(small)); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, pool, `SELECT count(*) FROM blob_chunks`); n != 5 {
		t.Fatalf("%d chunks after putting a one-chunk content twice, want 5", n)
	}
	// Deleting the base deletes the revision that needs it, and their
	// chunks.
	if err := s.Delete(ctx, name); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(ctx, rev); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open of a revision whose base was deleted: %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, smallName); err != nil {
		t.Fatal(err)
	}
	if n := count(t, pool, `SELECT count(*) FROM blob_chunks`) + count(t, pool, `SELECT count(*) FROM blobs`); n != 0 {
		t.Fatalf("%d rows left after deleting everything", n)
	}
}

// TestModTime: Put of stored content and Append to a blob stamp it with
// the store's clock, so that garbage collection spares it.
func TestModTime(t *testing.T) {
	s, _ := open(t)
	ctx := t.Context()
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	s.Now = func() time.Time { return at }
	name, _, err := s.Put(ctx, bytes.NewReader([]byte("content")))
	if err != nil {
		t.Fatal(err)
	}
	for i, op := range []func() error{
		func() error { _, _, err := s.Put(ctx, bytes.NewReader([]byte("content"))); return err },
		func() error { _, _, err := s.Append(ctx, name, bytes.NewReader([]byte("more"))); return err },
	} {
		if mt, err := s.ModTime(name); err != nil || !mt.Equal(at) {
			t.Fatalf("before operation %d: ModTime = %v, %v; want %v", i, mt, err, at)
		}
		at = at.Add(time.Hour)
		if err := op(); err != nil {
			t.Fatal(err)
		}
		if mt, err := s.ModTime(name); err != nil || !mt.Equal(at) {
			t.Fatalf("operation %d: ModTime = %v, %v; want %v", i, mt, err, at)
		}
	}
	// A clock behind the stored time does not move it back.
	s.Now = func() time.Time { return at.Add(-24 * time.Hour) }
	if _, _, err := s.Put(ctx, bytes.NewReader([]byte("content"))); err != nil {
		t.Fatal(err)
	}
	if mt, err := s.ModTime(name); err != nil || !mt.Equal(at) {
		t.Fatalf("after a Put by a slow clock: ModTime = %v, %v; want %v", mt, err, at)
	}
}

// TestTwoNodes: two pools on one database see each other's blobs, and
// their concurrent Puts and Appends of one content both succeed.
func TestTwoNodes(t *testing.T) {
	owner, _ := pgtest.NewDatabase(t)
	ctx := t.Context()
	var nodes [2]*blobpostgres.Store
	for i := range nodes {
		var err error
		if nodes[i], err = blobpostgres.New(ctx, pgtest.Pool(t, owner)); err != nil {
			t.Fatal(err)
		}
	}
	a, b := nodes[0], nodes[1]
	data := storetest.Pattern(2, 3<<19)
	name, _, err := a.Put(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckContent(t, b, name, data)
	rev, _, err := b.Append(ctx, name, bytes.NewReader([]byte("signed on b")))
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckContent(t, a, rev, append(bytes.Clone(data), "signed on b"...))
	h, err := a.Digest(ctx, rev)
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(h.Sum(nil)) != rev {
		t.Fatal("Digest on a of b's revision does not sum to its name")
	}

	same := storetest.Pattern(3, 5<<19)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	names := make([]string, 8)
	for i := range 8 {
		wg.Go(func() {
			if i%4 == 3 {
				names[i], _, errs[i] = nodes[i%2].Append(ctx, rev, bytes.NewReader([]byte("same update")))
				return
			}
			names[i], _, errs[i] = nodes[i%2].Put(ctx, bytes.NewReader(same))
		})
	}
	wg.Wait()
	for i := range 8 {
		want := storetest.Sum(same)
		if i%4 == 3 {
			want = storetest.Sum(append(append(bytes.Clone(data), "signed on b"...), "same update"...))
		}
		if errs[i] != nil || names[i] != want {
			t.Fatalf("concurrent operation %d on node %d = %s, %v", i, i%2, names[i], errs[i])
		}
	}
	storetest.CheckContent(t, a, names[0], same)
	storetest.CheckContent(t, b, names[3], append(append(bytes.Clone(data), "signed on b"...), "same update"...))

	seen := map[string]bool{}
	if err := b.Walk(ctx, func(n string) error { seen[n] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 4 {
		t.Fatalf("node b walks %d blobs, want 4", len(seen))
	}
	if err := b.Delete(ctx, names[0]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Open(ctx, names[0]); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("node a opens a blob node b deleted: %v", err)
	}
}

// TestAppRole runs the store as a role with only SELECT, INSERT, UPDATE
// and DELETE on its tables, as the application connects: it needs no
// sequence, no large-object or other privilege.
func TestAppRole(t *testing.T) {
	owner, app := pgtest.NewDatabase(t)
	ctx := t.Context()
	if _, err := blobpostgres.New(ctx, pgtest.Pool(t, owner)); err != nil {
		t.Fatal(err)
	}
	ownerPool := pgtest.Pool(t, owner)
	grant := func(q string) {
		t.Helper()
		if _, err := ownerPool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	grant(`GRANT SELECT, INSERT, UPDATE, DELETE ON blobs, blob_chunks TO ` + pgtest.AppRole)
	// pgdb.Migrate checks the history, creating schema_migrations if
	// needed, which takes CREATE on the schema even when the table exists;
	// the store's own statements do not.
	grant(`GRANT SELECT ON schema_migrations TO ` + pgtest.AppRole)
	grant(`GRANT CREATE ON SCHEMA public TO ` + pgtest.AppRole)
	s, err := blobpostgres.New(ctx, pgtest.Pool(t, app))
	if err != nil {
		t.Fatal(err)
	}
	grant(`REVOKE CREATE ON SCHEMA public FROM ` + pgtest.AppRole)
	data := storetest.Pattern(4, 3<<19)
	names := []string{}
	for _, op := range []func() (string, int64, error){
		func() (string, int64, error) { return s.Put(ctx, bytes.NewReader(data)) },
		func() (string, int64, error) { return s.Put(ctx, bytes.NewReader(data)) },
		func() (string, int64, error) { return s.Append(ctx, storetest.Sum(data), bytes.NewReader([]byte("x"))) },
	} {
		n, _, err := op()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	storetest.CheckContent(t, s, names[2], append(bytes.Clone(data), 'x'))
	if err := s.Delete(ctx, names[0]); err != nil {
		t.Fatal(err)
	}
}

// TestCorrupt: a chunk, a hash state or a chain altered in the database
// is reported as corrupt, not read as content.
func TestCorrupt(t *testing.T) {
	s, pool := open(t)
	ctx := t.Context()
	data := storetest.Pattern(5, 3<<19)
	name, _, err := s.Put(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	rev, _, err := s.Append(ctx, name, bytes.NewReader([]byte("tail")))
	if err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	readAll := func(name string) error {
		r, _, err := s.Open(ctx, name)
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = io.Copy(io.Discard, r)
		return err
	}
	// A shortened chunk.
	exec(`UPDATE blob_chunks SET data = substring(data from 1 for 100) WHERE n = 1 AND content = (SELECT content FROM blobs WHERE name = $1)`, name)
	if err := readAll(rev); !errors.Is(err, blob.ErrCorrupt) {
		t.Errorf("read of a shortened chunk: %v, want ErrCorrupt", err)
	}
	// A missing chunk.
	exec(`DELETE FROM blob_chunks WHERE n = 1 AND content = (SELECT content FROM blobs WHERE name = $1)`, name)
	if err := readAll(name); err == nil {
		t.Errorf("read of a blob with a missing chunk succeeded")
	}
	// A hash state of another length.
	exec(`UPDATE blobs SET state = (SELECT state FROM blobs WHERE name = $2) WHERE name = $1`, rev, name)
	if _, err := s.Digest(ctx, rev); !errors.Is(err, blob.ErrCorrupt) {
		t.Errorf("Digest with another blob's state: %v, want ErrCorrupt", err)
	}
	if _, _, err := s.Append(ctx, rev, bytes.NewReader([]byte("x"))); !errors.Is(err, blob.ErrCorrupt) {
		t.Errorf("Append with another blob's state: %v, want ErrCorrupt", err)
	}
	// A revision shorter than its base.
	exec(`UPDATE blobs SET size = 10 WHERE name = $1`, rev)
	if _, _, err := s.Open(ctx, rev); !errors.Is(err, blob.ErrCorrupt) {
		t.Errorf("Open of a revision shorter than its base: %v, want ErrCorrupt", err)
	}
}

// TestDeletedWhileReading: a reader whose blob is deleted fails at the
// first chunk it had not fetched, with ErrNotFound.
func TestDeletedWhileReading(t *testing.T) {
	s, _ := open(t)
	ctx := t.Context()
	data := storetest.Pattern(6, 3<<20)
	name, _, err := s.Put(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	r, _, err := s.Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	head := make([]byte, 1000)
	if _, err := io.ReadFull(r, head); err != nil || !bytes.Equal(head, data[:1000]) {
		t.Fatalf("first read: %v", err)
	}
	if err := s.Delete(ctx, name); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadAt(head, 0); err != nil || !bytes.Equal(head, data[:1000]) {
		t.Fatalf("read of a cached chunk: %v", err)
	}
	if _, err := r.ReadAt(head, 2<<20); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("read of a deleted blob's chunk: %v, want ErrNotFound", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(head); err == nil {
		t.Fatal("Read after Close succeeded")
	}
}

// generator yields n bytes of deterministic content without holding it.
type generator struct {
	rng *rand.ChaCha8
	n   int64
}

func newGenerator(n int64) *generator {
	return &generator{rng: rand.NewChaCha8([32]byte{'s', 'i', 'g', 'n', 'e', 't'}), n: n}
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
	done := make(chan struct{})
	stopped := make(chan struct{})
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

// TestStreams100MB puts and reads back 100 MB while sampling the heap:
// neither direction holds the content in memory.
func TestStreams100MB(t *testing.T) {
	const size = 100 << 20
	const bound = 32 << 20
	s, pool := open(t)
	ctx := t.Context()
	want := sha256.New()
	io.Copy(want, newGenerator(size))
	wantName := hex.EncodeToString(want.Sum(nil))

	stop := heapPeak()
	name, n, err := s.Put(ctx, newGenerator(size))
	growth := stop()
	if err != nil {
		t.Fatal(err)
	}
	if name != wantName || n != size {
		t.Fatalf("Put = %s, %d; want %s, %d", name, n, wantName, size)
	}
	t.Logf("Put of %d MiB: peak heap growth %.1f MiB", size>>20, float64(growth)/(1<<20))
	if growth > bound {
		t.Errorf("Put of %d MiB grew the heap by %d MiB at its peak, more than %d MiB", size>>20, growth>>20, bound>>20)
	}
	if c := count(t, pool, `SELECT count(*) FROM blob_chunks`); c != size>>20 {
		t.Fatalf("%d chunks, want %d", c, size>>20)
	}

	stop = heapPeak()
	r, _, err := s.Open(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	got := sha256.New()
	_, err = io.Copy(got, r)
	r.Close()
	growth = stop()
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(got.Sum(nil)) != name {
		t.Fatal("the content read back differs")
	}
	t.Logf("read of %d MiB: peak heap growth %.1f MiB", size>>20, float64(growth)/(1<<20))
	if growth > bound {
		t.Errorf("reading %d MiB grew the heap by %d MiB at its peak, more than %d MiB", size>>20, growth>>20, bound>>20)
	}
}

// BenchmarkPutOpen10MB puts 10 MB and reads it back, on the filesystem
// store and on PostgreSQL.
func BenchmarkPutOpen10MB(b *testing.B) {
	const size = 10 << 20
	fs, err := blob.NewFS(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	pg, _ := open(b)
	for _, st := range []struct {
		name string
		s    blob.Store
	}{{"FS", fs}, {"PostgreSQL", pg}} {
		b.Run(st.name, func(b *testing.B) {
			ctx := context.Background()
			b.SetBytes(size)
			data := storetest.Pattern(7, size)
			i := uint64(0)
			for b.Loop() {
				// Distinct content each time: a stored content is not
				// written again.
				i++
				binary.BigEndian.PutUint64(data, i)
				name, _, err := st.s.Put(ctx, bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
				r, _, err := st.s.Open(ctx, name)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					b.Fatal(err)
				}
				r.Close()
				if err := st.s.Delete(ctx, name); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
