package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/server"
)

// snapshot maps every file of dir to its size and SHA-256.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			out[p] = "dir"
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[p] = string(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// post sends body to POST /v1/verify without any credential.
func (r *running) post(path string, body []byte, accept string) resp {
	r.t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.base+path, bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	res, err := r.client.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// TestPublicVerify: POST /v1/verify needs no login, answers a PDF's and a
// bundle's reports with the server's trust, as JSON or HTML, refuses what
// is too large (413) or neither (415) with problems, limits each client
// IP (429 with Retry-After), and writes nothing to the data directory.
func TestPublicVerify(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	const maxUpload = 200 << 10
	r := start(t, dir, func(c *server.Config) {
		c.MaxUploadSize = maxUpload
		c.VerifyRateLimit = &api.Rate{PerSecond: 0.001, Burst: 5}
	})
	admin := r.bootstrapKey()
	res := r.do("POST", "/v1/tenants", admin, map[string]string{"name": "Acme"})
	var tenant accounts.Tenant
	if res.status != http.StatusCreated || json.Unmarshal(res.body, &tenant) != nil {
		t.Fatalf("create tenant: %d %s", res.status, res.body)
	}
	doc, err := os.ReadFile("../../testdata/pdf/classic.pdf")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := r.srv.SealPDF(context.Background(), tenant.ID, doc)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := os.ReadFile("../../evidence/testdata/valid.zip")
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)

	type answer struct {
		Kind   string `json:"kind"`
		Report struct {
			Valid      bool   `json:"valid"`
			Indication string `json:"indication"`
		} `json:"report"`
	}
	decode := func(res resp) answer {
		t.Helper()
		var a answer
		if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") || json.Unmarshal(res.body, &a) != nil {
			t.Fatalf("%d %s: %s", res.status, res.header.Get("Content-Type"), res.body)
		}
		return a
	}
	// 1. A PDF sealed by the server verifies with the server's trust.
	if a := decode(r.post("/v1/verify", sealed, "")); a.Kind != "pdf" || !a.Report.Valid {
		t.Fatalf("sealed PDF: %+v", a)
	}
	// 2. A bundle of another PKI: its root is only a hint, not trusted.
	if a := decode(r.post("/v1/verify", bundle, "application/json")); a.Kind != "bundle" || a.Report.Indication != "INDETERMINATE" {
		t.Fatalf("bundle of another root: %+v", a)
	}
	// 3. A browser gets HTML.
	res = r.post("/v1/verify", bundle, "text/html,application/xhtml+xml,*/*;q=0.8")
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "text/html") || !bytes.Contains(res.body, []byte("INDETERMINATE")) {
		t.Fatalf("HTML: %d %s", res.status, res.header.Get("Content-Type"))
	}
	// 4. Neither a PDF nor a bundle; too large.
	problem := func(res resp, status int) {
		t.Helper()
		var p api.Problem
		if res.status != status || res.header.Get("Content-Type") != api.ContentTypeProblem || json.Unmarshal(res.body, &p) != nil || p.Status != status {
			t.Fatalf("want a %d problem, got %d %s: %s", status, res.status, res.header.Get("Content-Type"), res.body)
		}
	}
	problem(r.post("/v1/verify", []byte("just text"), ""), http.StatusUnsupportedMediaType)
	problem(r.post("/v1/verify", append([]byte("%PDF-1.7\n"), make([]byte, maxUpload)...), ""), http.StatusRequestEntityTooLarge)
	// 5. The sixth request of this address is over the limit.
	res = r.post("/v1/verify", sealed, "")
	problem(res, http.StatusTooManyRequests)
	if res.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	// Nothing was written.
	after := snapshot(t, dir)
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("verification created %s", p)
		} else if before[p] != after[p] {
			t.Errorf("verification changed %s", p)
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("verification removed %s", p)
		}
	}
}
