package workflow_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/api"
)

type page struct {
	Envelopes []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"envelopes"`
	NextCursor string `json:"next_cursor"`
}

func TestListPagination(t *testing.T) {
	e := newEnv(t)
	d1 := e.upload("t1", "one")
	d2 := e.upload("t2", "two")
	var created []string
	for i := range 25 {
		env := e.draft("t1", []string{d1.ID}, "signer:1")
		created = append(created, env.ID)
		if i%5 == 0 {
			e.svc.Send(t.Context(), actor("t1"), env.ID)
		}
		e.clock.Advance(time.Second)
	}
	for range 3 {
		e.draft("t2", []string{d2.ID}, "signer:1")
	}
	list := func(tenant, query string) page {
		t.Helper()
		resp, body := e.do(tenant, "GET", "/v1/envelopes?"+query, "", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("list %s: %d %s", query, resp.StatusCode, body)
		}
		var p page
		json.Unmarshal(body, &p)
		return p
	}
	var seen []string
	cursor := ""
	pages := 0
	for {
		p := list("t1", "limit=10&cursor="+url.QueryEscape(cursor))
		pages++
		for _, env := range p.Envelopes {
			seen = append(seen, env.ID)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
	}
	if pages != 3 || len(seen) != 25 {
		t.Fatalf("%d pages, %d envelopes; want 3 and 25", pages, len(seen))
	}
	for i, id := range seen { // newest first, each once
		if id != created[len(created)-1-i] {
			t.Fatalf("position %d: %s, want %s", i, id, created[len(created)-1-i])
		}
	}
	sent := list("t1", "status=sent&limit=100")
	if len(sent.Envelopes) != 5 || sent.NextCursor != "" {
		t.Fatalf("status=sent: %d envelopes", len(sent.Envelopes))
	}
	for _, env := range sent.Envelopes {
		if env.Status != "sent" {
			t.Fatalf("filter leaked a %s envelope", env.Status)
		}
	}
	if p := list("t2", ""); len(p.Envelopes) != 3 {
		t.Fatalf("tenant t2 sees %d envelopes, want its 3", len(p.Envelopes))
	}
	if p := list("t3", ""); len(p.Envelopes) != 0 {
		t.Fatalf("tenant t3 sees %d envelopes", len(p.Envelopes))
	}
	// Another tenant's envelope is not found.
	if resp, _ := e.do("t2", "GET", "/v1/envelopes/"+created[0], "", nil); resp.StatusCode != 404 {
		t.Fatalf("t2 reads t1's envelope: %d", resp.StatusCode)
	}
	if resp, _ := e.doJSON("t2", "POST", "/v1/envelopes/"+created[0]+"/void", map[string]string{"reason": "x"}); resp.StatusCode != 404 {
		t.Fatalf("t2 voids t1's envelope: %d", resp.StatusCode)
	}
	for _, q := range []string{"status=bogus", "limit=0", "limit=1000", "limit=x", "cursor=%21%21", "cursor=djE6eDp5"} {
		resp, body := e.do("t1", "GET", "/v1/envelopes?"+q, "", nil)
		if resp.StatusCode != 422 {
			t.Fatalf("list ?%s: %d %s", q, resp.StatusCode, body)
		}
		problem(t, resp, body)
	}
}

func TestCreateEnvelopeBadInput(t *testing.T) {
	e := newEnv(t)
	d := e.upload("t1", "one")
	signer := map[string]any{"role": "signer", "name": "A", "email": "a@example.com", "routing_order": 1}
	with := func(k string, v any) map[string]any {
		m := map[string]any{"subject": "Sign", "documents": []string{d.ID}, "recipients": []any{signer}}
		m[k] = v
		return m
	}
	recipient := func(k string, v any) map[string]any {
		r := map[string]any{}
		for k2, v2 := range signer {
			r[k2] = v2
		}
		r[k] = v
		return with("recipients", []any{r})
	}
	raw := func(s string) []byte { return []byte(s) }
	body := func(v any) []byte { b, _ := json.Marshal(v); return b }
	tests := []struct {
		name        string
		contentType string
		body        []byte
		status      int
		problemType string
	}{
		{"malformed JSON", "application/json", raw(`{"subject": `), 400, "malformed-json"},
		{"trailing data", "application/json", raw(`{"subject":"x"} {}`), 400, "malformed-json"},
		{"unknown field", "application/json", body(with("tenant", "t2")), 422, "unknown-field"},
		{"unknown recipient field", "application/json", body(recipient("fax", "123")), 422, "unknown-field"},
		{"wrong type", "application/json", body(with("documents", "doc")), 422, "invalid-json"},
		{"wrong content type", "text/plain", body(with("message", "")), 415, "unsupported-media-type"},
		{"no subject", "application/json", body(with("subject", " ")), 422, "invalid-request"},
		{"no documents", "application/json", body(with("documents", []string{})), 422, "invalid-request"},
		{"unknown document", "application/json", body(with("documents", []string{"doc_nope"})), 422, "invalid-request"},
		{"duplicate document", "application/json", body(with("documents", []string{d.ID, d.ID})), 422, "invalid-request"},
		{"no recipients", "application/json", body(with("recipients", []any{})), 422, "invalid-request"},
		{"bad role", "application/json", body(recipient("role", "boss")), 422, "invalid-request"},
		{"only cc", "application/json", body(recipient("role", "cc")), 422, "invalid-request"},
		{"bad email", "application/json", body(recipient("email", "A <a@example.com>")), 422, "invalid-request"},
		{"no name", "application/json", body(recipient("name", "")), 422, "invalid-request"},
		{"name with a line break", "application/json", body(recipient("name", "A\r\nBcc: x@example.com")), 422, "invalid-request"},
		{"name with a right-to-left override", "application/json", body(recipient("name", "A\u202eB")), 422, "invalid-request"},
		{"subject with a line break", "application/json", body(with("subject", "Sign\nhere")), 422, "invalid-request"},
		{"message with an isolate", "application/json", body(with("message", "see \u2067file\u2069")), 422, "invalid-request"},
		{"routing order 0", "application/json", body(recipient("routing_order", 0)), 422, "invalid-request"},
		{"unknown auth", "application/json", body(recipient("auth", "sms")), 422, "invalid-request"},
		{"duplicate email", "application/json", body(with("recipients", []any{signer, signer})), 422, "invalid-request"},
		{"expiry in the past", "application/json", body(with("expires_at", e.clock.Now().Add(-time.Hour))), 422, "invalid-request"},
		{"expiry too far", "application/json", body(with("expires_at", e.clock.Now().AddDate(2, 0, 0))), 422, "invalid-request"},
		{"negative reminders", "application/json", body(with("reminder_every_hours", -1)), 422, "invalid-request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.counts()
			resp, b := e.do("t1", "POST", "/v1/envelopes", tt.contentType, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if p := problem(t, resp, b); p.Type != api.ProblemBase+tt.problemType {
				t.Fatalf("type %s, want %s", p.Type, tt.problemType)
			}
			if after := e.counts(); after != before {
				t.Fatalf("stored something: %+v → %+v", before, after)
			}
		})
	}
	// Void needs a reason, and a strict body.
	env := e.draft("t1", []string{d.ID}, "signer:1")
	e.svc.Send(t.Context(), actor("t1"), env.ID)
	for _, b := range [][]byte{raw(`{}`), raw(`{"reason":""}`), raw(`{"reason":"x","force":true}`), raw(`not json`)} {
		resp, out := e.do("t1", "POST", "/v1/envelopes/"+env.ID+"/void", "application/json", b)
		if resp.StatusCode/100 != 4 {
			t.Fatalf("void %s: %d", b, resp.StatusCode)
		}
		problem(t, resp, out)
	}
	if e.get(env.ID).Status != "sent" {
		t.Fatal("a refused void changed the envelope")
	}
	// A good draft goes through the API and is shown with its hours.
	resp, b := e.doJSON("t1", "POST", "/v1/envelopes", with("reminder_every_hours", 48))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, b)
	}
	var got struct {
		Status             string `json:"status"`
		ReminderEveryHours int    `json:"reminder_every_hours"`
		Recipients         []struct {
			Auth   string `json:"auth"`
			Status string `json:"status"`
		} `json:"recipients"`
	}
	json.Unmarshal(b, &got)
	if got.Status != "draft" || got.ReminderEveryHours != 48 || got.Recipients[0].Auth != "email_code" || got.Recipients[0].Status != "waiting" {
		t.Fatalf("created %s", b)
	}
}
