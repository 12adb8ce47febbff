package server_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/signet-pki/signet/internal/server"
)

// TestDocumentsInS3: with documents_s3, an uploaded document is stored in
// the bucket (an S3 protocol server in process), sealed, not in blobs/,
// and is read back from there byte for byte.
func TestDocumentsInS3(t *testing.T) {
	backend := s3mem.New()
	if err := backend.CreateBucket("documents"); err != nil {
		t.Fatal(err)
	}
	s3srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(s3srv.Close)
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, dir, func(c *server.Config) {
		c.DocumentsS3 = &server.S3Config{Endpoint: s3srv.URL, Bucket: "documents", Prefix: "signet/", AccessKeyEnv: "K", SecretKeyEnv: "S"}
	}, server.WithS3Credentials("access", "secret"))
	key := r.tenantKey("document.upload", "document.read")
	d, doc := r.uploadSample(key, "In a bucket")
	prefix := "signet/blobs/"
	list, err := backend.ListBucket("documents", &gofakes3.Prefix{HasPrefix: true, Prefix: prefix}, gofakes3.ListBucketPage{})
	if err != nil || len(list.Contents) != 1 {
		t.Fatalf("the bucket lists %v, %v; want the document's one object", list, err)
	}
	obj, err := backend.GetObject("documents", list.Contents[0].Key, nil)
	if err != nil {
		t.Fatalf("the document is not in the bucket: %v", err)
	}
	stored, _ := io.ReadAll(obj.Contents)
	obj.Contents.Close()
	// The bucket holds the document sealed under its tenant's keys.
	if bytes.Equal(stored, doc) || bytes.Contains(stored, []byte("In a bucket")) || len(stored) < len(doc) {
		t.Error("the bucket holds the document in clear")
	}
	if ents, err := os.ReadDir(filepath.Join(dir, "blobs")); err == nil && len(ents) > 0 {
		t.Errorf("blobs/ holds %d entries (%s); the documents belong in the bucket", len(ents), ents[0].Name())
	}
	req, _ := http.NewRequest("GET", r.base+"/v1/documents/"+d.ID+"/content", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !bytes.Equal(got, doc) {
		t.Fatalf("download: %d, %d bytes, want the %d uploaded", res.StatusCode, len(got), len(doc))
	}
}
