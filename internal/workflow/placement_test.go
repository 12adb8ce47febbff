package workflow_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/workflow"
)

// eventDetails returns the type and details of every audit event from
// index from on.
func (e *env) eventDetails(from int64) []struct {
	Type    string            `json:"type"`
	Details map[string]string `json:"details"`
} {
	e.t.Helper()
	ctx := context.Background()
	n, _ := e.audit.Size(ctx)
	recs, err := e.audit.Records(ctx, from, n)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []struct {
		Type    string            `json:"type"`
		Details map[string]string `json:"details"`
	}
	for _, r := range recs {
		var leaf struct {
			Type    string            `json:"type"`
			Details map[string]string `json:"details"`
		}
		if err := json.Unmarshal(r.Leaf, &leaf); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, leaf)
	}
	return out
}

func intp(i int) *int { return &i }

// fieldsRequest is a create request of tenant t1 over docs (one-page A4
// samples) for a signer, an approver and a cc.
func fieldsRequest(docs []string, fields ...workflow.FieldInput) workflow.CreateRequest {
	return workflow.CreateRequest{
		Subject: "Fields", Documents: docs,
		Recipients: []workflow.RecipientInput{
			{Role: workflow.RoleSigner, Name: "Signer", Email: "s@example.com", Order: 1},
			{Role: workflow.RoleApprover, Name: "Approver", Email: "a@example.com", Order: 2},
			{Role: workflow.RoleCC, Name: "CC", Email: "c@example.com", Order: 3},
			{Role: workflow.RoleSigner, Name: "Second", Email: "s2@example.com", Order: 1},
		},
		Fields: fields,
	}
}

