package signing_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/signing"
)

// wrongRun requests a code for link and sends MaxFailures wrong codes:
// the first four must be 401 invalid-code; it returns the answer to the
// fifth, and the codes emailed.
func (e *env) wrongRun(addr, link string) (status int, retryAfter, body string, code string) {
	e.t.Helper()
	if w := e.do("POST", "/v1/recipient/code", "Link "+link, ""); w.Code != http.StatusAccepted {
		e.t.Fatalf("code: %d %s", w.Code, w.Body)
	}
	code = e.lastCode(addr)
	bad := "000000"
	if code == bad {
		bad = "000001"
	}
	for i := 1; i < signing.DefaultMaxFailures; i++ {
		if w := e.do("POST", "/v1/recipient/verify", "Link "+link, `{"code":"`+bad+`"}`); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "invalid-code") {
			e.t.Fatalf("wrong code %d: %d %s", i, w.Code, w.Body)
		}
	}
	w := e.do("POST", "/v1/recipient/verify", "Link "+link, `{"code":"`+bad+`"}`)
	return w.Code, w.Header().Get("Retry-After"), w.Body.String(), code
}

// lockouts returns the recipient.locked_out events recorded so far.
func (c *countingLog) lockouts() []auditlog.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []auditlog.Event
	for _, e := range c.events {
		if e.Type == auditlog.RecipientLockedOut {
			out = append(out, e)
		}
	}
	return out
}

// TestLockoutEscalation: runs of five wrong codes lock the recipient out
// for 15 minutes, then an hour, then a day (the counters are in the
// database); the fourth run revokes the link for good (410 link-revoked,
// even with the right code and after any wait). Each lockout is audited
// with the recipient, its number and its end, never a code. The sender's
// re-issue restores access with a new link only, and starts the schedule
// again.
func TestLockoutEscalation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	env := e.newEnvelope(1, signer("Alice Doe", "alice@example.com", 1))
	rid := env.Recipients[0].ID
	const addr = "alice@example.com"
	link := e.link(addr, 1)
	var codes []string

	for i, d := range signing.DefaultLockouts() {
		n := i + 1
		start := e.clock.Now()
		st, ra, body, code := e.wrongRun(addr, link)
		codes = append(codes, code)
		if st != http.StatusTooManyRequests || ra != strconv.Itoa(int(d/time.Second)) || !strings.Contains(body, "recipient-locked") {
			t.Fatalf("lockout %d: %d Retry-After %q %s, want 429 for %v", n, st, ra, body, d)
		}
		// Stored in the database, not in memory.
		as, err := e.store.AuthState(ctx, env.ID, rid)
		if err != nil || as.Lockouts != n || !as.LockedUntil.Equal(start.Add(d)) || !as.RevokedAt.IsZero() {
			t.Fatalf("lockout %d: stored state %+v, %v", n, as, err)
		}
		// Locked until its end: even the right code waits.
		e.clock.Advance(d - time.Second)
		if w := e.do("POST", "/v1/recipient/code", "Link "+link, ""); w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "1" {
			t.Fatalf("code one second before lockout %d ends: %d %q", n, w.Code, w.Header().Get("Retry-After"))
		}
		if w := e.do("POST", "/v1/recipient/verify", "Link "+link, `{"code":"`+code+`"}`); w.Code != http.StatusTooManyRequests {
			t.Fatalf("right code during lockout %d: %d", n, w.Code)
		}
		e.clock.Advance(time.Second)
	}

	// One run too many: the link is revoked.
	st, _, body, code := e.wrongRun(addr, link)
	codes = append(codes, code)
	if st != http.StatusGone || !strings.Contains(body, "link-revoked") || !strings.Contains(body, "re-issue") {
		t.Fatalf("fourth run: %d %s, want 410 link-revoked asking for a re-issue", st, body)
	}
	e.clock.Advance(72 * time.Hour) // waiting does not help
	mails := len(e.mailbox.To(addr))
	for _, c := range []struct{ path, body string }{
		{"/v1/recipient/code", ""},
		{"/v1/recipient/verify", `{"code":"` + code + `"}`},
	} {
		if w := e.do("POST", c.path, "Link "+link, c.body); w.Code != http.StatusGone || !strings.Contains(w.Body.String(), "link-revoked") {
			t.Fatalf("%s with the revoked link: %d %s", c.path, w.Code, w.Body)
		}
	}
	if n := len(e.mailbox.To(addr)); n != mails {
		t.Errorf("%d messages sent to a revoked recipient", n-mails)
	}
	if as, err := e.store.AuthState(ctx, env.ID, rid); err != nil || as.RevokedAt.IsZero() || as.Lockouts != 4 {
		t.Fatalf("stored state after revocation: %+v, %v", as, err)
	}

	// Every lockout is in the audit log, without a code.
	los := e.audit.lockouts()
	if len(los) != 4 {
		t.Fatalf("%d recipient.locked_out events, want 4", len(los))
	}
	for i, ev := range los {
		if ev.Details["recipient_id"] != rid || ev.Details["lockout"] != strconv.Itoa(i+1) || ev.Subject.EnvelopeID != env.ID {
			t.Errorf("lockout event %d: %+v", i+1, ev.Details)
		}
		if i < 3 && ev.Details["locked_until"] == "" || i == 3 && ev.Details["revoked"] != "true" {
			t.Errorf("lockout event %d: %+v", i+1, ev.Details)
		}
		text := ev.Reason + fmt.Sprint(ev.Details)
		for _, c := range codes {
			if strings.Contains(text, c) {
				t.Errorf("lockout event %d carries a code: %s", i+1, text)
			}
		}
	}

	// The sender re-issues the link: a new link works, the old one
	// stays dead.
	w := e.do("POST", "/v1/envelopes/"+env.ID+"/recipients/"+rid+"/reissue", "Bearer sender", "")
	if w.Code != http.StatusOK {
		t.Fatalf("re-issue: %d %s", w.Code, w.Body)
	}
	var res signing.Reissued
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || res.RecipientID != rid || !res.WasRevoked || res.Lockouts != 4 || res.SentTo != "a***@example.com" {
		t.Fatalf("re-issue answer %s (%v)", w.Body, err)
	}
	if strings.Contains(w.Body.String(), "#") {
		t.Errorf("the re-issue answer carries the link: %s", w.Body)
	}
	msgs := e.mailbox.To(addr)
	if len(msgs) != mails+1 || !strings.HasPrefix(msgs[len(msgs)-1].Subject, "New link: ") {
		t.Fatalf("no new-link message after the re-issue")
	}
	fresh := e.link(addr, len(msgs))
	if fresh == link {
		t.Fatal("the re-issued link is the old one")
	}
	if w := e.do("POST", "/v1/recipient/code", "Link "+link, ""); w.Code != http.StatusGone || !strings.Contains(w.Body.String(), "link-revoked") {
		t.Fatalf("old link after the re-issue: %d %s", w.Code, w.Body)
	}
	if n := e.audit.count(auditlog.RecipientLinkReissued, auditlog.OutcomeSuccess); n != 1 {
		t.Errorf("%d recipient.link_reissued events, want 1", n)
	}
	// The schedule starts again: a first lockout of 15 minutes.
	if st, ra, body, _ := e.wrongRun(addr, fresh); st != http.StatusTooManyRequests || ra != "900" {
		t.Fatalf("first lockout after the re-issue: %d %q %s", st, ra, body)
	}
	e.clock.Advance(15 * time.Minute)
	ss := e.session(addr, fresh)
	if st, p := e.call("GET", "/v1/recipient/envelope", "Session", ss, nil, nil); st != http.StatusOK {
		t.Fatalf("view with the re-issued link's session: %d %+v", st, p)
	}
	if w := e.do("POST", "/v1/recipient/verify", "Link "+link, `{"code":"123456"}`); w.Code != http.StatusGone {
		t.Fatalf("old link at the end: %d %s", w.Code, w.Body)
	}
}

