package ocsp_test

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/signet-pki/signet/pki/ca"
	"github.com/signet-pki/signet/pki/ocsp"
)

// countingSigner counts the signatures of the responder's key.
type countingSigner struct {
	crypto.Signer
	n atomic.Int64
}

func (s *countingSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.n.Add(1)
	return s.Signer.Sign(r, digest, opts)
}

// post sends der to the responder over HTTP and returns the response.
func post(t *testing.T, url string, der []byte) []byte {
	t.Helper()
	resp, err := http.Post(url, ocsp.ContentTypeRequest, bytes.NewReader(der))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST: %d %v", resp.StatusCode, err)
	}
	return body
}

func status(t *testing.T, f *fixture, der []byte) int {
	t.Helper()
	r, err := xocsp.ParseResponse(der, f.issuer)
	if err != nil {
		t.Fatal(err)
	}
	return r.Status
}

func writePEM(t *testing.T, dir, name string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestPreProducedResponses: over HTTP, many requests for one certificate
// (each with its own nonce, by POST and GET, at once or one after the
// other) are answered by one signature; openssl verifies the response it
// is served from the cache; a revocation is answered at once; a no-cache
// request gets a response signed now; and a response is produced again
// after ReuseFor.
func TestPreProducedResponses(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is required: ", err)
	}
	now := time.Now().Truncate(time.Second)
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	f := newFixtureAt(t, now)
	f.responder.Now = func() time.Time { return *clock.Load() }
	f.responder.ReuseFor = 10 * time.Minute
	srv := httptest.NewServer(http.StripPrefix("/ocsp", f.responder))
	defer srv.Close()
	url := srv.URL + "/ocsp"

	var first []byte
	for i := range 50 {
		nonce := big.NewInt(int64(i + 1)).Bytes()
		der := post(t, url, f.request(t, f.good.SerialNumber, crypto.SHA1, nonce))
		if first == nil {
			first = der
		} else if !bytes.Equal(der, first) {
			t.Fatal("a request for the same certificate got another response")
		}
	}
	get, err := http.Get(url + "/" + base64.StdEncoding.EncodeToString(f.request(t, f.good.SerialNumber, crypto.SHA1, nil)))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(get.Body)
	get.Body.Close()
	if !bytes.Equal(body, first) {
		t.Error("GET got another response than POST")
	}
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			resp, err := http.Post(url, ocsp.ContentTypeRequest, bytes.NewReader(f.request(t, f.rev.SerialNumber, crypto.SHA1, nil)))
			if err == nil {
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	if n := f.signer.n.Load(); n != 2 {
		t.Fatalf("67 requests for two certificates made %d signatures, want 2", n)
	}
	if s := status(t, f, first); s != xocsp.Good {
		t.Fatalf("status %d", s)
	}

	// openssl asks (with a nonce), is served the response above, and
	// verifies it.
	dir := t.TempDir()
	issuer := writePEM(t, dir, "issuer.pem", f.issuer.Raw)
	root := writePEM(t, dir, "root.pem", f.root.Raw)
	cert := writePEM(t, dir, "cert.pem", f.good.Raw)
	openssl := func() string {
		t.Helper()
		out, err := exec.Command("openssl", "ocsp", "-issuer", issuer, "-cert", cert, "-url", url, "-CAfile", root).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Response verify OK") {
			t.Fatalf("openssl ocsp: %v\n%s", err, out)
		}
		return string(out)
	}
	if out := openssl(); !strings.Contains(out, cert+": good") {
		t.Errorf("openssl ocsp:\n%s", out)
	}
	if n := f.signer.n.Load(); n != 2 {
		t.Errorf("openssl's request was signed anew (%d signatures)", n)
	}

	// A revocation is answered at once, by a new response.
	if _, err := f.authority.Revoke(context.Background(), f.good.SerialNumber, ca.ReasonKeyCompromise, now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if out := openssl(); !strings.Contains(out, cert+": revoked") {
		t.Errorf("after revocation, openssl ocsp:\n%s", out)
	}
	if s := status(t, f, post(t, url, f.request(t, f.good.SerialNumber, crypto.SHA1, nil))); s != xocsp.Revoked {
		t.Errorf("after revocation, status %d", s)
	}
	if n := f.signer.n.Load(); n != 3 {
		t.Errorf("%d signatures after the revocation, want 3", n)
	}

	// A request with Cache-Control: no-cache gets a response signed now,
	// which the next requests are served.
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(f.request(t, f.rev.SerialNumber, crypto.SHA1, nil)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ocsp.ContentTypeRequest)
	req.Header.Set("Cache-Control", "max-age=0, no-cache")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	renewed, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if n := f.signer.n.Load(); n != 4 {
		t.Errorf("a no-cache request made %d signatures in all, want 4", n)
	}
	if again := post(t, url, f.request(t, f.rev.SerialNumber, crypto.SHA1, nil)); !bytes.Equal(again, renewed) || f.signer.n.Load() != 4 {
		t.Error("the response signed for a no-cache request is not served to the next")
	}

	// Past ReuseFor, a response is produced again, with a new thisUpdate.
	later := now.Add(11 * time.Minute)
	clock.Store(&later)
	r, err := xocsp.ParseResponse(post(t, url, f.request(t, f.rev.SerialNumber, crypto.SHA1, nil)), f.issuer)
	if err != nil {
		t.Fatal(err)
	}
	if !r.ThisUpdate.Equal(later) || f.signer.n.Load() != 5 {
		t.Errorf("after ReuseFor: thisUpdate %v, %d signatures", r.ThisUpdate, f.signer.n.Load())
	}
}

// TestPreProducedBounded: the responder keeps at most MaxCached
// responses, so requests for ever new serials do not grow its memory;
// responses dropped are produced again.
func TestPreProducedBounded(t *testing.T) {
	f := newFixture(t)
	f.responder.MaxCached = 4
	ctx := context.Background()
	for range 2 {
		for i := range 10 {
			if _, err := f.responder.Respond(ctx, f.request(t, big.NewInt(int64(1000+i)), crypto.SHA256, nil)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := f.signer.n.Load(); n < 16 {
		t.Errorf("20 requests for 10 certificates with 4 responses kept made only %d signatures", n)
	}
}