func TestCreateEnvelopeFields(t *testing.T) {
	e := newEnv(t)
	d1, d2 := e.upload("t1", "one"), e.upload("t1", "two")
	other := e.upload("t2", "other")
	ok := workflow.FieldInput{Document: d1.ID, Recipient: intp(0), Kind: workflow.FieldSignature, Page: 1, X: 72, Y: 90, Width: 180, Height: 36, Required: true, Label: "Sign here"}
	with := func(f func(*workflow.FieldInput)) workflow.FieldInput {
		c := ok
		f(&c)
		return c
	}
	many := make([]workflow.FieldInput, workflow.MaxFields+1)
	for i := range many {
		many[i] = ok
	}
	// 64 fields of one signer on one document, and one more on another
	// document and of another signer, are fine; 65 are not.
	full := slices.Clone(many[:64])
	full = append(full, with(func(f *workflow.FieldInput) { f.Document = d2.ID }), with(func(f *workflow.FieldInput) { f.Recipient = intp(3) }))
	tests := []struct {
		name   string
		fields []workflow.FieldInput
		bad    string // the detail's start; "" for success
	}{
		{"one of each kind", []workflow.FieldInput{ok,
			with(func(f *workflow.FieldInput) { f.Kind, f.Recipient, f.Document = workflow.FieldInitials, intp(3), d2.ID }),
			with(func(f *workflow.FieldInput) { f.Kind, f.Required, f.Label = workflow.FieldDate, false, "" }),
			with(func(f *workflow.FieldInput) { f.Kind, f.X, f.Y, f.Width, f.Height = workflow.FieldText, 0, 0, 595, 842 })}, ""},
		{"no fields", nil, ""},
		{"unknown document", []workflow.FieldInput{ok, with(func(f *workflow.FieldInput) { f.Document = "doc_nope" })}, "fields[1]: document"},
		{"another tenant's document", []workflow.FieldInput{with(func(f *workflow.FieldInput) { f.Document = other.ID })}, "fields[0]: document"},
		{"no recipient", []workflow.FieldInput{with(func(f *workflow.FieldInput) { f.Recipient = nil })}, "fields[0]: recipient"},
		{"recipient out of range", []workflow.FieldInput{with(func(f *workflow.FieldInput) { f.Recipient = intp(4) })}, "fields[0]: recipient"},
		{"negative recipient", []workflow.FieldInput{with(func(f *workflow.FieldInput) { f.Recipient = intp(-1) })}, "fields[0]: recipient"},
		{"approver", []workflow.FieldInput{with(func(f *workflow.FieldInput) { f.Recipient = intp(1) })}, "fields[0]: the recipient is a approver"},
		{"cc", []workflow.FieldInput{with(func(f *workflow.FieldInput) { f.Recipient = intp(2) })}, "fields[0]: the recipient is a cc"},
		{"unknown kind", []workflow.FieldInput{with(func(f *workflow.FieldInput) { f.Kind = "checkbox" })}, "fields[0]: kind"},
		{"page 0", []workflow.FieldInput{with(func(f *workflow.FieldInput) { f.Page = 0 })}, "fields[0]: page must be between 1 and 1"},
		{"page past the end", []workflow.FieldInput{with(func(f *workflow.FieldInput) { f.Page = 2 })}, "fields[0]: page must be between 1 and 1"},
		{"past the right edge", []workflow.FieldInput{with(func(f *workflow.FieldInput) { f.X = 500 })}, "fields[0]: the box must lie inside page 1 (595 × 842 points)"},
		{"past the top", []workflow.FieldInput{with(func(f *workflow.FieldInput) { f.Y, f.Height = 800, 43 })}, "fields[0]: the box must lie inside"},
		{"negative x", []workflow.FieldInput{with(func(f *workflow.FieldInput) { f.X = -1 })}, "fields[0]: the box must lie inside"},
		{"too narrow", []workflow.FieldInput{with(func(f *workflow.FieldInput) { f.Width = 3.9 })}, "fields[0]: width and height"},
		{"zero height", []workflow.FieldInput{with(func(f *workflow.FieldInput) { f.Height = 0 })}, "fields[0]: width and height"},
		{"not a number", []workflow.FieldInput{with(func(f *workflow.FieldInput) { f.X = math.NaN() })}, "fields[0]: x, y, width and height must be finite"},
		{"infinite", []workflow.FieldInput{with(func(f *workflow.FieldInput) { f.Width = math.Inf(1) })}, "fields[0]: x, y, width and height must be finite"},
		{"long label", []workflow.FieldInput{with(func(f *workflow.FieldInput) { f.Label = strings.Repeat("x", 101) })}, "fields[0].label"},
		{"label on two lines", []workflow.FieldInput{with(func(f *workflow.FieldInput) { f.Label = "a\nb" })}, "fields[0].label"},
		{"too many", many, "an envelope holds at most 200 fields"},
		{"64 a signer and document", full, ""},
		{"65 a signer and document", append(slices.Clone(full), ok), "fields[66]: a signer has at most 64 fields on one document"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.counts()
			env, err := e.svc.CreateEnvelope(context.Background(), actor("t1"), fieldsRequest([]string{d1.ID, d2.ID}, tc.fields...))
			if tc.bad != "" {
				var ae *api.Error
				if !errors.As(err, &ae) || ae.Kind != api.KindInvalid || !strings.HasPrefix(ae.Detail, tc.bad) {
					t.Fatalf("CreateEnvelope = %v; want a 422 starting %q", err, tc.bad)
				}
				if after := e.counts(); after != before {
					t.Fatalf("a refused envelope changed the stores: %+v → %+v", before, after)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(env.Fields) != len(tc.fields) {
				t.Fatalf("fields = %+v", env.Fields)
			}
			for i, f := range env.Fields {
				in := tc.fields[i]
				if !strings.HasPrefix(f.ID, "fld_") || f.DocumentID != in.Document || f.RecipientID != env.Recipients[*in.Recipient].ID ||
					f.Kind != in.Kind || f.X != in.X || f.W != in.Width || f.Label != in.Label || f.Required != in.Required {
					t.Errorf("field %d = %+v from %+v", i, f, in)
				}
			}
			stored, err := e.svc.Envelope(context.Background(), actor("t1"), env.ID)
			if err != nil {
				t.Fatal(err)
			}
			if workflow.PlacementDigest(stored.Fields) != workflow.PlacementDigest(env.Fields) || len(stored.Fields) != len(env.Fields) {
				t.Fatalf("stored fields %+v, created %+v", stored.Fields, env.Fields)
			}
			evs := e.eventDetails(before.events)
			last := evs[len(evs)-1]
			if last.Type != "envelope.created" || last.Details["fields"] != itoa(len(tc.fields)) {
				t.Fatalf("event %+v", last)
			}
			if want := workflow.PlacementDigest(env.Fields); len(tc.fields) > 0 && last.Details["fields_sha256"] != want {
				t.Fatalf("fields_sha256 = %q, want %q", last.Details["fields_sha256"], want)
			}
		})
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestPlaceFieldsAndPages(t *testing.T) {
	e := newEnv(t)
	d := e.upload("t1", "one")
	env, err := e.svc.CreateEnvelope(context.Background(), actor("t1"), fieldsRequest([]string{d.ID}))
	if err != nil {
		t.Fatal(err)
	}
	signer, second, approver := env.Recipients[0].ID, env.Recipients[3].ID, env.Recipients[1].ID

	// The pages of the document.
	resp, body := e.do("t1", http.MethodGet, "/v1/documents/"+d.ID+"/pages", "", nil)
	if resp.StatusCode != http.StatusOK || string(body) != `{"pages":[{"number":1,"width":595,"height":842,"rotate":0}]}`+"\n" {
		t.Fatalf("pages: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.do("t2", http.MethodGet, "/v1/documents/"+d.ID+"/pages", "", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another tenant's pages: %d %s", resp.StatusCode, body)
	}

	put := func(tenant string, fields ...map[string]any) (*http.Response, []byte) {
		return e.doJSON(tenant, http.MethodPut, "/v1/envelopes/"+env.ID+"/fields", map[string]any{"fields": fields})
	}
	field := func(recipient string, kind string) map[string]any {
		return map[string]any{"document_id": d.ID, "recipient_id": recipient, "kind": kind, "page": 1,
			"x": 72, "y": 90, "width": 180, "height": 36, "required": true, "label": "L"}
	}
	from := e.counts().events
	resp, body = put("t1", field(signer, "signature"), field(second, "text"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT fields: %d %s", resp.StatusCode, body)
	}
	var got struct {
		Fields    []workflow.Field `json:"fields"`
		Documents []struct {
			PageSizes []workflow.PageSize `json:"page_sizes"`
		} `json:"documents"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Fields) != 2 || got.Fields[0].RecipientID != signer || got.Fields[1].Kind != workflow.FieldText ||
		!strings.HasPrefix(got.Fields[0].ID, "fld_") || got.Fields[0].Label != "L" {
		t.Fatalf("fields = %+v", got.Fields)
	}
	if len(got.Documents) != 1 || len(got.Documents[0].PageSizes) != 1 || got.Documents[0].PageSizes[0].Height != 842 {
		t.Fatalf("documents = %s", body)
	}
	evs := e.eventDetails(from)
	if len(evs) != 1 || evs[0].Details["event"] != "envelope.fields_placed" || evs[0].Details["fields"] != "2" ||
		evs[0].Details["fields_sha256"] != workflow.PlacementDigest(got.Fields) {
		t.Fatalf("events %+v", evs)
	}

	// Refusals name the field; nothing changes.
	for _, tc := range []struct {
		name   string
		fields []map[string]any
		status int
		detail string
	}{
		{"approver", []map[string]any{field(signer, "date"), field(approver, "signature")}, 422, "fields[1]: the recipient is a approver"},
		{"unknown recipient", []map[string]any{field("rcp_nope", "signature")}, 422, "fields[0]: recipient"},
		{"box outside", []map[string]any{func() map[string]any { f := field(signer, "text"); f["y"] = 830; return f }()}, 422, "fields[0]: the box"},
		{"unknown member", []map[string]any{func() map[string]any { f := field(signer, "text"); f["colour"] = "red"; return f }()}, 422, "unknown field"},
	} {
		resp, body := put("t1", tc.fields...)
		var p struct {
			Detail string `json:"detail"`
		}
		json.Unmarshal(body, &p)
		if resp.StatusCode != tc.status || !strings.HasPrefix(p.Detail, tc.detail) {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, body)
		}
	}
	if resp, body := put("t2", field(signer, "signature")); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another tenant's PUT: %d %s", resp.StatusCode, body)
	}
	cur, err := e.svc.Envelope(context.Background(), actor("t1"), env.ID)
	if err != nil || workflow.PlacementDigest(cur.Fields) != workflow.PlacementDigest(got.Fields) {
		t.Fatalf("fields after refusals: %+v, %v", cur.Fields, err)
	}

	// Removing them all, then sending: a sent envelope's fields stay.
	if resp, body := put("t1"); resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"fields":[]`) {
		t.Fatalf("PUT no fields: %d %s", resp.StatusCode, body)
	}
	if resp, body := put("t1", field(signer, "initials")); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT: %d %s", resp.StatusCode, body)
	}
	if _, err := e.svc.Send(context.Background(), actor("t1"), env.ID); err != nil {
		t.Fatal(err)
	}
	resp, body = put("t1", field(signer, "signature"))
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "invalid-transition") {
		t.Fatalf("PUT on a sent envelope: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do("t1", http.MethodGet, "/v1/envelopes/"+env.ID, "", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"kind":"initials"`) || !strings.Contains(string(body), `"page_sizes":[{"number":1`) {
		t.Fatalf("GET envelope: %d %s", resp.StatusCode, body)
	}
	evs = e.eventDetails(from)
	if last := evs[len(evs)-1]; last.Type != "envelope.sent" || last.Details["fields"] != "1" || last.Details["fields_sha256"] == "" {
		t.Fatalf("envelope.sent %+v", last)
	}
}

func TestSettingsAndConsentText(t *testing.T) {
	t.Run("plain", func(t *testing.T) { testSettingsAndConsentText(t, newEnv(t)) })
	// With keys, the stores are wrapped by the sealing ones; the
	// settings are still the driver's.
	t.Run("sealed", func(t *testing.T) {
		e, _ := newSealedEnv(t, nil)
		testSettingsAndConsentText(t, e)
	})
}

func testSettingsAndConsentText(t *testing.T, e *env) {
	ctx := context.Background()
	get := func(tenant string) workflow.SettingsView {
		resp, body := e.do(tenant, http.MethodGet, "/v1/settings", "", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET settings: %d %s", resp.StatusCode, body)
		}
		var v workflow.SettingsView
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	def := get("t1")
	if !def.ConsentDefault || def.ConsentText != workflow.DefaultConsentText || len(def.ConsentSHA256) != 64 {
		t.Fatalf("default settings = %+v", def)
	}
	for _, want := range []string{"ESIGN", "eIDAS", "paper copy", "withdraw"} {
		if !strings.Contains(def.ConsentText, want) {
			t.Errorf("the default consent text does not mention %q", want)
		}
	}
	d := e.upload("t1", "one")
	env := e.draft("t1", []string{d.ID}, "signer:1")
	if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
		t.Fatal(err)
	}
	r := recipientActor(env.Recipients[0].ID)

	text := "Wir unterschreiben elektronisch. «Einverstanden?»"
	from := e.counts().events
	resp, body := e.doJSON("t1", http.MethodPut, "/v1/settings", map[string]string{"consent_text": text})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT settings: %d %s", resp.StatusCode, body)
	}
	cur := get("t1")
	if cur.ConsentText != text || cur.ConsentDefault || cur.ConsentSHA256 == def.ConsentSHA256 {
		t.Fatalf("settings after PUT = %+v", cur)
	}
	if other := get("t2"); !other.ConsentDefault {
		t.Fatalf("another tenant's settings changed: %+v", other)
	}
	evs := e.eventDetails(from)
	if len(evs) != 1 || evs[0].Type != "admin.policy_changed" || evs[0].Details["consent_sha256"] != cur.ConsentSHA256 {
		t.Fatalf("events %+v", evs)
	}

	for _, tc := range []struct {
		name, text string
	}{{"too long", strings.Repeat("x", workflow.MaxConsentText+1)}, {"bidi", "a\u202eb"}, {"NUL", "a\x00b"}} {
		resp, body := e.doJSON("t1", http.MethodPut, "/v1/settings", map[string]string{"consent_text": tc.text})
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%s: %d %s", tc.name, resp.StatusCode, body)
		}
	}
	if get("t1").ConsentText != text {
		t.Fatal("a refused PUT changed the text")
	}

	// A recipient who read the former text must read the new one.
	_, err := e.svc.ConsentRecordedText(ctx, r, env.ID, def.ConsentSHA256)
	if !errors.Is(err, workflow.ErrConsentTextChanged) {
		t.Fatalf("consent to the former text: %v", err)
	}
	if _, err := e.svc.ConsentRecordedText(ctx, r, env.ID, "ABC"); !errors.Is(err, workflow.ErrInvalid) {
		t.Fatalf("consent to a malformed digest: %v", err)
	}
	ct, err := e.svc.ConsentText(ctx, "t1")
	if err != nil || ct.Text != text || ct.SHA256 != cur.ConsentSHA256 {
		t.Fatalf("ConsentText = %+v, %v", ct, err)
	}
	from = e.counts().events
	got, err := e.svc.ConsentRecordedText(ctx, r, env.ID, cur.ConsentSHA256)
	if err != nil || got.Recipients[0].ConsentedAt.IsZero() {
		t.Fatalf("consent: %+v, %v", got, err)
	}
	evs = e.eventDetails(from)
	if last := evs[len(evs)-1]; last.Details["event"] != "recipient.consented" && last.Type != "recipient.consented" ||
		last.Details["consent_sha256"] != cur.ConsentSHA256 || last.Details["consent_confirmed"] != "true" {
		t.Fatalf("consent event %+v", evs)
	}

	// An empty text restores the default.
	if resp, body := e.doJSON("t1", http.MethodPut, "/v1/settings", map[string]string{"consent_text": "  "}); resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT empty: %d %s", resp.StatusCode, body)
	}
	if v := get("t1"); !v.ConsentDefault || v.ConsentSHA256 != def.ConsentSHA256 {
		t.Fatalf("settings after reset = %+v", v)
	}
}

