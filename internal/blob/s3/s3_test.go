package s3_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/signet-pki/signet/internal/blob"
	blobs3 "github.com/signet-pki/signet/internal/blob/s3"
	"github.com/signet-pki/signet/internal/blob/storetest"
	"github.com/signet-pki/signet/internal/workflow"
)

// Garbage collection runs on this store as on blob.FS.
var _ workflow.BlobCollector = (*blobs3.Store)(nil)

// server is an S3 protocol server (gofakes3, in memory) on a loopback
// port, with the requests it answered counted by method and query.
type server struct {
	url     string
	backend *s3mem.Backend
	mu      sync.Mutex
	calls   map[string]int
	auth    atomic.Int64 // requests without a SigV4 Authorization
}

func startServer(t testing.TB) *server {
	t.Helper()
	srv := &server{backend: s3mem.New(), calls: map[string]int{}}
	h := gofakes3.New(srv.backend).Server()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AK/") {
			srv.auth.Add(1)
		}
		srv.mu.Lock()
		srv.calls[r.Method+" "+r.URL.Query().Encode()]++
		srv.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	srv.url = ts.URL
	return srv
}

// store returns a store on bucket of srv, creating the bucket if needed.
func (srv *server) store(t testing.TB, bucket, prefix string) *blobs3.Store {
	t.Helper()
	if ok, err := srv.backend.BucketExists(bucket); err != nil {
		t.Fatal(err)
	} else if !ok {
		if err := srv.backend.CreateBucket(bucket); err != nil {
			t.Fatal(err)
		}
	}
	s, err := blobs3.New(blobs3.Config{Endpoint: srv.url, Region: "eu-central-1", Bucket: bucket, Prefix: prefix,
		AccessKey: "AK", SecretKey: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var buckets atomic.Int64

// TestConformance runs the Store conformance suite on a bucket of an S3
// protocol server.
func TestConformance(t *testing.T) {
	srv := startServer(t)
	storetest.Run(t, func(t *testing.T) blob.Store {
		return srv.store(t, fmt.Sprintf("bucket-%d", buckets.Add(1)), "signet/")
	})
	if n := srv.auth.Load(); n != 0 {
		t.Errorf("%d requests without a SigV4 signature", n)
	}
}

// TestTemporaryObjectsRemoved: a large Put, streamed as a multipart
// upload, leaves only its blob, and a failed one nothing.
func TestTemporaryObjectsRemoved(t *testing.T) {
	srv := startServer(t)
	s := srv.store(t, "tmp-check", "p/")
	data := storetest.Pattern(1, 20<<20+5)
	name, _, err := s.Put(t.Context(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(t.Context(), &storetest.FailingReader{Data: data, N: 17 << 20}); err == nil {
		t.Fatal("Put with a failing reader succeeded")
	}
	srv.mu.Lock()
	uploads, aborts := srv.calls["POST uploads="], 0
	for call, n := range srv.calls {
		if strings.HasPrefix(call, "DELETE uploadId=") {
			aborts += n
		}
	}
	srv.mu.Unlock()
	if uploads != 2 || aborts != 1 {
		t.Errorf("%d multipart uploads started and %d aborted, want 2 and 1", uploads, aborts)
	}
	list, err := srv.backend.ListBucket("tmp-check", nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	if len(keys) != 1 || keys[0] != "p/blobs/"+name {
		t.Fatalf("objects after a large Put and a failed one: %v", keys)
	}
	storetest.CheckContent(t, s, name, data)
}

// TestModTime: Put of stored content and Append to a blob stamp it with
// the store's clock.
func TestModTime(t *testing.T) {
	s := startServer(t).store(t, "modtime", "")
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
		at = at.Add(time.Hour)
		if err := op(); err != nil {
			t.Fatal(err)
		}
		if mt, err := s.ModTime(name); err != nil || !mt.Equal(at) {
			t.Fatalf("operation %d: ModTime = %v, %v; want %v", i, mt, err, at)
		}
	}
}

// TestTwoNodes: two stores on one bucket see each other's blobs.
func TestTwoNodes(t *testing.T) {
	srv := startServer(t)
	a, b := srv.store(t, "shared", "x/"), srv.store(t, "shared", "x/")
	ctx := t.Context()
	data := storetest.Pattern(2, 9<<20)
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
	if err := a.Delete(ctx, name); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Open(ctx, rev); !errors.Is(err, blob.ErrCorrupt) {
		t.Fatalf("Open of a revision whose base was deleted: %v, want ErrCorrupt", err)
	}
}

// TestSignature checks the signer against the example of the S3
// documentation ("Signature Calculations for the Authorization Header:
// Transferring Payload in a Single Chunk", GET Object): a request for the
// first ten bytes of examplebucket/test.txt.
func TestSignature(t *testing.T) {
	got := blobs3.SignForTest("https://examplebucket.s3.amazonaws.com/test.txt", "bytes=0-9",
		"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1",
		time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC))
	want := "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
		"SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, " +
		"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
	if got != want {
		t.Fatalf("Authorization\n %s\nwant\n %s", got, want)
	}
}

func TestConfig(t *testing.T) {
	for _, cfg := range []blobs3.Config{
		{Endpoint: "ftp://host", Bucket: "b-1", AccessKey: "a", SecretKey: "s"},
		{Endpoint: "https://user:pw@host", Bucket: "b-1", AccessKey: "a", SecretKey: "s"},
		{Endpoint: "https://host", Bucket: "B", AccessKey: "a", SecretKey: "s"},
		{Endpoint: "https://host", Bucket: "b-1", Prefix: "a b", AccessKey: "a", SecretKey: "s"},
		{Endpoint: "https://host", Bucket: "b-1"},
	} {
		if _, err := blobs3.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		} else if strings.Contains(err.Error(), "pw") {
			t.Errorf("error quotes the credentials: %v", err)
		}
	}
}
