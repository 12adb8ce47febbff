package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/evidence"
)

// digestSigner "signs" a manifest with its SHA-256: the signature is not
// what these tests are about.
type digestSigner struct{}

func (digestSigner) SignManifest(_ context.Context, m []byte) ([]byte, error) {
	s := sha256.Sum256(m)
	return s[:], nil
}

// failingReader fails part-way, as a document whose storage fails while
// the bundle streams.
type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("storage failed")
	}
	k := min(len(p), f.n)
	for i := range p[:k] {
		p[i] = 'x'
	}
	f.n -= k
	return k, nil
}

func (f *failingReader) Close() error { return nil }

// TestSendAborts: a bundle that streams whole is a clean 200 with a ZIP;
// one whose document fails part-way is an aborted response, never a
// clean 200 with a short body.
func TestSendAborts(t *testing.T) {
	ctx := context.Background()
	const size = 1 << 20
	bundle := func(failSecond bool) *Bundle {
		reads := 0
		doc := evidence.File{Path: "documents/d1/final.pdf", Open: func(context.Context) (evidence.ReadCloser, error) {
			reads++
			if failSecond && reads == 2 {
				return &failingReader{n: size / 2}, nil
			}
			return io.NopCloser(strings.NewReader(strings.Repeat("x", size))), nil
		}}
		s, err := evidence.Sign(ctx, evidence.Manifest{EnvelopeID: "env_1", Tenant: "t1", Created: time.Now()},
			[]evidence.File{{Path: evidence.PathReadme, Data: []byte("read me\n")}, doc}, digestSigner{})
		if err != nil {
			t.Fatal(err)
		}
		return &Bundle{EnvelopeID: "env_1", Manifest: s.Manifest(), signed: s}
	}
	for _, tc := range []struct {
		name string
		fail bool
	}{{"whole", false}, {"storage fails part-way", true}} {
		t.Run(tc.name, func(t *testing.T) {
			b := bundle(tc.fail)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { send(w, r, b) }))
			defer srv.Close()
			res, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, err := io.ReadAll(res.Body)
			if tc.fail {
				// The status line went out before the failure: only
				// the aborted body tells the client.
				if res.StatusCode != http.StatusOK || err == nil {
					t.Fatalf("status %d, read error %v: a failed bundle read as a complete response (%d bytes)", res.StatusCode, err, len(body))
				}
				return
			}
			if err != nil || res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/zip" ||
				res.Header.Get("Content-Disposition") != `attachment; filename="evidence-env_1.zip"` {
				t.Fatalf("%v %d %v", err, res.StatusCode, res.Header)
			}
			if _, err := zip.NewReader(bytes.NewReader(body), int64(len(body))); err != nil {
				t.Errorf("not a ZIP: %v", err)
			}
		})
	}
}
