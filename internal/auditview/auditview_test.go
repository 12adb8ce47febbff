package auditview_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/auditview"
	"github.com/signet-pki/signet/internal/workflow"
)

// anchorer anchors each checkpoint with a sink anchor while on is set.
type anchorer struct{ on bool }

func (a *anchorer) Anchor(ctx context.Context, cp, prev auditlog.Checkpoint, proof tlog.TreeProof) ([]auditlog.Anchor, error) {
	if !a.on {
		return nil, nil
	}
	return []auditlog.Anchor{{Size: cp.Size, Kind: "sink", Name: "test", Data: []byte(fmt.Sprintf("file:/sink/%d", cp.Size)), Time: time.Now()}}, nil
}

// envelopes is the fixture's envelopes: the tenant of each envelope id.
var envelopes = envelopeTenants{"env-a": "t1", "env-b": "t1", "env-c": "t2"}

// envelopeTenants finds an envelope of the acting tenant as the workflow
// service does.
type envelopeTenants map[string]string

func (m envelopeTenants) Envelope(ctx context.Context, a workflow.Actor, id string) (*workflow.Envelope, error) {
	if t, ok := m[id]; !ok || t != a.Tenant {
		return nil, workflow.ErrNotFound
	}
	return &workflow.Envelope{ID: id, Tenant: a.Tenant}, nil
}

// fixture is a log in memory with its publisher and a handler over it.
type fixture struct {
	t      *testing.T
	log    *auditlog.Log
	pub    *auditlog.Publisher
	anchor *anchorer
	store  *auditlog.MemStore
	mux    *http.ServeMux
	svc    *auditview.Service
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	master := make([]byte, 32)
	rand.Read(master)
	keys, err := auditlog.NewDerivedKeys(master)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, store: auditlog.NewMemStore(), anchor: &anchorer{}, mux: http.NewServeMux()}
	if f.log, err = auditlog.New(ctx, auditlog.Config{Storage: f.store, Keys: keys}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.log.Shutdown(context.Background()) })
	skey, _, err := note.GenerateKey(rand.Reader, "test.local/audit")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	if f.pub, err = auditlog.NewPublisher(f.store, auditlog.PublisherConfig{Origin: "test.local/audit", Signer: signer, Anchorers: []auditlog.Anchorer{f.anchor}}); err != nil {
		t.Fatal(err)
	}
	if f.svc, err = auditview.New(auditview.Config{Store: f.store, SettledSize: f.pub.SettledSize, Envelopes: envelopes}); err != nil {
		t.Fatal(err)
	}
	(&auditview.Handler{Service: f.svc}).Register(f.mux)
	return f
}

