package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/apiclient"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/pdf/pdftest"
	"github.com/signet-pki/signet/internal/secretscan"
	"github.com/signet-pki/signet/internal/signing"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/pades"
)

// signatureWidgets counts the widgets of signature fields on the pages
// of the PDF b.
func signatureWidgets(t *testing.T, b []byte) int {
	t.Helper()
	r, err := pdf.Open(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for p := 1; ; p++ {
		_, page, err := r.Page(p)
		if err != nil {
			return n
		}
		annots, _ := r.Resolve(page["Annots"])
		arr, _ := annots.(pdf.Array)
		for _, a := range arr {
			d, err := r.Dict(a)
			if err != nil || d.Name("Subtype") != "Widget" {
				continue
			}
			if parent, _ := r.Dict(d["Parent"]); parent.Name("FT") == "Sig" {
				n++
			}
		}
	}
}

// TestPlacedFields runs placed fields through the whole server: a sender
// places fields for two signers (and may not set the consent text), each
// signer sees only their fields and the consent text,
// consents to it by its digest and signs with values, and the completed
// document shows both signers' filled fields and passes pades.Verify and
// pdfsig.
func TestPlacedFields(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, dir, nil)
	p := r.party(ctx, "Fields Corp")
	c := &apiclient.Client{Base: r.base, HTTP: r.client}

	// The consent text is the tenant administrator's (policy.admin, a
	// privileged action), not the sender's; unset, it is the built-in one.
	for _, method := range []string{"GET", "PUT"} {
		if _, err := p.sender.Do(ctx, method, "/v1/settings", map[string]string{"consent_text": "mine"}, "", nil); !isStatus(err, http.StatusForbidden) {
			t.Fatalf("the sender's %s /v1/settings: %v", method, err)
		}
	}
	text := workflow.DefaultConsentText
	sum := sha256.Sum256([]byte(text))
	settings := workflow.SettingsView{ConsentText: text, ConsentSHA256: hex.EncodeToString(sum[:])}

	var sample bytes.Buffer
	if err := pdf.WriteSample(&sample, pdf.SampleOptions{Pages: 2, Title: "Fields agreement"}); err != nil {
		t.Fatal(err)
	}
	doc, err := p.sender.Upload(ctx, "agreement.pdf", sample.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var pages struct {
		Pages []workflow.PageSize `json:"pages"`
	}
	if _, err := p.sender.Do(ctx, "GET", "/v1/documents/"+doc.ID+"/pages", nil, "", &pages); err != nil || len(pages.Pages) != 2 || pages.Pages[1].Width != 595 {
		t.Fatalf("pages = %+v, %v", pages, err)
	}
	signers := [][2]string{{"Alice Fields", "alice@fields.example"}, {"Bob Fields", "bob@fields.example"}}
	one, two := 0, 1
	e, err := p.sender.CreateEnvelope(ctx, workflow.CreateRequest{
		Subject: "Fields agreement", Documents: []string{doc.ID},
		Recipients: []workflow.RecipientInput{
			{Role: workflow.RoleSigner, Name: signers[0][0], Email: signers[0][1], Order: 1},
			{Role: workflow.RoleSigner, Name: signers[1][0], Email: signers[1][1], Order: 2},
		},
		Fields: []workflow.FieldInput{
			{Document: doc.ID, Recipient: &one, Kind: workflow.FieldSignature, Page: 2, X: 72, Y: 100, Width: 200, Height: 40, Required: true, Label: "Alice signs"},
			{Document: doc.ID, Recipient: &one, Kind: workflow.FieldDate, Page: 2, X: 300, Y: 100, Width: 120, Height: 24},
			{Document: doc.ID, Recipient: &two, Kind: workflow.FieldText, Page: 1, X: 72, Y: 600, Width: 300, Height: 24, Required: true, Label: "Bob's city"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Fields) != 3 {
		t.Fatalf("fields = %+v", e.Fields)
	}
	// Bob signs by hand too: the fields are placed again.
	placed := []map[string]any{}
	for _, f := range e.Fields {
		placed = append(placed, map[string]any{"document_id": f.DocumentID, "recipient_id": f.RecipientID, "kind": f.Kind,
			"page": f.Page, "x": f.X, "y": f.Y, "width": f.W, "height": f.H, "required": f.Required, "label": f.Label})
	}
	placed = append(placed, map[string]any{"document_id": doc.ID, "recipient_id": e.Recipients[1].ID, "kind": "signature",
		"page": 1, "x": 72, "y": 500, "width": 200, "height": 40, "required": true})
	if _, err := p.sender.Do(ctx, "PUT", "/v1/envelopes/"+e.ID+"/fields", map[string]any{"fields": placed}, "", &e); err != nil || len(e.Fields) != 4 {
		t.Fatalf("PUT fields: %v %+v", err, e.Fields)
	}
	if e, err = p.sender.Send(ctx, e.ID); err != nil {
		t.Fatal(err)
	}

	// Bob's city is a marker: the signed document shows it, and nothing
	// else keeps it.
	const marker = "Lausanne-7Q9XK"
	mb := &apiclient.Mailbox{Inbox: r.srv.Outbox()}
	values := map[string][]map[string]any{
		e.Recipients[0].ID: {{"id": e.Fields[0].ID, "strokes": [][][]float64{{{0.1, 0.8}, {0.4, 0.2}, {0.9, 0.7}}}}},
		e.Recipients[1].ID: {{"id": e.Fields[2].ID, "text": marker}, {"id": e.Fields[3].ID, "text": "Bob Fields"}},
	}
	for i, s := range signers {
		link, err := mb.Link(ctx, s[1], 1)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := mb.Authenticate(ctx, c, s[1], link)
		if err != nil {
			t.Fatalf("%s: %v", s[0], err)
		}
		var raw []byte
		if _, err := rc.Do(ctx, "GET", "/v1/recipient/envelope", nil, "", &raw); err != nil {
			t.Fatal(err)
		}
		other := signers[1-i]
		if bytes.Contains(raw, []byte(other[0])) || bytes.Contains(raw, []byte(other[1])) {
			t.Errorf("%s's view names %s", s[0], other[0])
		}
		v, err := rc.View(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range v.Fields {
			if f.RecipientID != e.Recipients[i].ID {
				t.Errorf("%s sees a field of %s", s[0], f.RecipientID)
			}
		}
		if len(v.Fields) != 2 || v.Consent.Text != text || v.Consent.SHA256 != settings.ConsentSHA256 {
			t.Fatalf("%s's view: fields %+v, consent %+v", s[0], v.Fields, v.Consent)
		}
		if _, err := rc.Do(ctx, "POST", "/v1/recipient/consent", map[string]any{"consent": true, "consent_sha256": v.Consent.SHA256}, "", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := rc.Do(ctx, "POST", "/v1/recipient/sign", map[string]any{"fields": []any{}}, "", nil); !isStatus(err, http.StatusUnprocessableEntity) ||
			!strings.HasSuffix(err.(*apiclient.Problem).Type, "/fields-incomplete") {
			t.Fatalf("%s signs without values: %v", s[0], err)
		}
		// Signed with an Idempotency-Key, and repeated: the repeat is
		// the stored answer, which holds no value.
		body := map[string]any{"fields": values[e.Recipients[i].ID]}
		first := r.doSession("/v1/recipient/sign", rc.Authorization, "sign-"+s[1], body)
		again := r.doSession("/v1/recipient/sign", rc.Authorization, "sign-"+s[1], body)
		if first.status != http.StatusOK || again.status != http.StatusOK || again.header.Get("Idempotent-Replayed") != "true" ||
			!bytes.Equal(first.body, again.body) || bytes.Contains(first.body, []byte(marker)) {
			t.Fatalf("%s: sign: %d %s; again %d %s", s[0], first.status, first.body, again.status, again.body)
		}
	}
	final, err := p.sender.Envelope(ctx, e.ID)
	if err != nil || final.Status != workflow.StatusCompleted {
		t.Fatalf("envelope %v %v", final.Status, err)
	}
	b, err := p.sender.Content(ctx, e.ID, doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := pades.Verify(bytes.NewReader(b), int64(len(b)), pades.VerifyOptions{Roots: r.roots(), Now: time.Now})
	if err != nil || !rep.Valid {
		t.Fatalf("pades.Verify: %+v, %v", rep, err)
	}
	if n := signatureWidgets(t, b); n != 4 {
		t.Errorf("%d widgets of signature fields, want 4 (Alice's signature and date, Bob's city and signature)", n)
	}
	path := filepath.Join(t.TempDir(), "final.pdf")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out := pdftest.Tool(t, "pdfsig", path); strings.Contains(out, "Signature is Invalid") || !strings.Contains(out, "Signature is Valid") {
		t.Errorf("pdfsig:\n%s", out)
	}
	out := pdftest.Tool(t, "pdftotext", path, "-")
	for _, want := range []string{marker, "Bob Fields", time.Now().UTC().Format(signing.DateFormat)} {
		if !strings.Contains(out, want) {
			t.Errorf("the signed document does not show %q:\n%s", want, out)
		}
	}
	// Nothing under the data directory (databases, idempotency records,
	// audit log, sealed contents) holds the value, nor do the logs.
	r.stop()
	if n := secretscan.Check(t, dir, marker); n < 5 {
		t.Fatalf("read only %d files", n)
	}
	if strings.Contains(r.logs.String(), marker) {
		t.Error("a filled value reached the logs")
	}
}

// isStatus reports whether err is an API problem with status.
func isStatus(err error, status int) bool {
	var p *apiclient.Problem
	return errors.As(err, &p) && p.Status == status
}
