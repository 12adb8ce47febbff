package workflow_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/pdf"
)

// problem decodes a problem+json answer and checks its media type.
func problem(t *testing.T, resp *http.Response, body []byte) api.Problem {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != api.ContentTypeProblem {
		t.Fatalf("Content-Type %q, want %s (body %s)", ct, api.ContentTypeProblem, body)
	}
	var p api.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != resp.StatusCode {
		t.Fatalf("problem status %d, HTTP status %d", p.Status, resp.StatusCode)
	}
	return p
}

func TestUploadAndDownload(t *testing.T) {
	e := newEnv(t)
	doc := samplePDF(t, 3, "Contract")
	resp, body := e.do("t1", "POST", "/v1/documents?name=contract.pdf", "application/pdf", doc)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	var d struct {
		ID     string `json:"id"`
		SHA256 string `json:"sha256"`
		Size   int64  `json:"size"`
		Pages  int    `json:"pages"`
		Name   string `json:"name"`
	}
	json.Unmarshal(body, &d)
	if d.SHA256 != sum(doc) || d.Size != int64(len(doc)) || d.Pages != 3 || d.Name != "contract.pdf" {
		t.Fatalf("document = %+v", d)
	}
	resp, body = e.do("t1", "GET", "/v1/documents/"+d.ID+"/content", "", nil)
	if resp.StatusCode != 200 || !bytes.Equal(body, doc) || resp.Header.Get("ETag") != `"`+d.SHA256+`"` {
		t.Fatalf("download: %d, %d bytes, etag %s", resp.StatusCode, len(body), resp.Header.Get("ETag"))
	}
	// Same content again: a second row, one blob.
	resp, _ = e.do("t1", "POST", "/v1/documents", "application/pdf", doc)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("second upload: %d", resp.StatusCode)
	}
	if c := e.counts(); c.documents != 2 || c.blobs != 1 {
		t.Fatalf("counts after two uploads of one content: %+v", c)
	}
	if got := e.events(0); strings.Join(got, " ") != "document.uploaded:success document.downloaded:success document.uploaded:success" {
		t.Fatalf("audit events = %v", got)
	}
}

func TestUploadBadInput(t *testing.T) {
	e := newEnv(t)
	valid := samplePDF(t, 1, "x")
	js := setCatalog(t, valid, "OpenAction", pdf.Dict{"S": pdf.Name("JavaScript"), "JS": pdf.String("app.alert(1)")})
	jsTree := setCatalog(t, valid, "Names", pdf.Dict{"JavaScript": pdf.Dict{"Names": pdf.Array{}}})
	launch := setCatalog(t, valid, "OpenAction", pdf.Dict{"S": pdf.Name("Launch"), "F": pdf.String("calc.exe")})
	aa := withUpdate(t, valid, func(r *pdf.Reader, u *pdf.Update) {
		ref, page, err := r.Page(1)
		if err != nil {
			t.Fatal(err)
		}
		p := page.Clone()
		p["AA"] = pdf.Dict{"O": pdf.Dict{"S": pdf.Name("URI"), "URI": pdf.String("https://example.com")}}
		u.Set(ref, p)
	})
	// A /JS string hidden in an object no page references.
	hidden := withUpdate(t, valid, func(r *pdf.Reader, u *pdf.Update) {
		u.Add(pdf.Dict{"Type": pdf.Name("Action"), "S": pdf.Name("JavaScript"), "JS": pdf.String("x")})
	})
	brokenPages := setCatalog(t, valid, "Pages", pdf.Ref{Num: 999})
	big := func() []byte {
		var b bytes.Buffer
		pdf.WriteSample(&b, pdf.SampleOptions{Pages: 1, Padding: maxUpload})
		return b.Bytes()
	}()
	tests := []struct {
		name        string
		contentType string
		body        []byte
		status      int
		problemType string
		audited     bool // a denied document.uploaded event is recorded
	}{
		{"oversized", "application/pdf", big, 413, "too-large", false},
		{"wrong content type", "application/json", valid, 415, "unsupported-media-type", false},
		{"no content type", "", valid, 415, "unsupported-media-type", false},
		{"not a PDF", "application/pdf", []byte("hello, world"), 422, "not-a-pdf", false},
		{"empty", "application/pdf", nil, 422, "not-a-pdf", false},
		{"truncated", "application/pdf", valid[:len(valid)-40], 422, "malformed-pdf", false},
		{"header only", "application/pdf", []byte("%PDF-1.7\n%%EOF\n"), 422, "malformed-pdf", false},
		{"broken page tree", "application/pdf", brokenPages, 422, "malformed-pdf", false},
		{"encrypted", "application/pdf", encryptedPDF(t), 422, "encrypted-pdf", true},
		{"javascript open action", "application/pdf", js, 422, "pdf-active-content", true},
		{"javascript name tree", "application/pdf", jsTree, 422, "pdf-active-content", true},
		{"launch action", "application/pdf", launch, 422, "pdf-active-content", true},
		{"additional actions", "application/pdf", aa, 422, "pdf-active-content", true},
		{"unreferenced javascript", "application/pdf", hidden, 422, "pdf-active-content", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.counts()
			resp, body := e.do("t1", "POST", "/v1/documents", tt.contentType, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			p := problem(t, resp, body)
			if p.Type != api.ProblemBase+tt.problemType {
				t.Fatalf("problem type %s, want %s", p.Type, tt.problemType)
			}
			after := e.counts()
			if after.documents != before.documents || after.blobs != before.blobs {
				t.Fatalf("something was stored: before %+v, after %+v", before, after)
			}
			evs := e.events(before.events)
			if tt.audited {
				if len(evs) != 1 || evs[0] != "document.uploaded:denied" {
					t.Fatalf("audit events %v, want one denied upload", evs)
				}
			} else if len(evs) != 0 {
				t.Fatalf("audit events %v, want none", evs)
			}
		})
	}
}

