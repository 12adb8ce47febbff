package workflow_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/keys/dataseal"
)

// BenchmarkContent10MB uploads and downloads a 10 MB PDF through the
// workflow service with contents in the clear and sealed under the
// tenant's key (keys/dataseal streams), each over its own blob.FS and
// SQLite in a temporary directory. The two are measured side by side:
// every iteration does the operation once in each (alternating which
// goes first), so that both see the same machine load, and the
// benchmark reports plain-ms/op, sealed-ms/op and overhead-% (ns/op is
// the pair), and the CPU time the process spent in each (plain-cpu-ms/op,
// sealed-cpu-ms/op: user and system time of all its threads, so work done
// in parallel counts in full, and other processes' load does not).
//
// Each upload is of different bytes (a counter written into the
// padding), so that neither finds its content already stored; it
// includes the full PDF check, the audit record and the row. "download"
// reads the whole document through the reader the handler serves, in
// 32 KiB reads (net/http's copy buffer); "download-https" is GET
// .../content over HTTPS (TLS 1.3 on loopback), as a client receives it.
func BenchmarkContent10MB(b *testing.B) {
	var buf bytes.Buffer
	if err := pdf.WriteSample(&buf, pdf.SampleOptions{Pages: 1, Title: "Benchmark", Padding: 10 << 20}); err != nil {
		b.Fatal(err)
	}
	doc := buf.Bytes()
	// A position inside the padding's comment lines, for the counter.
	mid := bytes.Index(doc[len(doc)/2:], []byte("% padding ")) + len(doc)/2 + 2
	adjust := func(c *workflow.Config) { c.MaxDocumentSize = 32 << 20 }
	plain := newEnvConfig(b, adjust)
	sealed, _ := newSealedEnv(b, adjust)
	envs := [2]*env{plain, sealed}
	ctx := context.Background()
	n := 0
	upload := func(e *env) *workflow.Document {
		n++
		copy(doc[mid:], fmt.Sprintf("%016x", n))
		d, err := e.svc.Upload(ctx, actor("t1"), "bench.pdf", bytes.NewReader(doc))
		if err != nil {
			b.Fatal(err)
		}
		return d
	}
	// sideBySide runs op on both envs in each iteration and reports
	// their times.
	sideBySide := func(b *testing.B, op func(b *testing.B, k int)) {
		b.SetBytes(int64(len(doc)))
		var spent, cpu [2]time.Duration
		i := 0
		for b.Loop() {
			for j := range 2 {
				k := (i + j) % 2
				t0, c0 := time.Now(), cpuTime()
				op(b, k)
				spent[k] += time.Since(t0)
				cpu[k] += cpuTime() - c0
			}
			i++
		}
		runs := float64(i)
		b.ReportMetric(spent[0].Seconds()*1e3/runs, "plain-ms/op")
		b.ReportMetric(spent[1].Seconds()*1e3/runs, "sealed-ms/op")
		b.ReportMetric(100*(spent[1].Seconds()/spent[0].Seconds()-1), "overhead-%")
		b.ReportMetric(cpu[0].Seconds()*1e3/runs, "plain-cpu-ms/op")
		b.ReportMetric(cpu[1].Seconds()*1e3/runs, "sealed-cpu-ms/op")
	}
	b.Run("upload", func(b *testing.B) {
		sideBySide(b, func(b *testing.B, k int) { upload(envs[k]) })
	})
	var docs [2]*workflow.Document
	var srvs [2]*httptest.Server
	for k, e := range envs {
		docs[k] = upload(e)
		rt := api.NewRouter()
		(&workflow.Handler{Service: e.svc}).Register(rt)
		srvs[k] = httptest.NewTLSServer(testAuth(rt))
		defer srvs[k].Close()
	}
	cp := make([]byte, 32<<10)
	check := func(b *testing.B, m int64, err error) {
		if err != nil || m != int64(len(doc)) {
			b.Fatalf("read %d bytes: %v", m, err)
		}
	}
	b.Run("download", func(b *testing.B) {
		sideBySide(b, func(b *testing.B, k int) {
			rd, _, err := envs[k].svc.OpenDocument(ctx, actor("t1"), docs[k].ID)
			if err != nil {
				b.Fatal(err)
			}
			m, err := io.CopyBuffer(discard{}, struct{ io.Reader }{rd}, cp)
			rd.Close()
			check(b, m, err)
		})
	})
	b.Run("download-https", func(b *testing.B) {
		sideBySide(b, func(b *testing.B, k int) {
			req, _ := http.NewRequest("GET", srvs[k].URL+"/v1/documents/"+docs[k].ID+"/content", nil)
			req.Header.Set("X-Test-Principal", "t1/key-t1/"+allActions)
			resp, err := srvs[k].Client().Do(req)
			if err != nil {
				b.Fatal(err)
			}
			m, err := io.CopyBuffer(discard{}, struct{ io.Reader }{resp.Body}, cp)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
			check(b, m, err)
		})
	})
}

// discard is io.Discard without ReadFrom, so that the copy goes through
// the benchmark's buffer.
type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkFloor10MB is the physical floor of what sealing adds, on the
// same machine in the same run as [BenchmarkContent10MB]: one pass of
// SHA-256, of AES-256-GCM sealing and of opening over 10 MiB in
// [dataseal.SegmentSize] segments (in place, one goroutine, no I/O), and
// a copy of 10 MiB. Each reports ms/op.
func BenchmarkFloor10MB(b *testing.B) {
	const size = 10 << 20
	data := make([]byte, size)
	rand.Read(data)
	key := make([]byte, 32)
	rand.Read(key)
	block, err := aes.NewCipher(key)
	if err != nil {
		b.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		b.Fatal(err)
	}
	nonce := make([]byte, aead.NonceSize())
	seg := dataseal.SegmentSize
	sealed := make([]byte, 0, size+size/seg*aead.Overhead()+aead.Overhead())
	for off := 0; off < size; off += seg {
		sealed = aead.Seal(sealed, nonce, data[off:min(off+seg, size)], nil)
	}
	buf := make([]byte, seg+aead.Overhead())
	ms := func(b *testing.B, op func()) {
		b.SetBytes(size)
		t0 := time.Now()
		for b.Loop() {
			op()
		}
		b.ReportMetric(time.Since(t0).Seconds()*1e3/float64(b.N), "ms/op")
	}
	b.Run("sha256", func(b *testing.B) {
		ms(b, func() { sha256.Sum256(data) })
	})
	b.Run("aes-256-gcm-seal", func(b *testing.B) {
		ms(b, func() {
			for off := 0; off < size; off += seg {
				aead.Seal(buf[:0], nonce, data[off:min(off+seg, size)], nil)
			}
		})
	})
	b.Run("aes-256-gcm-open", func(b *testing.B) {
		ms(b, func() {
			ct := seg + aead.Overhead()
			for off := 0; off < len(sealed); off += ct {
				if _, err := aead.Open(buf[:0], nonce, sealed[off:min(off+ct, len(sealed))], nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("copy", func(b *testing.B) {
		dst := make([]byte, size)
		ms(b, func() { copy(dst, data) })
	})
}