// record appends an event of tenant about envelope, with sensitive values.
func (f *fixture) record(tenant, envelope string, i int) {
	f.t.Helper()
	err := f.log.Record(context.Background(), auditlog.Event{
		Type: auditlog.RecipientViewed, Tenant: tenant, Outcome: auditlog.OutcomeSuccess,
		Actor:   auditlog.Actor{Kind: auditlog.ActorRecipient, ID: fmt.Sprintf("rcp-%d", i), Email: "secret-" + tenant + "@example.com", Name: "Secret Name"},
		Subject: auditlog.Subject{EnvelopeID: envelope, RecipientEmail: "secret-" + tenant + "@example.com"},
		Request: auditlog.Request{IP: "203.0.113.77", UserAgent: "test"},
		Details: map[string]string{"n": fmt.Sprint(i)}, Sensitive: map[string]string{"phone": "+15550100"},
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

// get sends GET path as a user of tenant; it returns the status and body.
func (f *fixture) get(tenant, path string) (int, string) {
	f.t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req = req.WithContext(api.WithPrincipal(req.Context(), api.Principal{Kind: api.PrincipalUser, ID: "u1", Tenant: tenant, Platform: tenant == ""}))
	w := httptest.NewRecorder()
	f.mux.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

func (f *fixture) page(tenant, path string) auditview.Page {
	f.t.Helper()
	code, body := f.get(tenant, path)
	var p auditview.Page
	if code != http.StatusOK || json.Unmarshal([]byte(body), &p) != nil {
		f.t.Fatalf("GET %s: %d %s", path, code, body)
	}
	return p
}

// TestEvents: a tenant sees its own events only, in pages, without the
// sensitive values, filtered by envelope; anchored follows the anchored
// checkpoints exactly; bad queries and the platform administrator are
// refused.
func TestEvents(t *testing.T) {
	f := newFixture(t)
	for i := range 12 {
		f.record([]string{"t1", "t2", "t1"}[i%3], []string{"env-a", "env-b"}[i%2], i)
	}
	var ones []int64
	for _, l := range f.pageAll("t1", 5, "") {
		ones = append(ones, l.Index)
		if l.Anchored {
			t.Errorf("event %d anchored before any checkpoint", l.Index)
		}
		if got := strings.Join(l.Sealed, ","); got != "actor.email,actor.name,subject.recipient_email,request.ip,sensitive.phone" {
			t.Errorf("event %d sealed fields %q", l.Index, got)
		}
		if l.Actor.Kind != "recipient" || l.Request == nil || l.Request.UserAgent != "test" || l.Details["n"] == "" {
			t.Errorf("event %d: %+v", l.Index, l)
		}
	}
	if want := []int64{0, 2, 3, 5, 6, 8, 9, 11}; fmt.Sprint(ones) != fmt.Sprint(want) {
		t.Fatalf("t1's events %v, want %v", ones, want)
	}
	_, body := f.get("t1", "/v1/audit/events?limit=200")
	for _, secret := range []string{"secret-", "Secret Name", "203.0.113.77", "+15550100", "hmac-sha256", `"t2"`} {
		if strings.Contains(body, secret) {
			t.Errorf("the listing shows %q: %s", secret, body)
		}
	}
	// The envelope filter, paged.
	var envA []int64
	for _, e := range f.pageAll("t1", 2, "env-a") {
		envA = append(envA, e.Index)
	}
	if want := []int64{0, 2, 6, 8}; fmt.Sprint(envA) != fmt.Sprint(want) {
		t.Errorf("t1's events of env-a %v, want %v", envA, want)
	}
	// A checkpoint without anchors anchors nothing; the next one, anchored,
	// anchors what it covers and only that.
	if _, err := f.pub.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	if p := f.page("t1", "/v1/audit/events"); p.Events[0].Anchored {
		t.Error("anchored by a checkpoint without anchors")
	}
	f.anchor.on = true
	f.record("t1", "env-a", 12)
	if _, err := f.pub.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.anchor.on = false
	f.record("t1", "env-a", 13)
	for _, e := range f.pageAll("t1", 200, "") {
		if e.Anchored != (e.Index <= 12) {
			t.Errorf("event %d anchored %v", e.Index, e.Anchored)
		}
	}
	pos, err := f.svc.Positions(context.Background(), "t1", "env-a")
	if err != nil || len(pos) != 6 {
		t.Fatalf("Positions = %v, %v", pos, err)
	}
	for _, e := range f.pageAll("t1", 200, "env-a") {
		if p, ok := pos[e.ID]; !ok || p.Index != e.Index || p.Anchored != e.Anchored {
			t.Errorf("position of %s = %+v, want index %d anchored %v", e.ID, p, e.Index, e.Anchored)
		}
	}
	for _, q := range []string{"limit=0", "limit=201", "after=-1", "after=1x", "envelope=" + strings.Repeat("e", 129)} {
		if code, _ := f.get("t1", "/v1/audit/events?"+q); code != http.StatusUnprocessableEntity {
			t.Errorf("?%s: %d, want 422", q, code)
		}
	}
	if code, _ := f.get("", "/v1/audit/events"); code != http.StatusForbidden {
		t.Errorf("platform administrator: %d, want 403", code)
	}
}

// TestEnvelopeEvents: GET /v1/envelopes/{id}/events gives the events of
// one of the tenant's envelopes, paged, as the log listing shows them; an
// envelope of another tenant, or none, is not found; without an envelope
// reader the route fails closed.
func TestEnvelopeEvents(t *testing.T) {
	f := newFixture(t)
	for i := range 9 {
		f.record([]string{"t1", "t1", "t2"}[i%3], []string{"env-a", "env-b", "env-c"}[i%3], i)
	}
	f.anchor.on = true
	if _, err := f.pub.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	f.record("t1", "env-a", 9)
	want := f.pageAll("t1", 200, "env-a")
	var got []auditview.Event
	after := ""
	for range 10 {
		p := f.page("t1", "/v1/envelopes/env-a/events?limit=2&envelope=env-b"+after)
		if len(p.Events) > 2 {
			t.Fatalf("a page of %d events, limit 2", len(p.Events))
		}
		got = append(got, p.Events...)
		if p.Next == nil {
			break
		}
		after = fmt.Sprintf("&after=%d", *p.Next)
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(want)
	if len(want) != 4 || string(gotJSON) != string(wantJSON) {
		t.Fatalf("the envelope's events %s, want %s (4)", gotJSON, wantJSON)
	}
	for _, e := range got {
		if e.Anchored != (e.Index < 9) {
			t.Errorf("event %d anchored %v", e.Index, e.Anchored)
		}
	}
	_, body := f.get("t1", "/v1/envelopes/env-a/events")
	for _, secret := range []string{"secret-", "Secret Name", "203.0.113.77", "+15550100"} {
		if strings.Contains(body, secret) {
			t.Errorf("the envelope's events show %q: %s", secret, body)
		}
	}
	for _, c := range []struct {
		tenant, path string
		code         int
	}{
		{"t1", "/v1/envelopes/env-c/events", http.StatusNotFound},
		{"t2", "/v1/envelopes/env-a/events", http.StatusNotFound},
		{"t1", "/v1/envelopes/env-x/events", http.StatusNotFound},
		{"t2", "/v1/envelopes/env-c/events", http.StatusOK},
		{"t1", "/v1/envelopes/env-a/events?limit=0", http.StatusUnprocessableEntity},
		{"t1", "/v1/envelopes/env-a/events?limit=201", http.StatusUnprocessableEntity},
		{"t1", "/v1/envelopes/env-a/events?after=x", http.StatusUnprocessableEntity},
		{"", "/v1/envelopes/env-a/events", http.StatusForbidden},
	} {
		if code, body := f.get(c.tenant, c.path); code != c.code {
			t.Errorf("GET %s as %q: %d %s, want %d", c.path, c.tenant, code, body, c.code)
		}
	}

	// Without an envelope reader the route refuses to answer.
	svc, err := auditview.New(auditview.Config{Store: f.store})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	(&auditview.Handler{Service: svc}).Register(mux)
	req := httptest.NewRequest("GET", "/v1/envelopes/env-a/events", nil)
	req = req.WithContext(api.WithPrincipal(req.Context(), api.Principal{Kind: api.PrincipalUser, ID: "u1", Tenant: "t1"}))
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, req)
	if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "recipient.viewed") {
		t.Errorf("without an envelope reader: %d %s", w.Code, w.Body.String())
	}
}

func (f *fixture) pageAll(tenant string, limit int, envelope string) []auditview.Event {
	f.t.Helper()
	var out []auditview.Event
	after := ""
	for range 100 {
		p := f.page(tenant, fmt.Sprintf("/v1/audit/events?limit=%d&envelope=%s%s", limit, envelope, after))
		out = append(out, p.Events...)
		if p.Next == nil {
			return out
		}
		after = fmt.Sprintf("&after=%d", *p.Next)
	}
	f.t.Fatal("the pages do not end")
	return nil
}

// TestCheckpoint: 404 before the first checkpoint, then the latest one
// with its anchors and the settled size.
func TestCheckpoint(t *testing.T) {
	f := newFixture(t)
	if code, body := f.get("t1", "/v1/audit/checkpoint"); code != http.StatusNotFound || !strings.Contains(body, "no-checkpoint") {
		t.Fatalf("before any checkpoint: %d %s", code, body)
	}
	f.record("t1", "env-a", 0)
	f.record("t2", "env-b", 1)
	f.anchor.on = true
	if _, err := f.pub.Publish(context.Background()); err != nil {
		t.Fatal(err)
	}
	code, body := f.get("t1", "/v1/audit/checkpoint")
	var v auditview.CheckpointView
	if code != http.StatusOK || json.Unmarshal([]byte(body), &v) != nil {
		t.Fatalf("%d %s", code, body)
	}
	head, err := auditlog.ParseCheckpointUnverified([]byte(v.Checkpoint))
	if err != nil || head.Size != 2 || v.Size != 2 || v.SettledSize != 2 || len(v.Anchors) != 1 ||
		v.Anchors[0].Locator != "file:/sink/2" || v.Anchors[0].Kind != "sink" || !strings.HasPrefix(v.Checkpoint, "test.local/audit\n2\n"+v.RootHash+"\n") {
		t.Errorf("checkpoint %+v (%v)", v, err)
	}
}