func TestUploadFailsClosedWithoutAudit(t *testing.T) {
	e := newEnv(t)
	e.recorder.failing.Store(true)
	resp, body := e.do("t1", "POST", "/v1/documents", "application/pdf", samplePDF(t, 1, "x"))
	if resp.StatusCode != http.StatusServiceUnavailable || problem(t, resp, body).Type != api.ProblemBase+"audit-unavailable" {
		t.Fatalf("upload with a failing audit log: %d %s", resp.StatusCode, body)
	}
	if c := e.counts(); c.documents != 0 {
		t.Fatalf("document row stored without its audit event: %+v", c)
	}
}

func TestDocumentTenantIsolation(t *testing.T) {
	e := newEnv(t)
	resp, body := e.do("t1", "POST", "/v1/documents", "application/pdf", samplePDF(t, 1, "mine"))
	if resp.StatusCode != http.StatusCreated {
		t.Fatal(resp.StatusCode)
	}
	var d struct{ ID string }
	json.Unmarshal(body, &d)
	for _, path := range []string{"/v1/documents/" + d.ID, "/v1/documents/" + d.ID + "/content"} {
		before := e.counts().events
		resp, body := e.do("t2", "GET", path, "", nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Fatalf("tenant t2 GET %s: %d %s", path, resp.StatusCode, body)
		}
		problem(t, resp, body)
		if evs := e.events(before); len(evs) != 1 || evs[0] != "document.downloaded:denied" {
			t.Fatalf("cross-tenant probe audit = %v", evs)
		}
		// A document id that exists nowhere is not audited.
		before = e.counts().events
		if resp, _ := e.do("t2", "GET", "/v1/documents/doc_nothing", "", nil); resp.StatusCode != 404 {
			t.Fatalf("unknown id: %d", resp.StatusCode)
		}
		if evs := e.events(before); len(evs) != 0 {
			t.Fatalf("unknown id audited: %v", evs)
		}
	}
	// Envelopes of t2 cannot use t1's document either.
	resp, body = e.doJSON("t2", "POST", "/v1/envelopes", map[string]any{
		"subject": "s", "documents": []string{d.ID},
		"recipients": []map[string]any{{"role": "signer", "name": "A", "email": "a@example.com", "routing_order": 1}},
	})
	if resp.StatusCode != 422 {
		t.Fatalf("envelope with another tenant's document: %d %s", resp.StatusCode, body)
	}
}

// TestUnauthenticatedAndPlatform: without a principal the routes answer
// 401; the platform administrator (no tenant) is refused inside tenants
// (the action gate refuses it first in the server).
func TestUnauthenticatedAndPlatform(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/envelopes", nil)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no principal: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest("POST", e.srv.URL+"/v1/documents", bytes.NewReader(samplePDF(t, 1, "x")))
	req.Header.Set("Content-Type", "application/pdf")
	req.Header.Set("X-Test-Principal", "/key_admin/tenant.admin")
	resp, err = e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || e.counts().documents != 0 {
		t.Fatalf("upload by the platform administrator: %d", resp.StatusCode)
	}
}

// TestUploadNameRefused: a document name that could disguise itself (a
// right-to-left override turning "cod.exe" into "exe.doc" on screen) or
// add lines to an e-mail or a log is refused with a 422.
func TestUploadNameRefused(t *testing.T) {
	e := newEnv(t)
	doc := samplePDF(t, 1, "Name")
	for _, name := range []string{"invoice\u202efdp.exe", "a\u2066b\u2069.pdf", "a\tb.pdf", "a\x7fb.pdf"} {
		resp, body := e.do("t1", "POST", "/v1/documents?name="+url.QueryEscape(name), "application/pdf", doc)
		p := problem(t, resp, body)
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.HasSuffix(p.Type, "invalid-request") {
			t.Errorf("name %q: %d %s", name, resp.StatusCode, body)
		}
	}
}
