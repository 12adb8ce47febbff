package signing_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/workflow"
)

// sendEnvelope uploads one document and sends an envelope expiring at
// expires to recipients.
func (e *env) sendEnvelope(expires time.Time, recipients ...workflow.RecipientInput) *workflow.Envelope {
	e.t.Helper()
	ctx := context.Background()
	var b bytes.Buffer
	if err := pdf.WriteSample(&b, pdf.SampleOptions{Pages: 1, Title: "Offer letter"}); err != nil {
		e.t.Fatal(err)
	}
	d, err := e.wf.Upload(ctx, sender, "offer.pdf", &b)
	if err != nil {
		e.t.Fatal(err)
	}
	env, err := e.wf.CreateEnvelope(ctx, sender, workflow.CreateRequest{
		Subject: "Offer letter", Documents: []string{d.ID}, Recipients: recipients, ExpiresAt: &expires,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if env, err = e.wf.Send(ctx, sender, env.ID); err != nil {
		e.t.Fatal(err)
	}
	return env
}

// do performs a request against the API and returns the recorder.
func (e *env) do(method, path, authorization string, body string) *httptest.ResponseRecorder {
	e.t.Helper()
	return serve(e.api, method, path, authorization, body)
}

// serve is [env.do] against the recipient API h (of any node).
func serve(h http.Handler, method, path, authorization string, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// party is one recipient's credentials, obtained while the envelope was
// open.
type party struct {
	addr, link, session, code string
}

// TestFinalStatesCutOffRecipients: once an envelope is voided, declined,
// expired or completed, every link and session of it stops working at
// once, for every recipient: no code is emailed, no code is verified, the
// envelope, its documents, consent, signing and declining are refused
// with a 410 problem that names the state, and no e-mail reaches the
// (real) SMTP server. The one exception: once the envelope is completed,
// a signer's live session still downloads the completed documents.
func TestFinalStatesCutOffRecipients(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		state workflow.Status
		// end moves the envelope to state; alice and bob hold links and
		// live sessions.
		end func(t *testing.T, e *env, envID string, alice, bob *party)
	}{
		{workflow.StatusVoided, func(t *testing.T, e *env, envID string, alice, bob *party) {
			if _, err := e.wf.Void(ctx, sender, envID, "offer withdrawn"); err != nil {
				t.Fatal(err)
			}
		}},
		{workflow.StatusDeclined, func(t *testing.T, e *env, envID string, alice, bob *party) {
			if st, p := e.call("POST", "/v1/recipient/decline", "Session", bob.session, map[string]string{"reason": "wrong salary"}, nil); st != http.StatusOK {
				t.Fatalf("decline: %d %+v", st, p)
			}
		}},
		{workflow.StatusExpired, func(t *testing.T, e *env, envID string, alice, bob *party) {
			e.clock.Advance(time.Hour)
			if _, err := e.wf.Tick(ctx); err != nil {
				t.Fatal(err)
			}
		}},
		{workflow.StatusCompleted, func(t *testing.T, e *env, envID string, alice, bob *party) {
			e.signAs(alice.session)
			if res := e.signAs(bob.session); !res.Completed {
				t.Fatalf("bob's signature did not complete the envelope: %+v", res)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.state), func(t *testing.T) {
			e := newEnv(t)
			env := e.sendEnvelope(e.clock.Now().Add(time.Hour),
				signer("Alice Doe", "alice@example.com", 1), signer("Bob Roe", "bob@example.com", 1))
			docID := env.Documents[0].DocumentID
			parties := []*party{{addr: "alice@example.com"}, {addr: "bob@example.com"}}
			for _, p := range parties {
				p.link = e.link(p.addr, 1)
				p.session = e.session(p.addr, p.link)
				// A code requested but not used yet.
				if st, pr := e.call("POST", "/v1/recipient/code", "Link", p.link, nil, nil); st != http.StatusAccepted {
					t.Fatalf("code for %s: %d %+v", p.addr, st, pr)
				}
				p.code = e.lastCode(p.addr)
				// The document is reachable while the envelope is open.
				if w := e.do("GET", "/v1/recipient/documents/"+docID, "Session "+p.session, ""); w.Code != http.StatusOK {
					t.Fatalf("download before the end: %d", w.Code)
				}
			}

			tt.end(t, e, env.ID, parties[0], parties[1])
			if got, err := e.wf.Envelope(ctx, sender, env.ID); err != nil || got.Status != tt.state {
				t.Fatalf("envelope is %v (%v), want %s", got.Status, err, tt.state)
			}
			mails := map[string]int{}
			for _, p := range parties {
				mails[p.addr] = len(e.mailbox.To(p.addr))
			}
			sessionsBefore := countRows(t, e, "signing_sessions")
			authBefore := e.audit.count(auditlog.RecipientAuthenticated, auditlog.OutcomeSuccess)
			before := e.snapshot(env.ID)

			for _, p := range parties {
				calls := []struct {
					name, method, path, auth, body string
				}{
					{"code", "POST", "/v1/recipient/code", "Link " + p.link, ""},
					{"verify", "POST", "/v1/recipient/verify", "Link " + p.link, `{"code":"` + p.code + `"}`},
					{"envelope", "GET", "/v1/recipient/envelope", "Session " + p.session, ""},
					{"document", "GET", "/v1/recipient/documents/" + docID, "Session " + p.session, ""},
					{"consent", "POST", "/v1/recipient/consent", "Session " + p.session, `{"consent":true}`},
					{"sign", "POST", "/v1/recipient/sign", "Session " + p.session, ""},
					{"decline", "POST", "/v1/recipient/decline", "Session " + p.session, `{"reason":"too late"}`},
				}
				for _, c := range calls {
					w := e.do(c.method, c.path, c.auth, c.body)
					body := w.Body.String()
					if c.name == "document" && tt.state == workflow.StatusCompleted {
						// Each signer keeps their copy: the completed
						// document, with their live session only.
						got, err := e.wf.Envelope(ctx, sender, env.ID)
						if err != nil {
							t.Fatal(err)
						}
						if w.Code != http.StatusOK || w.Header().Get("ETag") != `"`+got.Documents[0].SHA256+`"` || !strings.HasPrefix(body, "%PDF") {
							t.Errorf("%s: the completed document with the signer's session: %d %s, want 200 and the final version",
								p.addr, w.Code, w.Header().Get("ETag"))
						}
						continue
					}
					if w.Code != http.StatusGone || w.Header().Get("Content-Type") != api.ContentTypeProblem ||
						!strings.Contains(body, `"type":"https://signet.dev/problems/envelope-ended"`) ||
						!strings.Contains(body, "the envelope is "+string(tt.state)) {
						t.Errorf("%s: %s after the envelope was %s: %d %s %s, want 410 envelope-ended naming the state",
							p.addr, c.name, tt.state, w.Code, w.Header().Get("Content-Type"), body[:min(len(body), 300)])
					}
					if strings.Contains(body, "%PDF") {
						t.Errorf("%s: %s answered document bytes", p.addr, c.name)
					}
				}
			}
			for _, p := range parties {
				if n := len(e.mailbox.To(p.addr)); n != mails[p.addr] {
					t.Errorf("%s received %d messages after the envelope was %s", p.addr, n-mails[p.addr], tt.state)
				}
			}
			if n := countRows(t, e, "signing_sessions"); n != sessionsBefore {
				t.Errorf("%d sessions created after the envelope was %s", n-sessionsBefore, tt.state)
			}
			if n := e.audit.count(auditlog.RecipientAuthenticated, auditlog.OutcomeSuccess); n != authBefore {
				t.Errorf("%d successful authentications after the envelope was %s", n-authBefore, tt.state)
			}
			if after := e.snapshot(env.ID); !before.equal(after) {
				t.Errorf("state changed after the envelope was %s: before %+v, after %+v", tt.state, before, after)
			}
		})
	}
}

// TestExpiryCutsOffBeforeTheScheduler: an envelope past its expiry is
// closed to recipients even before the scheduler records the expiry.
func TestExpiryCutsOffBeforeTheScheduler(t *testing.T) {
	e := newEnv(t)
	e.sendEnvelope(e.clock.Now().Add(time.Hour), signer("Alice Doe", "alice@example.com", 1))
	link := e.link("alice@example.com", 1)
	e.clock.Advance(time.Hour)
	w := e.do("POST", "/v1/recipient/code", "Link "+link, "")
	if w.Code != http.StatusGone || !strings.Contains(w.Body.String(), "the envelope is expired") {
		t.Fatalf("code after the expiry: %d %s", w.Code, w.Body)
	}
	if n := len(e.mailbox.To("alice@example.com")); n != 1 {
		t.Errorf("alice received %d messages, want only the link", n)
	}
}

func countRows(t *testing.T, e *env, table string) int {
	t.Helper()
	var n int
	if err := e.store.DB().QueryRow("SELECT count(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCodeOnlyInBody: the one-time code travels in the body of the
// message the SMTP server receives, never in its subject or any other
// header.
func TestCodeOnlyInBody(t *testing.T) {
	e := newEnv(t)
	e.newEnvelope(1, signer("Alice Doe", "alice@example.com", 1))
	link := e.link("alice@example.com", 1)
	for i := 0; i < 3; i++ {
		if st, p := e.call("POST", "/v1/recipient/code", "Link", link, nil, nil); st != http.StatusAccepted {
			t.Fatalf("code: %d %+v", st, p)
		}
		msgs := e.mailbox.To("alice@example.com")
		m := msgs[len(msgs)-1]
		code := e.lastCode("alice@example.com")
		if !strings.Contains(m.Body, code) {
			t.Fatalf("the code is not in the body: %q", m.Body)
		}
		header, _, ok := bytes.Cut(m.Raw, []byte("\r\n\r\n"))
		if !ok {
			t.Fatalf("no header/body separator in %q", m.Raw)
		}
		if strings.Contains(m.Subject, code) || bytes.Contains(header, []byte(code)) {
			t.Errorf("the code %s is in the header:\n%s", code, header)
		}
		for k, vs := range m.Header {
			for _, v := range vs {
				if strings.Contains(v, code) {
					t.Errorf("the code is in header %s: %q", k, v)
				}
			}
		}
		if m.Subject == "" {
			t.Error("the code message has no subject")
		}
	}
}
