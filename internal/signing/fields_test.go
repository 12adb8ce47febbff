package signing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/pdf/pdftest"
	"github.com/signet-pki/signet/internal/pdfsigtest"
	"github.com/signet-pki/signet/internal/signing"
	"github.com/signet-pki/signet/internal/workflow"
)

func intp(i int) *int { return &i }

// fieldsEnvelope sends an envelope of two one-page documents to Alice and
// Bob (both signing first, in parallel) and Carol (approving after),
// with fields for Alice and Bob.
func (e *env) fieldsEnvelope() *workflow.Envelope {
	e.t.Helper()
	ctx := context.Background()
	var ids []string
	for i := range 2 {
		var b bytes.Buffer
		if err := pdf.WriteSample(&b, pdf.SampleOptions{Pages: 1, Title: "Lease " + strings.Repeat("I", i+1)}); err != nil {
			e.t.Fatal(err)
		}
		d, err := e.wf.Upload(ctx, sender, "lease.pdf", &b)
		if err != nil {
			e.t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	box := func(doc, who int, kind workflow.FieldKind, x, y float64, required bool, label string) workflow.FieldInput {
		return workflow.FieldInput{Document: ids[doc], Recipient: intp(who), Kind: kind, Page: 1, X: x, Y: y, Width: 180, Height: 36, Required: required, Label: label}
	}
	env, err := e.wf.CreateEnvelope(ctx, sender, workflow.CreateRequest{
		Subject: "Lease", Documents: ids,
		Recipients: []workflow.RecipientInput{
			signer("Alice Doe", "alice@example.com", 1), signer("Bob Roe", "bob@example.com", 1),
			{Role: workflow.RoleApprover, Name: "Carol Poe", Email: "carol@example.com", Auth: workflow.AuthEmailOTP, Order: 2},
		},
		Fields: []workflow.FieldInput{
			box(0, 0, workflow.FieldSignature, 72, 90, true, "Tenant"),
			box(0, 0, workflow.FieldDate, 300, 90, false, ""),
			box(1, 0, workflow.FieldText, 72, 400, true, "City"),
			box(1, 0, workflow.FieldInitials, 400, 40, false, ""),
			box(0, 1, workflow.FieldSignature, 72, 200, true, "Landlord"),
			box(1, 1, workflow.FieldText, 72, 500, false, "Bob's note"),
		},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if env, err = e.wf.Send(ctx, sender, env.ID); err != nil {
		e.t.Fatal(err)
	}
	return env
}

// TestSignFields: a recipient sees only their own fields (never another
// recipient's fields, names or addresses), fills them when signing (each
// value checked against its field and the budgets, required fields
// demanded, dates filled by the server), and each signed document shows
// the recipient's filled fields of it as widgets that pades.Verify,
// pdfsig and pdftotext see; the values are kept nowhere else.
func TestSignFields(t *testing.T) {
	e := newEnv(t)
	env := e.fieldsEnvelope()
	alice := e.session("alice@example.com", e.link("alice@example.com", 1))
	var raw []byte
	if st, p := e.call("GET", "/v1/recipient/envelope", "Session", alice, nil, &raw); st != http.StatusOK {
		t.Fatalf("view: %d %+v", st, p)
	}
	var v signing.View
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	aliceID, bobID := env.Recipients[0].ID, env.Recipients[1].ID
	if len(v.Fields) != 4 {
		t.Fatalf("alice sees %d fields: %+v", len(v.Fields), v.Fields)
	}
	for _, f := range v.Fields {
		if f.RecipientID != aliceID {
			t.Errorf("alice sees a field of %s", f.RecipientID)
		}
	}
	for _, secret := range []string{bobID, "bob@example.com", "Bob Roe", "Landlord", "Bob's note", "carol@example.com", "Carol Poe", env.Fields[4].ID} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Errorf("alice's view shows %q:\n%s", secret, raw)
		}
	}
	if v.Consent.Text != workflow.DefaultConsentText || len(v.Consent.SHA256) != 64 {
		t.Fatalf("consent = %+v", v.Consent)
	}
	if len(v.Documents) != 2 || len(v.Documents[0].PageSizes) != 1 || v.Documents[0].PageSizes[0].Width != 595 {
		t.Fatalf("documents = %+v", v.Documents)
	}
	// Consent to the text shown; a wrong digest is refused.
	if st, p := e.call("POST", "/v1/recipient/consent", "Session", alice, map[string]any{"consent": true, "consent_sha256": strings.Repeat("0", 64)}, nil); st != http.StatusConflict || !strings.HasSuffix(p.Type, "/consent-text-changed") {
		t.Fatalf("consent to another text: %d %+v", st, p)
	}
	if st, p := e.call("POST", "/v1/recipient/consent", "Session", alice, map[string]any{"consent": true, "consent_sha256": v.Consent.SHA256}, nil); st != http.StatusOK {
		t.Fatalf("consent: %d %+v", st, p)
	}

	sig, date, city, initials := v.Fields[0].ID, v.Fields[1].ID, v.Fields[2].ID, v.Fields[3].ID
	stroke := [][]float64{{0.1, 0.5}, {0.5, 0.2}, {0.9, 0.8}}
	strokes := func(n, points int) [][][]float64 {
		out := make([][][]float64, n)
		for i := range out {
			out[i] = make([][]float64, points)
			for j := range out[i] {
				out[i][j] = []float64{float64(j%10) / 10, 0.5}
			}
		}
		return out
	}
	good := []map[string]any{
		{"id": sig, "strokes": [][][]float64{stroke, {{0.2, 0.9}, {0.8, 0.9}}}},
		{"id": date, "text": "1999-01-01"},
		{"id": city, "text": "MarkerCity Zürich"},
		{"id": initials, "text": "AD"},
	}
	with := func(i int, v map[string]any) []map[string]any {
		c := slices.Clone(good)
		c[i] = v
		return c
	}
	for _, tc := range []struct {
		name   string
		body   any
		status int
		typ    string
		detail string
	}{
		{"another recipient's field", append(slices.Clone(good), map[string]any{"id": env.Fields[4].ID, "text": "x"}), 422, "invalid-request", "fields[4]: " + env.Fields[4].ID + " is not one of your fields"},
		{"unknown field", with(3, map[string]any{"id": "fld_nope", "text": "AD"}), 422, "invalid-request", "fields[3]"},
		{"required text missing", good[:2], 422, "fields-incomplete", "fill the required fields: " + city + " (City)"},
		{"required signature blank", with(0, map[string]any{"id": sig, "text": "   "}), 422, "fields-incomplete", "fill the required fields: " + sig + " (Tenant)"},
		{"strokes in a text field", with(2, map[string]any{"id": city, "strokes": [][][]float64{stroke}}), 422, "invalid-request", "fields[2]: a text field takes text"},
		{"text and strokes", with(0, map[string]any{"id": sig, "text": "A", "strokes": [][][]float64{stroke}}), 422, "invalid-request", "fields[0]: give text or strokes"},
		{"point out of the box", with(0, map[string]any{"id": sig, "strokes": [][][]float64{{{0.5, 1.5}}}}), 422, "invalid-request", "fields[0].strokes[0]"},
		{"negative point", with(0, map[string]any{"id": sig, "strokes": [][][]float64{{{-0.01, 0.5}}}}), 422, "invalid-request", "fields[0].strokes[0]"},
		{"three coordinates", with(0, map[string]any{"id": sig, "strokes": [][][]float64{{{0.5, 0.5, 0.5}}}}), 422, "invalid-request", "fields[0].strokes[0]"},
		{"empty stroke", with(0, map[string]any{"id": sig, "strokes": [][][]float64{{}}}), 422, "invalid-request", "fields[0].strokes[0]"},
		{"no strokes", with(0, map[string]any{"id": sig, "strokes": [][][]float64{}}), 422, "invalid-request", "fields[0]: a drawing has 1 to 64 strokes"},
		{"too many strokes", with(0, map[string]any{"id": sig, "strokes": strokes(signing.MaxStrokes+1, 1)}), 422, "invalid-request", "fields[0]: a drawing has 1 to 64 strokes"},
		{"too many points", with(0, map[string]any{"id": sig, "strokes": strokes(2, signing.MaxStrokePoints/2+1)}), 422, "invalid-request", "fields[0]: a drawing has at most 4096 points"},
		{"long text", with(2, map[string]any{"id": city, "text": strings.Repeat("ü", signing.MaxFieldText+1)}), 422, "invalid-request", "fields[2]: text is at most 256"},
		{"text on two lines", with(2, map[string]any{"id": city, "text": "a\nb"}), 422, "invalid-request", "fields[2]: text is one line"},
		{"twice", append(slices.Clone(good), good[0]), 422, "invalid-request", "fields[4]: field " + sig + " is given twice"},
		{"unknown member", map[string]any{"fields": good, "extra": true}, 422, "unknown-field", ""},
		{"no values", nil, 422, "fields-incomplete", "fill the required fields: " + sig + " (Tenant), " + city + " (City)"},
	} {
		body := tc.body
		if fs, ok := body.([]map[string]any); ok {
			body = map[string]any{"fields": fs}
		}
		st, p := e.call("POST", "/v1/recipient/sign", "Session", alice, body, nil)
		if st != tc.status || !strings.HasSuffix(p.Type, "/"+tc.typ) || !strings.HasPrefix(p.Detail, tc.detail) {
			t.Errorf("%s: %d %+v", tc.name, st, p)
		}
	}
	cur, err := e.wf.Envelope(context.Background(), sender, env.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range cur.Documents {
		if d.SHA256 != d.OriginalSHA256 {
			t.Fatalf("document %d changed by refused requests", i)
		}
	}

	var res signing.SignResult
	if st, p := e.call("POST", "/v1/recipient/sign", "Session", alice, map[string]any{"fields": good}, &res); st != http.StatusOK || len(res.Signed) != 2 {
		t.Fatalf("sign: %d %+v %+v", st, p, res)
	}
	// Bob signs his signature field, drawn as typed text, and leaves his
	// optional note.
	bob := e.session("bob@example.com", e.link("bob@example.com", 1))
	var bv signing.View
	if st, p := e.call("GET", "/v1/recipient/envelope", "Session", bob, nil, &bv); st != http.StatusOK || len(bv.Fields) != 2 || bv.Fields[0].RecipientID != bobID {
		t.Fatalf("bob's view: %d %+v %+v", st, p, bv.Fields)
	}
	if st, p := e.call("POST", "/v1/recipient/consent", "Session", bob, map[string]bool{"consent": true}, nil); st != http.StatusOK {
		t.Fatalf("bob's consent: %d %+v", st, p)
	}
	if st, p := e.call("POST", "/v1/recipient/sign", "Session", bob, map[string]any{"fields": []map[string]any{{"id": sig, "text": "Alice"}}}, nil); st != 422 {
		t.Fatalf("bob fills alice's field: %d %+v", st, p)
	}
	if st, p := e.call("POST", "/v1/recipient/sign", "Session", bob, map[string]any{"fields": []map[string]any{{"id": bv.Fields[0].ID, "text": "Bob Roe"}}}, nil); st != http.StatusOK {
		t.Fatalf("bob's sign: %d %+v", st, p)
	}

	cur, err = e.wf.Envelope(context.Background(), sender, env.ID)
	if err != nil {
		t.Fatal(err)
	}
	today := e.clock.Now().UTC().Format(signing.DateFormat)
	for i, d := range cur.Documents {
		rd, size, err := e.blobs.Open(context.Background(), d.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, size)
		if _, err := rd.ReadAt(b, 0); err != nil {
			t.Fatal(err)
		}
		rd.Close()
		rep := e.verifyPDF(b)
		if !rep.Valid || len(rep.Signatures) < 2 {
			t.Fatalf("document %d: %+v", i, rep)
		}
		rects := pdfsigtest.WidgetRects(t, b)
		var want [][4]float64
		for _, f := range env.Fields {
			// Alice's fields, filled or dated, and Bob's signature: his
			// note stayed empty and is not shown.
			if f.DocumentID == d.DocumentID && f.Label != "Bob's note" {
				want = append(want, [4]float64{f.X, f.Y, f.X + f.W, f.Y + f.H})
			}
		}
		slices.SortFunc(rects, func(a, b [4]float64) int { return int(a[0]*1000+a[1]) - int(b[0]*1000+b[1]) })
		slices.SortFunc(want, func(a, b [4]float64) int { return int(a[0]*1000+a[1]) - int(b[0]*1000+b[1]) })
		if !slices.Equal(rects, want) {
			t.Errorf("document %d: widgets at %v, want %v", i, rects, want)
		}
		path := filepath.Join(t.TempDir(), "signed.pdf")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out := pdftest.Tool(t, "pdfsig", path)
		if strings.Count(out, "Signature Validation: Signature is Valid.") < len(want) || strings.Contains(out, "Signature is Invalid") {
			t.Errorf("pdfsig on document %d:\n%s", i, out)
		}
		text := pdftest.Tool(t, "pdftotext", path, "-")
		wantText := map[int][]string{0: {today, "Bob Roe"}, 1: {"MarkerCity", "Zürich", "AD"}}[i]
		for _, w := range wantText {
			if !strings.Contains(text, w) {
				t.Errorf("document %d does not show %q:\n%s", i, w, text)
			}
		}
		if strings.Contains(text, "1999-01-01") {
			t.Errorf("document %d shows the date the recipient sent", i)
		}
	}
	// The values are in the signed documents only: not in the service
	// database (nor its write-ahead log), nor in the audit events.
	err = filepath.WalkDir(e.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(path, string(filepath.Separator)+"blobs"+string(filepath.Separator)) {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte("MarkerCity")) {
			t.Errorf("%s holds a filled value", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.audit.mu.Lock()
	for _, ev := range e.audit.events {
		b, _ := json.Marshal(ev)
		if bytes.Contains(b, []byte("MarkerCity")) {
			t.Errorf("audit event %s holds a filled value", ev.Type)
		}
	}
	e.audit.mu.Unlock()
}
