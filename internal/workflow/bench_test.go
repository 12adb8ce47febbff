package workflow_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/workflow"
)

// BenchmarkContent10MB uploads and downloads a 10 MB PDF through the
// workflow service, with contents in the clear and sealed under the
// tenant's key (keys/dataseal streams), over the same kind of store
// (blob.FS and SQLite in a temporary directory), side by side in one
// run. Each upload is of different bytes (a counter written into the
// padding), so that neither case finds its content already stored. The
// upload includes the full PDF check, the audit record and the row; the
// download reads the whole document through the reader the handler
// serves, in 32 KiB reads (net/http's copy buffer), in process and as a
// client receives it over HTTPS.
func BenchmarkContent10MB(b *testing.B) {
	var buf bytes.Buffer
	if err := pdf.WriteSample(&buf, pdf.SampleOptions{Pages: 1, Title: "Benchmark", Padding: 10 << 20}); err != nil {
		b.Fatal(err)
	}
	doc := buf.Bytes()
	// A position inside the padding's comment lines, for the counter.
	mid := bytes.Index(doc[len(doc)/2:], []byte("% padding ")) + len(doc)/2 + 2
	for _, sealed := range []bool{false, true} {
		name := "plain"
		if sealed {
			name = "sealed"
		}
		adjust := func(c *workflow.Config) { c.MaxDocumentSize = 32 << 20 }
		var e *env
		if sealed {
			e, _ = newSealedEnv(b, adjust)
		} else {
			e = newEnvConfig(b, adjust)
		}
		ctx := context.Background()
		n := 0
		upload := func() *workflow.Document {
			n++
			copy(doc[mid:], fmt.Sprintf("%016x", n))
			d, err := e.svc.Upload(ctx, actor("t1"), "bench.pdf", bytes.NewReader(doc))
			if err != nil {
				b.Fatal(err)
			}
			return d
		}
		b.Run("upload/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				upload()
			}
		})
		d := upload()
		b.Run("download/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			cp := make([]byte, 32<<10)
			for b.Loop() {
				rd, _, err := e.svc.OpenDocument(ctx, actor("t1"), d.ID)
				if err != nil {
					b.Fatal(err)
				}
				m, err := io.CopyBuffer(discard{}, struct{ io.Reader }{rd}, cp)
				rd.Close()
				if err != nil || m != int64(len(doc)) {
					b.Fatalf("read %d bytes: %v", m, err)
				}
			}
		})
		// The same download as a client sees it: GET .../content over
		// HTTPS (TLS 1.3 on loopback) through the handler.
		rt := api.NewRouter()
		(&workflow.Handler{Service: e.svc}).Register(rt)
		srv := httptest.NewTLSServer(testAuth(rt))
		b.Run("download-https/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			cp := make([]byte, 32<<10)
			for b.Loop() {
				req, _ := http.NewRequest("GET", srv.URL+"/v1/documents/"+d.ID+"/content", nil)
				req.Header.Set("X-Test-Principal", "t1/key-t1/"+allActions)
				resp, err := srv.Client().Do(req)
				if err != nil {
					b.Fatal(err)
				}
				m, err := io.CopyBuffer(discard{}, struct{ io.Reader }{resp.Body}, cp)
				resp.Body.Close()
				if err != nil || m != int64(len(doc)) || resp.StatusCode != http.StatusOK {
					b.Fatalf("%d: read %d bytes: %v", resp.StatusCode, m, err)
				}
			}
		})
		srv.Close()
	}
}

// discard is io.Discard without ReadFrom, so that the copy goes through
// the benchmark's buffer.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
