package signing_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/workflow"
)

// snapshot is what a refused request must leave unchanged.
type snapshot struct {
	blobs    int
	docs     []string
	statuses []workflow.RecipientStatus
	sigs     int
}

func (e *env) snapshot(envID string) snapshot {
	e.t.Helper()
	var s snapshot
	if err := e.blobs.Walk(context.Background(), func(string) error { s.blobs++; return nil }); err != nil {
		e.t.Fatal(err)
	}
	env, err := e.wf.Envelope(context.Background(), sender, envID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, d := range env.Documents {
		s.docs = append(s.docs, d.SHA256)
	}
	for _, r := range env.Recipients {
		s.statuses = append(s.statuses, r.Status)
	}
	s.sigs = e.audit.count(auditlog.SignatureCreated, "")
	return s
}

func (s snapshot) equal(o snapshot) bool {
	return s.blobs == o.blobs && s.sigs == o.sigs && strings.Join(s.docs, ",") == strings.Join(o.docs, ",") &&
		len(s.statuses) == len(o.statuses) && func() bool {
		for i := range s.statuses {
			if s.statuses[i] != o.statuses[i] {
				return false
			}
		}
		return true
	}()
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TestRecipientBadInput: every refused recipient request is a 4xx (or a
// 503 when a dependency is down) problem+json with a stable type, leaves
// documents, blobs and routing unchanged, and is audited where it is
// security-relevant.
func TestRecipientBadInput(t *testing.T) {
	type setup struct {
		e     *env
		envID string
		alice string // alice's link token
		ss    string // alice's session (verified, not consented)
	}
	tests := []struct {
		name       string
		run        func(t *testing.T, s *setup) (int, string)
		wantStatus int
		wantType   string
		audit      func(t *testing.T, s *setup)
		// setupChanges marks cases whose setup legitimately changes
		// state (a signature, a decline, another envelope) before the
		// refused request; their snapshot is taken after that setup.
		setupChanges bool
	}{
		{name: "no authorization", wantStatus: 401, wantType: "invalid-link",
			run: func(t *testing.T, s *setup) (int, string) {
				st, p := s.e.call("POST", "/v1/recipient/code", "", "", nil, nil)
				return st, p.Type
			}},
		{name: "malformed link token", wantStatus: 401, wantType: "invalid-link",
			run: func(t *testing.T, s *setup) (int, string) {
				st, p := s.e.call("POST", "/v1/recipient/code", "Link", s.alice+"x", nil, nil)
				return st, p.Type
			}},
		{name: "unknown link token", wantStatus: 401, wantType: "invalid-link",
			run: func(t *testing.T, s *setup) (int, string) {
				st, p := s.e.call("POST", "/v1/recipient/code", "Link", randomToken(), nil, nil)
				return st, p.Type
			}},
		{name: "link token as session", wantStatus: 401, wantType: "invalid-session",
			run: func(t *testing.T, s *setup) (int, string) {
				st, p := s.e.call("GET", "/v1/recipient/envelope", "Session", s.alice, nil, nil)
				return st, p.Type
			}},
		{name: "session token as link", wantStatus: 401, wantType: "invalid-link",
			run: func(t *testing.T, s *setup) (int, string) {
				st, p := s.e.call("POST", "/v1/recipient/code", "Link", s.ss, nil, nil)
				return st, p.Type
			}},
		{name: "expired link", wantStatus: 401, wantType: "invalid-link",
			run: func(t *testing.T, s *setup) (int, string) {
				s.e.clock.Advance(7*24*time.Hour + time.Second)
				st, p := s.e.call("POST", "/v1/recipient/code", "Link", s.alice, nil, nil)
				return st, p.Type
			}},
		{name: "expired session", wantStatus: 401, wantType: "invalid-session",
			run: func(t *testing.T, s *setup) (int, string) {
				s.e.clock.Advance(31 * time.Minute)
				st, p := s.e.call("GET", "/v1/recipient/envelope", "Session", s.ss, nil, nil)
				return st, p.Type
			}},
		{name: "used link (after signing)", setupChanges: true, wantStatus: 401, wantType: "invalid-link",
			run: func(t *testing.T, s *setup) (int, string) {
				s.e.signAs(s.ss)
				st, p := s.e.call("POST", "/v1/recipient/code", "Link", s.alice, nil, nil)
				return st, p.Type
			}},
		{name: "foreign document id", setupChanges: true, wantStatus: 404, wantType: "not-found",
			run: func(t *testing.T, s *setup) (int, string) {
				other := s.e.newEnvelope(1, signer("Carol", "carol@example.com", 1))
				st, p := s.e.call("GET", "/v1/recipient/documents/"+other.Documents[0].DocumentID, "Session", s.ss, nil, nil)
				return st, p.Type
			}},
		{name: "unknown field", wantStatus: 422, wantType: "unknown-field",
			run: func(t *testing.T, s *setup) (int, string) {
				st, p := s.e.call("POST", "/v1/recipient/verify", "Link", s.alice, map[string]string{"code": "123456", "tenant": "other"}, nil)
				return st, p.Type
			}},
		{name: "consent false", wantStatus: 422, wantType: "invalid-request",
			run: func(t *testing.T, s *setup) (int, string) {
				st, p := s.e.call("POST", "/v1/recipient/consent", "Session", s.ss, map[string]bool{"consent": false}, nil)
				return st, p.Type
			}},
		{name: "sign without consent", wantStatus: 409, wantType: "consent-required",
			run: func(t *testing.T, s *setup) (int, string) {
				st, p := s.e.call("POST", "/v1/recipient/sign", "Session", s.ss, nil, nil)
				return st, p.Type
			}},
		{name: "sign twice", setupChanges: true, wantStatus: 409, wantType: "not-recipients-turn",
			run: func(t *testing.T, s *setup) (int, string) {
				s.e.signAs(s.ss)
				st, p := s.e.call("POST", "/v1/recipient/sign", "Session", s.ss, nil, nil)
				return st, p.Type
			}},
		{name: "decline then sign", setupChanges: true, wantStatus: 410, wantType: "envelope-ended",
			run: func(t *testing.T, s *setup) (int, string) {
				if st, p := s.e.call("POST", "/v1/recipient/decline", "Session", s.ss, map[string]string{"reason": "wrong salary"}, nil); st != 200 {
					t.Fatalf("decline: %d %+v", st, p)
				}
				st, p := s.e.call("POST", "/v1/recipient/sign", "Session", s.ss, nil, nil)
				return st, p.Type
			},
			audit: func(t *testing.T, s *setup) {
				if n := s.e.audit.count(auditlog.RecipientDeclined, ""); n != 1 {
					t.Errorf("%d recipient.declined events, want 1", n)
				}
			}},
		{name: "out of turn", wantStatus: 409, wantType: "not-recipients-turn",
			run: func(t *testing.T, s *setup) (int, string) {
				// A link for bob, whose turn has not come (as from a
				// stale or forged notification).
				env, _ := s.e.wf.Envelope(context.Background(), sender, s.envID)
				bob := env.Recipients[1]
				if err := s.e.notifier.Notify(context.Background(), workflow.Notification{Kind: workflow.NotifyTurn, Tenant: tenant, EnvelopeID: s.envID, Recipient: bob, Subject: env.Subject, ExpiresAt: env.ExpiresAt}); err != nil {
					t.Fatal(err)
				}
				ss := s.e.session("bob@example.com", s.e.link("bob@example.com", 1))
				if st, p := s.e.call("POST", "/v1/recipient/consent", "Session", ss, map[string]bool{"consent": true}, nil); st != 409 {
					t.Fatalf("consent out of turn: %d %+v", st, p)
				}
				st, p := s.e.call("POST", "/v1/recipient/sign", "Session", ss, nil, nil)
				return st, p.Type
			}},
		{name: "time-stamp authority down", wantStatus: 503, wantType: "unavailable",
			run: func(t *testing.T, s *setup) (int, string) {
				if st, p := s.e.call("POST", "/v1/recipient/consent", "Session", s.ss, map[string]bool{"consent": true}, nil); st != 200 {
					t.Fatalf("consent: %d %+v", st, p)
				}
				s.e.tsa.down.Store(true)
				st, p := s.e.call("POST", "/v1/recipient/sign", "Session", s.ss, nil, nil)
				return st, p.Type
			}},
		{name: "audit log down at verify", wantStatus: 503, wantType: "unavailable",
			run: func(t *testing.T, s *setup) (int, string) {
				s.e.call("POST", "/v1/recipient/code", "Link", s.alice, nil, nil)
				code := s.e.lastCode("alice@example.com")
				s.e.audit.failing.Store(true)
				defer s.e.audit.failing.Store(false)
				st, p := s.e.call("POST", "/v1/recipient/verify", "Link", s.alice, map[string]string{"code": code}, nil)
				return st, p.Type
			}},
		{name: "wrong codes past the lockout", wantStatus: 429, wantType: "recipient-locked",
			run: func(t *testing.T, s *setup) (int, string) {
				s.e.call("POST", "/v1/recipient/code", "Link", s.alice, nil, nil)
				good := s.e.lastCode("alice@example.com")
				bad := "000000"
				if good == bad {
					bad = "000001"
				}
				for i := 1; i <= 4; i++ {
					if st, p := s.e.call("POST", "/v1/recipient/verify", "Link", s.alice, map[string]string{"code": bad}, nil); st != 401 || p.Type != "https://signet.dev/problems/invalid-code" {
						t.Fatalf("wrong code %d: %d %+v", i, st, p)
					}
				}
				if st, p := s.e.call("POST", "/v1/recipient/verify", "Link", s.alice, map[string]string{"code": bad}, nil); st != 429 {
					t.Fatalf("fifth wrong code: %d %+v", st, p)
				}
				// Locked: even the right code, or a new one, is refused.
				if st, _ := s.e.call("POST", "/v1/recipient/code", "Link", s.alice, nil, nil); st != 429 {
					t.Fatalf("code while locked: %d", st)
				}
				st, p := s.e.call("POST", "/v1/recipient/verify", "Link", s.alice, map[string]string{"code": good}, nil)
				return st, p.Type
			},
			audit: func(t *testing.T, s *setup) {
				if n := s.e.audit.count(auditlog.RecipientAuthenticated, auditlog.OutcomeFailure); n != 5 {
					t.Errorf("%d failed recipient.authenticated events, want 5", n)
				}
				if n := s.e.audit.count(auditlog.RecipientAuthenticated, auditlog.OutcomeDenied); n != 1 {
					t.Errorf("%d denied recipient.authenticated events, want 1", n)
				}
				// After the lockout a new code works.
				s.e.clock.Advance(15*time.Minute + time.Second)
				s.e.session("alice@example.com", s.alice)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			env := e.newEnvelope(1, signer("Alice Doe", "alice@example.com", 1), signer("Bob Roe", "bob@example.com", 2))
			link := e.link("alice@example.com", 1)
			s := &setup{e: e, envID: env.ID, alice: link, ss: e.session("alice@example.com", link)}
			before := e.snapshot(env.ID)
			st, typ := tt.run(t, s)
			if st != tt.wantStatus || typ != "https://signet.dev/problems/"+tt.wantType {
				t.Fatalf("got %d %s, want %d %s", st, typ, tt.wantStatus, tt.wantType)
			}
			if !tt.setupChanges {
				if after := e.snapshot(env.ID); !before.equal(after) {
					t.Errorf("state changed: before %+v, after %+v", before, after)
				}
			}
			if tt.audit != nil {
				tt.audit(t, s)
			}
		})
	}
}

// TestMalformedJSON: syntax errors are 400, wrong media types 415.
func TestMalformedJSON(t *testing.T) {
	e := newEnv(t)
	e.newEnvelope(1, signer("Alice Doe", "alice@example.com", 1))
	link := e.link("alice@example.com", 1)
	for _, tc := range []struct {
		body, ct string
		want     int
	}{
		{`{"code":`, "application/json", http.StatusBadRequest},
		{`{"code":"1"} {}`, "application/json", http.StatusBadRequest},
		{`code=123456`, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{`{"code": 123456}`, "application/json", http.StatusUnprocessableEntity},
	} {
		req, _ := http.NewRequest("POST", "/v1/recipient/verify", strings.NewReader(tc.body))
		req.Header.Set("Content-Type", tc.ct)
		req.Header.Set("Authorization", "Link "+link)
		w := newRecorder()
		e.api.ServeHTTP(w, req)
		if w.Code != tc.want || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json") {
			t.Errorf("%q: %d %s, want %d problem+json", tc.body, w.Code, w.Header().Get("Content-Type"), tc.want)
		}
	}
}