func TestRemind(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := e.upload("t1", "one")
	env := e.draft("t1", []string{d.ID}, "signer:1", "signer:1", "signer:2", "cc:3")
	remind := func(tenant string) (*http.Response, []byte) {
		return e.do(tenant, http.MethodPost, "/v1/envelopes/"+env.ID+"/remind", "", nil)
	}
	if resp, body := remind("t1"); resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "invalid-transition") {
		t.Fatalf("remind a draft: %d %s", resp.StatusCode, body)
	}
	if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
		t.Fatal(err)
	}
	e.outbox.take()
	// Just notified: too soon.
	if resp, body := remind("t1"); resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "reminded-recently") {
		t.Fatalf("remind at once: %d %s", resp.StatusCode, body)
	}
	if resp, body := remind("t2"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another tenant's remind: %d %s", resp.StatusCode, body)
	}
	e.clock.Advance(workflow.MinReminderInterval)
	from := e.counts().events
	resp, body := remind("t1")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("remind: %d %s", resp.StatusCode, body)
	}
	sent := e.outbox.take()
	if len(sent) != 2 || sent[0].Kind != workflow.NotifyReminder || sent[1].Kind != workflow.NotifyReminder ||
		sent[0].Recipient.ID != env.Recipients[0].ID || sent[1].Recipient.ID != env.Recipients[1].ID {
		t.Fatalf("reminders sent: %+v", sent)
	}
	evs := e.eventDetails(from)
	if len(evs) != 1 || evs[0].Details["event"] != "envelope.reminded" || evs[0].Details["reminded"] != "2" ||
		evs[0].Details["recipient_ids"] != env.Recipients[0].ID+","+env.Recipients[1].ID {
		t.Fatalf("events %+v", evs)
	}
	cur, err := e.svc.Envelope(ctx, actor("t1"), env.ID)
	if err != nil || cur.Recipients[0].RemindedAt.IsZero() || !cur.Recipients[2].RemindedAt.IsZero() {
		t.Fatalf("reminders recorded: %+v, %v", cur, err)
	}
	// The one who signs next is reminded once the first group is done;
	// one who was never notified gets their turn notification.
	e.sign(env.ID, env.Recipients[0].ID)
	e.outbox.failing.Store(true)
	e.sign(env.ID, env.Recipients[1].ID)
	e.outbox.failing.Store(false)
	e.outbox.take()
	resp, body = remind("t1")
	if sent := e.outbox.take(); resp.StatusCode != http.StatusOK || len(sent) != 1 || sent[0].Kind != workflow.NotifyTurn ||
		sent[0].Recipient.ID != env.Recipients[2].ID {
		t.Fatalf("remind the next one: %d %s %+v", resp.StatusCode, body, sent)
	}
	e.clock.Advance(time.Minute)
	if _, err := e.svc.Void(ctx, actor("t1"), env.ID, "stop"); err != nil {
		t.Fatal(err)
	}
	if resp, body := remind("t1"); resp.StatusCode != http.StatusConflict {
		t.Fatalf("remind a voided envelope: %d %s", resp.StatusCode, body)
	}
}
