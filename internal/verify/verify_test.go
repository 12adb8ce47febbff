package verify

import (
	"archive/zip"
	"bytes"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/evidence"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/tokenbucket"
)

// The committed evidence bundle of package evidence (one recipient, a
// time-stamp authority that lives 30 years) and its root.
func sample(t *testing.T) (bundle, pdf []byte, roots *x509.CertPool) {
	t.Helper()
	bundle, err := os.ReadFile("../../evidence/testdata/valid.zip")
	if err != nil {
		t.Fatal(err)
	}
	rootPEM, err := os.ReadFile("../../evidence/testdata/root.pem")
	if err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AppendCertsFromPEM(rootPEM)
	return bundle, entry(t, bundle, evidence.PathDocuments+"doc-1/final.pdf"), roots
}

func entry(t *testing.T, zipped []byte, name string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == name {
			rc, _ := f.Open()
			defer rc.Close()
			b, _ := io.ReadAll(rc)
			return b
		}
	}
	t.Fatalf("no %s", name)
	return nil
}

// replaceEntry rewrites a ZIP with one entry's content replaced.
func replaceEntry(t *testing.T, zipped []byte, name string, data []byte) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		b := entry(t, zipped, f.Name)
		if f.Name == name {
			b = data
		}
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate})
		w.Write(b)
	}
	zw.Close()
	return buf.Bytes()
}