// TestReissueRefused: a re-issue needs the sender's tenant (the action
// gate checks envelope.send in the server), an
// open envelope and the recipient's turn; a refused one changes nothing
// and sends nothing.
func TestReissueRefused(t *testing.T) {
	e := newEnv(t)
	env := e.newEnvelope(1, signer("Alice Doe", "alice@example.com", 1), signer("Bob Roe", "bob@example.com", 2))
	alice, bob := env.Recipients[0].ID, env.Recipients[1].ID
	link := e.link("alice@example.com", 1)
	hash, _ := signing.ParseToken(link)
	path := func(env, r string) string { return "/v1/envelopes/" + env + "/recipients/" + r + "/reissue" }
	tests := []struct {
		name, path, auth string
		status           int
		slug             string
	}{
		{"no API key", path(env.ID, alice), "", 401, "unauthorized"},
		{"recipient link as credential", path(env.ID, alice), "Link " + link, 401, "unauthorized"},
		{"platform administrator", path(env.ID, alice), "Bearer platform", 403, "forbidden"},
		{"another tenant", path(env.ID, alice), "Bearer globex", 404, "not-found"},
		{"unknown envelope", path("env_nope", alice), "Bearer sender", 404, "not-found"},
		{"unknown recipient", path(env.ID, "rcp_nope"), "Bearer sender", 404, "not-found"},
		{"not the recipient's turn", path(env.ID, bob), "Bearer sender", 409, "not-recipients-turn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mails := len(e.mailbox.Messages())
			w := e.do("POST", tt.path, tt.auth, "")
			if w.Code != tt.status || !strings.Contains(w.Body.String(), `problems/`+tt.slug+`"`) {
				t.Fatalf("%d %s, want %d %s", w.Code, w.Body, tt.status, tt.slug)
			}
			if n := len(e.mailbox.Messages()); n != mails {
				t.Errorf("%d messages sent", n-mails)
			}
			if l, err := e.store.LinkByHash(context.Background(), hash); err != nil || !l.RevokedAt.IsZero() {
				t.Errorf("alice's link after a refused re-issue: %+v, %v", l, err)
			}
		})
	}
	if n := e.audit.count(auditlog.RecipientLinkReissued, ""); n != 0 {
		t.Errorf("%d recipient.link_reissued events for refused requests", n)
	}
	// A voided envelope's links are not re-issued.
	if _, err := e.wf.Void(context.Background(), sender, env.ID, "withdrawn"); err != nil {
		t.Fatal(err)
	}
	if w := e.do("POST", path(env.ID, alice), "Bearer sender", ""); w.Code != http.StatusConflict {
		t.Fatalf("re-issue on a voided envelope: %d %s", w.Code, w.Body)
	}
}
