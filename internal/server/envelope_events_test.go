package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/auditview"
	"github.com/signet-pki/signet/internal/authz"
)

// envelopeEvents pages through GET /v1/envelopes/{id}/events as u,
// limit at a time.
func (u adminUser) envelopeEvents(t *testing.T, id string, limit int) []auditview.Event {
	t.Helper()
	return u.eventPages(t, fmt.Sprintf("/v1/envelopes/%s/events?limit=%d", id, limit), limit)
}

// TestEnvelopeEventsForTheSender: the sender (an API key and a console
// user with the sender role, neither of which may read the audit log)
// lists their envelope's audit events in index order, the same entries
// as the auditor's envelope filter, each recipient's authentication and
// signature among them, without the sensitive values; another tenant's
// sender gets a 404 problem; the events are anchored once a checkpoint is
// published.
func TestEnvelopeEventsForTheSender(t *testing.T) {
	ctx := context.Background()
	r := start(t, filepath.Join(t.TempDir(), "data"), nil)
	a, b := r.party(ctx, "Acme"), r.party(ctx, "Bolt")
	signers := [][2]string{{"Ann", "ann.secret@example.com"}, {"Abe", "abe.secret@example.com"}}
	env, _ := a.envelope(t, ctx, "Lease", signers, true)
	r.signAll(ctx, signers)

	key := adminUser{r: r, bearer: strings.TrimPrefix(a.sender.Authorization, "Bearer "), label: "sender key"}
	user := r.user(t, a.tenant.ID, authz.RoleSender, false)
	if status, _ := user.call(t, "GET", "/v1/audit/events?envelope="+env.ID, nil, nil); status != http.StatusForbidden {
		t.Fatalf("a sender reads the audit log: %d", status)
	}
	events := key.envelopeEvents(t, env.ID, auditview.MaxLimit)
	auditor := r.user(t, a.tenant.ID, authz.RoleAuditor, false)
	want := auditor.allEvents(t, auditview.MaxLimit, env.ID)
	if len(events) != len(want) {
		t.Fatalf("%d events of the envelope for its sender, the auditor sees %d", len(events), len(want))
	}
	for i, e := range events {
		if e.ID != want[i].ID || e.Index != want[i].Index || e.Type != want[i].Type || e.Subject.EnvelopeID != env.ID {
			t.Errorf("event %d: %s %d %s, want %s %d %s", i, e.ID, e.Index, e.Type, want[i].ID, want[i].Index, want[i].Type)
		}
	}
	count := map[string]int{}
	for _, e := range events {
		count[e.Type]++
	}
	for typ, n := range map[string]int{"envelope.created": 1, "envelope.sent": 1, "recipient.authenticated": 2, "signature.created": 2, "envelope.completed": 1} {
		if count[typ] < n {
			t.Errorf("%d %s events, want %d: %v", count[typ], typ, n, count)
		}
	}
	var raw json.RawMessage
	user.must(t, http.StatusOK, "GET", "/v1/envelopes/"+env.ID+"/events", nil, &raw)
	for _, leak := range []string{"ann.secret@example.com", "abe.secret@example.com", "Ann", "Abe"} {
		if strings.Contains(string(raw), leak) {
			t.Errorf("the envelope's events show %q", leak)
		}
	}

	// Another tenant's sender, and an unknown envelope: 404 problems.
	other := adminUser{r: r, bearer: strings.TrimPrefix(b.sender.Authorization, "Bearer "), label: "other sender"}
	for _, c := range []struct {
		u    adminUser
		path string
	}{{other, "/v1/envelopes/" + env.ID + "/events"}, {key, "/v1/envelopes/env_nonexistent/events"}} {
		if status, p := c.u.call(t, "GET", c.path, nil, nil); status != http.StatusNotFound || p.Status != http.StatusNotFound {
			t.Errorf("GET %s as %s: %d %+v, want a 404 problem", c.path, c.u.label, status, p)
		}
	}

	// Anchoring: after a checkpoint, every event is anchored.
	if err := r.srv.PublishCheckpoint(ctx); err != nil {
		t.Fatal(err)
	}
	paged := user.envelopeEvents(t, env.ID, 3)
	if len(paged) != len(events) {
		t.Fatalf("pages of 3 gave %d events, want %d", len(paged), len(events))
	}
	for i, e := range paged {
		if e.ID != events[i].ID {
			t.Errorf("pages of 3: event %d is %s, want %s", i, e.ID, events[i].ID)
		}
		if !e.Anchored {
			t.Errorf("event %d (%s) not anchored after the checkpoint", e.Index, e.Type)
		}
	}
}