func post(h http.Handler, body []byte, accept, ip string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/v1/verify", bytes.NewReader(body))
	r.RemoteAddr = ip + ":1234"
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func mux(cfg Config) *http.ServeMux {
	m := http.NewServeMux()
	New(cfg).Register(m)
	return m
}

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

func TestVerifyAnswers(t *testing.T) {
	bundle, pdf, roots := sample(t)
	script := replaceEntry(t, bundle, evidence.PathManifest,
		bytes.ReplaceAll(entry(t, bundle, evidence.PathManifest), []byte(`"env-1"`), []byte(`"<script>alert(1)</script>"`)))
	h := mux(Config{Roots: roots, Rate: tokenbucket.Rate{PerSecond: 100, Burst: 100}})
	tests := []struct {
		name     string
		body     []byte
		accept   string
		ctype    string
		contains []string
		absent   []string
		kind     string
		valid    bool
	}{
		{name: "pdf as JSON", body: pdf, ctype: "application/json", kind: KindPDF, valid: true},
		{name: "bundle as JSON", body: bundle, accept: "application/json", ctype: "application/json", kind: KindBundle, valid: true},
		{name: "tampered bundle as JSON", body: script, ctype: "application/json", kind: KindBundle},
		{name: "bundle as HTML", body: bundle, accept: browserAccept, ctype: "text/html; charset=utf-8", contains: []string{"Evidence bundle", ">VALID<", "manifest-signature", "Nothing you sent was stored"}},
		{name: "pdf as HTML", body: pdf, accept: browserAccept, ctype: "text/html; charset=utf-8", contains: []string{"every signature is valid", "PAdES-B-LTA"}},
		{name: "HTML escapes what the input says", body: script, accept: browserAccept, ctype: "text/html; charset=utf-8",
			contains: []string{"&lt;script&gt;alert(1)&lt;/script&gt;", ">INVALID<"}, absent: []string{"<script>"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := post(h, tc.body, tc.accept, "192.0.2.1")
			if w.Code != http.StatusOK || w.Header().Get("Content-Type") != tc.ctype {
				t.Fatalf("status %d, %s: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Error("the answer may be cached")
			}
			body := w.Body.String()
			for _, s := range tc.contains {
				if !strings.Contains(body, s) {
					t.Errorf("answer lacks %q", s)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(body, s) {
					t.Errorf("answer holds %q", s)
				}
			}
			if tc.kind == "" {
				return
			}
			var ans struct {
				Kind   string `json:"kind"`
				Report struct {
					Valid      bool   `json:"valid"`
					Indication string `json:"indication"`
				} `json:"report"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &ans); err != nil {
				t.Fatal(err)
			}
			valid := ans.Report.Valid || ans.Report.Indication == evidence.Valid
			if ans.Kind != tc.kind || valid != tc.valid {
				t.Fatalf("answer %+v, want kind %s valid %v", ans, tc.kind, tc.valid)
			}
		})
	}
}

// problem decodes a problem+json answer and checks its status.
func problem(t *testing.T, w *httptest.ResponseRecorder, status int) api.Problem {
	t.Helper()
	if w.Code != status || w.Header().Get("Content-Type") != api.ContentTypeProblem {
		t.Fatalf("status %d, %s, want %d problem+json: %s", w.Code, w.Header().Get("Content-Type"), status, w.Body)
	}
	var p api.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != status || p.Type == "" || p.Detail == "" {
		t.Fatalf("problem %+v", p)
	}
	return p
}

func TestVerifyRefusals(t *testing.T) {
	bundle, pdf, roots := sample(t)
	t.Run("413 body too large", func(t *testing.T) {
		h := mux(Config{Roots: roots, MaxBody: int64(len(pdf) - 1)})
		p := problem(t, post(h, pdf, "", "192.0.2.2"), http.StatusRequestEntityTooLarge)
		if !strings.HasSuffix(p.Type, "/too-large") {
			t.Errorf("type %s", p.Type)
		}
		// Without a Content-Length, the bound holds while reading.
		r := httptest.NewRequest(http.MethodPost, "/v1/verify", io.MultiReader(bytes.NewReader(pdf)))
		r.ContentLength = -1
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		problem(t, w, http.StatusRequestEntityTooLarge)
	})
	t.Run("413 bundle over the verifier's limits", func(t *testing.T) {
		bomb := replaceEntry(t, bundle, "README.txt", make([]byte, 4<<20))
		h := mux(Config{Roots: roots, MaxBody: int64(len(bomb)) + 1})
		problem(t, post(h, bomb, "", "192.0.2.3"), http.StatusRequestEntityTooLarge)
	})
	h := mux(Config{Roots: roots})
	for _, tc := range []struct {
		name   string
		body   []byte
		status int
	}{
		{"415 text", []byte("hello, is this signed?"), http.StatusUnsupportedMediaType},
		{"415 empty", nil, http.StatusUnsupportedMediaType},
		{"415 gzip", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0}, http.StatusUnsupportedMediaType},
		{"422 not a bundle", []byte("PK\x03\x04 not really"), http.StatusUnprocessableEntity},
		{"422 broken PDF", []byte("%PDF-1.7\nnothing else"), http.StatusUnprocessableEntity},
	} {
		t.Run(tc.name, func(t *testing.T) { problem(t, post(h, tc.body, browserAccept, "192.0.2.4"), tc.status) })
	}
	t.Run("429 per client IP", func(t *testing.T) {
		now := time.Unix(1e9, 0)
		h := mux(Config{Roots: roots, Rate: tokenbucket.Rate{PerSecond: 0.1, Burst: 2}, Now: func() time.Time { return now }})
		for i := range 2 {
			if w := post(h, pdf, "", "198.51.100.7"); w.Code != http.StatusOK {
				t.Fatalf("request %d: %d", i+1, w.Code)
			}
		}
		w := post(h, pdf, "", "198.51.100.7")
		problem(t, w, http.StatusTooManyRequests)
		if ra := w.Header().Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("Retry-After %q", ra)
		}
		// Another address has its own bucket; time refills this one.
		if w := post(h, pdf, "", "198.51.100.8"); w.Code != http.StatusOK {
			t.Fatalf("another address: %d", w.Code)
		}
		now = now.Add(10 * time.Second)
		if w := post(h, pdf, "", "198.51.100.7"); w.Code != http.StatusOK {
			t.Fatalf("after the refill: %d", w.Code)
		}
	})
}

func TestPrefersHTML(t *testing.T) {
	for _, tc := range []struct {
		accept string
		html   bool
	}{
		{"", false},
		{"*/*", false},
		{"application/json", false},
		{browserAccept, true},
		{"text/html", true},
		{"text/*", true},
		{"application/json, text/html;q=0.5", false},
		{"text/html;q=0.9, application/json", false},
		{"text/html;q=1, application/json;q=0.2", true},
		{"application/*;q=0.1, text/html;q=0.2", true},
		{"text/html;q=bogus", false},
	} {
		if got := PrefersHTML(tc.accept); got != tc.html {
			t.Errorf("PrefersHTML(%q) = %v, want %v", tc.accept, got, tc.html)
		}
	}
}

// FuzzVerifyBody: whatever the body and Accept header, the handler
// answers a report or a problem, never panics.
func FuzzVerifyBody(f *testing.F) {
	f.Add([]byte("%PDF-1.7\n"), "text/html")
	f.Add([]byte("PK\x03\x04"), "application/json;q=0.5, */*")
	f.Add([]byte("hello"), "")
	h := mux(Config{Rate: tokenbucket.Rate{PerSecond: 1e9, Burst: 1 << 30}, MaxBody: 1 << 20})
	f.Fuzz(func(t *testing.T, body []byte, accept string) {
		w := post(h, body, accept, "203.0.113.9")
		switch w.Code {
		case http.StatusOK:
			if ct := w.Header().Get("Content-Type"); ct != "application/json" && ct != "text/html; charset=utf-8" {
				t.Fatalf("200 with %s", ct)
			}
		default:
			if w.Header().Get("Content-Type") != api.ContentTypeProblem {
				t.Fatalf("%d without a problem", w.Code)
			}
		}
	})
}

// TestVerifyConcurrencyBound: beyond MaxConcurrent verifications at once,
// a request is answered 503 with Retry-After, not queued in memory.
func TestVerifyConcurrencyBound(t *testing.T) {
	_, pdf, roots := sample(t)
	h := New(Config{Roots: roots, MaxConcurrent: 1})
	m := http.NewServeMux()
	h.Register(m)
	pr, pw := io.Pipe()
	done := make(chan *httptest.ResponseRecorder)
	go func() {
		r := httptest.NewRequest(http.MethodPost, "/v1/verify", pr)
		r.RemoteAddr = "192.0.2.10:1"
		w := httptest.NewRecorder()
		m.ServeHTTP(w, r)
		done <- w
	}()
	// The first request holds the only slot while its body arrives.
	if _, err := pw.Write(pdf[:10]); err != nil {
		t.Fatal(err)
	}
	w := post(m, pdf, "", "192.0.2.11")
	problem(t, w, http.StatusServiceUnavailable)
	if w.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	pw.Write(pdf[10:])
	pw.Close()
	if w := <-done; w.Code != http.StatusOK {
		t.Fatalf("the first request: %d %s", w.Code, w.Body)
	}
	if w := post(m, pdf, "", "192.0.2.11"); w.Code != http.StatusOK {
		t.Fatalf("once the slot is free: %d", w.Code)
	}
}
