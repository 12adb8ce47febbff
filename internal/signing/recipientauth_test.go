package signing_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/mail/sms"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/secretscan"
	"github.com/signet-pki/signet/internal/signing"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/pki/ca"
)

// The SMS gateway client is the signing side's SMSSender.
var _ signing.SMSSender = (*sms.Gateway)(nil)

// smsGateway is a real HTTP SMS gateway on a test server, reached
// through the sms package's client: it keeps every message it accepted,
// or answers status when that is set.
type smsGateway struct {
	srv    *httptest.Server
	client *sms.Gateway
	mu     sync.Mutex
	msgs   []struct{ To, Text string }
	status int
}

const smsToken = "sms-gateway-token-6b2f"

func newSMSGateway(t *testing.T) *smsGateway {
	g := &smsGateway{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+smsToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var m struct{ To, Text string }
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.status != 0 {
			w.WriteHeader(g.status)
			return
		}
		g.msgs = append(g.msgs, m)
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(g.srv.Close)
	c, err := sms.New(sms.Config{URL: g.srv.URL + "/send", Token: smsToken, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	g.client = c
	return g
}

var smsCodeRE = regexp.MustCompile(`^Your Signet code is ([0-9]{6})\.`)

// lastCode returns the code of the newest message the gateway accepted
// for to.
func (g *smsGateway) lastCode(t *testing.T, to string) string {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	for i := len(g.msgs) - 1; i >= 0; i-- {
		if g.msgs[i].To == to {
			if m := smsCodeRE.FindStringSubmatch(g.msgs[i].Text); m != nil {
				return m[1]
			}
		}
	}
	t.Fatalf("no SMS code sent to %s", to)
	return ""
}

func (g *smsGateway) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.msgs)
}

// evidenceCA is the real CA, keeping the authentication evidence of every
// certificate it issued to a signer, as read back from the certificate.
type evidenceCA struct {
	signing.Authority
	mu     sync.Mutex
	issued map[string]ca.AuthEvidence // by serial, hex
}

func (c *evidenceCA) IssueEphemeral(ctx context.Context, id ca.Identity, ev ca.AuthEvidence) (crypto.Signer, *x509.Certificate, func() error, error) {
	sg, cert, done, err := c.Authority.IssueEphemeral(ctx, id, ev)
	if err == nil {
		got, perr := ca.ParseAuthEvidence(cert)
		if perr != nil {
			return nil, nil, nil, perr
		}
		c.mu.Lock()
		c.issued[cert.SerialNumber.Text(16)] = got
		c.mu.Unlock()
	}
	return sg, cert, done, err
}

func (c *evidenceCA) all() []ca.AuthEvidence {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []ca.AuthEvidence
	for _, ev := range c.issued {
		out = append(out, ev)
	}
	return out
}

// authEnv is an env with an SMS gateway, link-only access allowed by the
// service, and a CA that keeps the evidence it certified.
type authEnv struct {
	*env
	gw *smsGateway
	ca *evidenceCA
}

func newAuthEnv(t *testing.T, adjust func(cfg *signing.Config, wf *workflow.Config)) *authEnv {
	t.Helper()
	gw := newSMSGateway(t)
	var eca *evidenceCA
	e := newEnvOptions(t, envOptions{adjust: func(cfg *signing.Config, wf *workflow.Config) {
		eca = &evidenceCA{Authority: cfg.CA, issued: map[string]ca.AuthEvidence{}}
		cfg.CA, cfg.SMS, cfg.AllowLinkOnly = eca, gw.client, true
		wf.SMSGateway, wf.AllowLinkOnly = true, true
		if adjust != nil {
			adjust(cfg, wf)
		}
	}})
	return &authEnv{env: e, gw: gw, ca: eca}
}

// sendEnvelope creates and sends an envelope of one document to
// recipients, allowing link-only recipients if allowLinkOnly.
func (e *authEnv) sendEnvelope(allowLinkOnly bool, recipients ...workflow.RecipientInput) (*workflow.Envelope, error) {
	e.t.Helper()
	ctx := context.Background()
	var b bytes.Buffer
	if err := pdf.WriteSample(&b, pdf.SampleOptions{Pages: 1, Title: "Lease"}); err != nil {
		e.t.Fatal(err)
	}
	d, err := e.wf.Upload(ctx, sender, "lease.pdf", &b)
	if err != nil {
		e.t.Fatal(err)
	}
	env, err := e.wf.CreateEnvelope(ctx, sender, workflow.CreateRequest{
		Subject: "Lease", Documents: []string{d.ID}, Recipients: recipients, AllowLinkOnly: allowLinkOnly,
	})
	if err != nil {
		return nil, err
	}
	return e.wf.Send(ctx, sender, env.ID)
}

// authEvents returns the recipient.authenticated events of recipient id.
func (c *countingLog) authEvents(id string) []auditlog.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []auditlog.Event
	for _, e := range c.events {
		if e.Type == auditlog.RecipientAuthenticated && e.Actor.ID == id {
			out = append(out, e)
		}
	}
	return out
}

const (
	phone      = "+41791234567"
	accessCode = "Harbour-Lights-5521"
)

// TestRecipientAuthFlow runs each authentication level from the created
// envelope through the link, the proof the level asks for, consent and
// signature to the completed envelope. The link e-mail says what will be
// asked; /code sends an e-mailed or SMS code or refuses; the audit event
// and the signer certificate's authentication evidence carry the level's
// RFC 8176 methods; and no code or access code is in a stored file or a
// log line.
func TestRecipientAuthFlow(t *testing.T) {
	tests := []struct {
		level     string
		in        workflow.RecipientInput
		hint      string // in the link e-mail
		codeSent  int    // status of POST /v1/recipient/code
		channel   string
		methods   []string
		assurance string
	}{
		{level: workflow.AuthEmailCode, hint: "we will email you a one-time code",
			codeSent: http.StatusAccepted, channel: "email", methods: []string{"otp", "email"}, assurance: "aal1"},
		{level: workflow.AuthSMSCode, in: workflow.RecipientInput{Phone: phone}, hint: "by SMS to your phone number +*********67",
			codeSent: http.StatusAccepted, channel: "sms", methods: []string{"otp", "sms"}, assurance: "aal1"},
		{level: workflow.AuthAccessCode, in: workflow.RecipientInput{AccessCode: accessCode}, hint: "the access code the sender gave you",
			codeSent: http.StatusConflict, methods: []string{"pwd"}, assurance: "aal1"},
		{level: workflow.AuthLinkOnly, codeSent: http.StatusConflict, methods: []string{"email"}, assurance: "none"},
	}
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			e := newAuthEnv(t, nil)
			const addr = "carol@example.com"
			in := tt.in
			in.Role, in.Name, in.Email, in.Auth, in.Order = workflow.RoleSigner, "Carol Poe", addr, tt.level, 1
			env, err := e.sendEnvelope(tt.level == workflow.AuthLinkOnly, in)
			if err != nil {
				t.Fatal(err)
			}
			rid := env.Recipients[0].ID
			link := e.link(addr, 1)
			linkMail := e.mailbox.To(addr)[0].Body
			if tt.hint != "" && !strings.Contains(linkMail, tt.hint) {
				t.Fatalf("link e-mail does not say %q:\n%s", tt.hint, linkMail)
			}
			if strings.Contains(linkMail, accessCode) || strings.Contains(linkMail, phone) {
				t.Fatalf("link e-mail shows the access code or the full number:\n%s", linkMail)
			}

			var sent struct {
				SentTo  string `json:"sent_to"`
				Channel string `json:"channel"`
			}
			st, p := e.call("POST", "/v1/recipient/code", "Link", link, nil, &sent)
			if st != tt.codeSent {
				t.Fatalf("code: %d %+v, want %d", st, p, tt.codeSent)
			}
			var secret string // what the recipient proves with
			var body any
			switch tt.level {
			case workflow.AuthEmailCode:
				secret = e.lastCode(addr)
			case workflow.AuthSMSCode:
				secret = e.gw.lastCode(t, phone)
				if sent.SentTo != "+*********67" {
					t.Errorf("sent_to %q", sent.SentTo)
				}
				// The code went by SMS only.
				if n := len(e.mailbox.To(addr)); n != 1 {
					t.Errorf("%d e-mails to an sms_code recipient, want only the link", n)
				}
			case workflow.AuthAccessCode:
				secret = accessCode
				if p.Type != "https://signet.dev/problems/no-code-to-send" {
					t.Errorf("code: problem %s", p.Type)
				}
			case workflow.AuthLinkOnly:
				if p.Type != "https://signet.dev/problems/no-code-to-send" {
					t.Errorf("code: problem %s", p.Type)
				}
			}
			if sent.Channel != tt.channel {
				t.Errorf("channel %q, want %q", sent.Channel, tt.channel)
			}
			if secret != "" {
				body = map[string]string{"code": secret}
			}
			var v struct{ Session string }
			if st, p := e.call("POST", "/v1/recipient/verify", "Link", link, body, &v); st != http.StatusOK {
				t.Fatalf("verify: %d %+v", st, p)
			}
			if res := e.signAs(v.Session); !res.Completed {
				t.Fatalf("sign: %+v", res)
			}

			evs := e.audit.authEvents(rid)
			if len(evs) != 1 || evs[0].Outcome != auditlog.OutcomeSuccess || !slices.Equal(evs[0].Actor.AuthMethods, tt.methods) ||
				evs[0].Actor.AuthStrength != tt.assurance || evs[0].Details["method"] != tt.level {
				t.Fatalf("recipient.authenticated events: %+v", evs)
			}
			issued := e.ca.all()
			if len(issued) != 1 || !slices.Equal(issued[0].Methods, tt.methods) || issued[0].AssuranceLevel != tt.assurance {
				t.Fatalf("signer certificates' evidence: %+v, want %v %s", issued, tt.methods, tt.assurance)
			}
			for _, ev := range e.audit.events {
				if ev.Type == auditlog.KeyUsed && ev.Actor.ID == rid && !slices.Equal(ev.Actor.AuthMethods, tt.methods) {
					t.Errorf("key.used by the recipient with methods %v", ev.Actor.AuthMethods)
				}
			}
			if secret != "" {
				if n := secretscan.Check(t, e.dir, secret); n == 0 {
					t.Fatal("no file scanned")
				}
				if strings.Contains(e.logs.String(), secret) {
					t.Fatalf("the logs hold the code")
				}
				for _, ev := range e.audit.events {
					b, _ := json.Marshal(ev)
					if strings.Contains(string(b), secret) {
						t.Fatalf("audit event %s holds the code", ev.Type)
					}
				}
			}
		})
	}
}

// TestAccessCode: a wrong access code is a 401 invalid-code, audited as a
// failure; the right one opens a session. The code is in no answer.
func TestAccessCode(t *testing.T) {
	e := newAuthEnv(t, nil)
	const addr = "dave@example.com"
	env, err := e.sendEnvelope(false, workflow.RecipientInput{Role: workflow.RoleSigner, Name: "Dave", Email: addr,
		Auth: workflow.AuthAccessCode, AccessCode: accessCode, Order: 1})
	if err != nil {
		t.Fatal(err)
	}
	link := e.link(addr, 1)
	for _, wrong := range []string{"Harbour-Lights-5520", strings.ToLower(accessCode), "", "123456"} {
		w := e.do("POST", "/v1/recipient/verify", "Link "+link, `{"code":"`+wrong+`"}`)
		if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "invalid-code") || strings.Contains(w.Body.String(), accessCode) {
			t.Fatalf("wrong access code %q: %d %s", wrong, w.Code, w.Body)
		}
	}
	evs := e.audit.authEvents(env.Recipients[0].ID)
	if len(evs) != 4 || evs[0].Outcome != auditlog.OutcomeFailure || evs[0].Reason != "wrong access code" {
		t.Fatalf("events %+v", evs)
	}
	w := e.do("POST", "/v1/recipient/verify", "Link "+link, `{"code":"`+accessCode+`"}`)
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), accessCode) {
		t.Fatalf("right access code: %d %s", w.Code, w.Body)
	}
	// Sessions carry what the verification proved.
	var v struct{ Session string }
	json.Unmarshal(w.Body.Bytes(), &v)
	h, _ := signing.ParseToken(v.Session)
	ss, err := e.store.SessionByHash(context.Background(), h)
	if err != nil || !slices.Equal(ss.Methods, []string{"pwd"}) || ss.Assurance != "aal1" {
		t.Fatalf("session %+v, %v", ss, err)
	}
}

// TestLinkOnly: a link_only recipient is refused at creation unless both
// the envelope and the service allow it; once created, its link opens a
// session only while the signing side's option is on too.
func TestLinkOnly(t *testing.T) {
	r := workflow.RecipientInput{Role: workflow.RoleSigner, Name: "Erin", Email: "erin@example.com", Auth: workflow.AuthLinkOnly, Order: 1}
	for _, c := range []struct {
		name             string
		envelope, server bool
		want             error
	}{
		{"neither", false, false, workflow.ErrInvalid},
		{"envelope only", true, false, workflow.ErrAuthUnavailable},
		{"server only", false, true, workflow.ErrInvalid},
	} {
		t.Run("refused with "+c.name, func(t *testing.T) {
			e := newAuthEnv(t, func(_ *signing.Config, wf *workflow.Config) { wf.AllowLinkOnly = c.server })
			if _, err := e.sendEnvelope(c.envelope, r); !errors.Is(err, c.want) {
				t.Fatalf("create: %v, want %v", err, c.want)
			}
		})
	}
	t.Run("allowed with both, then switched off", func(t *testing.T) {
		e := newAuthEnv(t, nil)
		env, err := e.sendEnvelope(true, r)
		if err != nil {
			t.Fatal(err)
		}
		link := e.link("erin@example.com", 1)
		// A node whose signing side has the option off refuses the link.
		cfg := e.cfg
		cfg.AllowLinkOnly = false
		off := *e.env
		off.cfg = cfg
		n := off.node()
		w := serve(n.api, "POST", "/v1/recipient/verify", "Link "+link, "")
		if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "link-only-disabled") {
			t.Fatalf("verify with the option off: %d %s", w.Code, w.Body)
		}
		if evs := e.audit.authEvents(env.Recipients[0].ID); len(evs) != 1 || evs[0].Outcome != auditlog.OutcomeDenied {
			t.Fatalf("events %+v", evs)
		}
		// A code is refused, and nothing else is needed.
		if w := e.do("POST", "/v1/recipient/verify", "Link "+link, `{"code":"123456"}`); w.Code != http.StatusUnprocessableEntity {
			t.Fatalf("verify with a code: %d %s", w.Code, w.Body)
		}
		if w := e.do("POST", "/v1/recipient/verify", "Link "+link, ""); w.Code != http.StatusOK {
			t.Fatalf("verify: %d %s", w.Code, w.Body)
		}
	})
}

// TestPasskeyRequired: a passkey recipient is recorded; their link sends
// no code and verifies nothing (401 passkey-required), audited as denied
// without counting toward a lockout.
func TestPasskeyRequired(t *testing.T) {
	e := newAuthEnv(t, nil)
	env, err := e.sendEnvelope(false, workflow.RecipientInput{Role: workflow.RoleSigner, Name: "Finn", Email: "finn@example.com", Auth: workflow.AuthPasskey, Order: 1})
	if err != nil {
		t.Fatal(err)
	}
	if env.Recipients[0].Auth != workflow.AuthPasskey {
		t.Fatalf("recipient %+v", env.Recipients[0])
	}
	link := e.link("finn@example.com", 1)
	for range signing.DefaultMaxFailures + 1 {
		for _, path := range []string{"/v1/recipient/code", "/v1/recipient/verify"} {
			w := e.do("POST", path, "Link "+link, `{}`)
			if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "passkey-required") {
				t.Fatalf("%s: %d %s", path, w.Code, w.Body)
			}
		}
	}
	st, err := e.store.AuthState(context.Background(), env.ID, env.Recipients[0].ID)
	if err != nil || st.Failures != 0 || st.Lockouts != 0 || !st.LockedUntil.IsZero() {
		t.Fatalf("code state %+v, %v", st, err)
	}
	evs := e.audit.authEvents(env.Recipients[0].ID)
	if len(evs) != signing.DefaultMaxFailures+1 || evs[0].Outcome != auditlog.OutcomeDenied || evs[0].Reason != "passkey required" {
		t.Fatalf("events %+v", evs)
	}
}

// TestLockoutAcrossKinds: for every level with a code, wrong codes of
// every kind (wrong, malformed, with none pending, wrong access codes)
// count toward one lockout per recipient: a run of MaxFailures locks the
// recipient out (429, even with the right code), the run after the last
// lockout revokes their link (410); each lockout is in the audit log, and
// the revocation is stored with the link.
func TestLockoutAcrossKinds(t *testing.T) {
	tests := []struct {
		level  string
		in     workflow.RecipientInput
		wrongs []string // the codes of one run, in turn
	}{
		{workflow.AuthEmailCode, workflow.RecipientInput{}, []string{"", "abc", "000000", "999999", "12345"}},
		{workflow.AuthSMSCode, workflow.RecipientInput{Phone: phone}, []string{"000000", "", "x", "999999", "000001"}},
		{workflow.AuthAccessCode, workflow.RecipientInput{AccessCode: accessCode}, []string{"wrong-code", "", "123456", strings.ToUpper(accessCode), accessCode + " x"}},
	}
	for _, tt := range tests {
		t.Run(tt.level, func(t *testing.T) {
			e := newAuthEnv(t, func(cfg *signing.Config, _ *workflow.Config) { cfg.Lockouts = []time.Duration{time.Hour} })
			const addr = "gil@example.com"
			in := tt.in
			in.Role, in.Name, in.Email, in.Auth, in.Order = workflow.RoleSigner, "Gil", addr, tt.level, 1
			env, err := e.sendEnvelope(false, in)
			if err != nil {
				t.Fatal(err)
			}
			rid := env.Recipients[0].ID
			link := e.link(addr, 1)
			right := func() string {
				switch tt.level {
				case workflow.AuthEmailCode:
					return e.lastCode(addr)
				case workflow.AuthSMSCode:
					return e.gw.lastCode(t, phone)
				}
				return accessCode
			}
			run := func() *httptest.ResponseRecorder {
				t.Helper()
				var w *httptest.ResponseRecorder
				for i, c := range tt.wrongs {
					if i == 2 && tt.level != workflow.AuthAccessCode {
						// A code is pending for the rest of the run.
						if w := e.do("POST", "/v1/recipient/code", "Link "+link, ""); w.Code != http.StatusAccepted {
							t.Fatalf("code: %d %s", w.Code, w.Body)
						}
						if right() == c {
							c = "555555"
						}
					}
					w = e.do("POST", "/v1/recipient/verify", "Link "+link, `{"code":"`+c+`"}`)
					if i < len(tt.wrongs)-1 && (w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "invalid-code")) {
						t.Fatalf("wrong code %d (%q): %d %s", i+1, c, w.Code, w.Body)
					}
				}
				return w
			}
			if w := run(); w.Code != http.StatusTooManyRequests || !strings.Contains(w.Body.String(), "recipient-locked") {
				t.Fatalf("first run: %d %s, want 429 recipient-locked", w.Code, w.Body)
			}
			if w := e.do("POST", "/v1/recipient/verify", "Link "+link, `{"code":"`+accessCode+`"}`); w.Code != http.StatusTooManyRequests {
				t.Fatalf("verify while locked: %d", w.Code)
			}
			e.clock.Advance(time.Hour)
			if w := run(); w.Code != http.StatusGone || !strings.Contains(w.Body.String(), "link-revoked") {
				t.Fatalf("second run: %d %s, want 410 link-revoked", w.Code, w.Body)
			}
			h, _ := signing.ParseToken(link)
			if l, err := e.store.LinkByHash(context.Background(), h); err != nil || l.RevokedAt.IsZero() {
				t.Fatalf("link after revocation: %+v %v", l, err)
			}
			los := e.audit.lockouts()
			if len(los) != 2 || los[1].Details["revoked"] != "true" {
				t.Fatalf("lockout events %+v", los)
			}
			fails := 0
			for _, ev := range e.audit.authEvents(rid) {
				if ev.Outcome == auditlog.OutcomeFailure {
					fails++
				}
			}
			if fails != 2*len(tt.wrongs) {
				t.Fatalf("%d failures audited, want %d", fails, 2*len(tt.wrongs))
			}
		})
	}
}

// TestSMSFailClosed: with no SMS sender configured on the signing side,
// or a gateway that refuses, no code is made or shown; the workflow
// refuses sms_code recipients without a gateway.
func TestSMSFailClosed(t *testing.T) {
	r := workflow.RecipientInput{Role: workflow.RoleSigner, Name: "Hal", Email: "hal@example.com", Auth: workflow.AuthSMSCode, Phone: phone, Order: 1}
	t.Run("no gateway: refused at creation", func(t *testing.T) {
		e := newAuthEnv(t, func(_ *signing.Config, wf *workflow.Config) { wf.SMSGateway = false })
		_, err := e.sendEnvelope(false, r)
		if !errors.Is(err, workflow.ErrAuthUnavailable) || !strings.Contains(err.Error(), "sms_gateway") {
			t.Fatalf("create: %v", err)
		}
	})
	t.Run("no sender on the signing side", func(t *testing.T) {
		e := newAuthEnv(t, func(cfg *signing.Config, _ *workflow.Config) { cfg.SMS = nil })
		env, err := e.sendEnvelope(false, r)
		if err != nil {
			t.Fatal(err)
		}
		w := e.do("POST", "/v1/recipient/code", "Link "+e.link("hal@example.com", 1), "")
		if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "SMS gateway") {
			t.Fatalf("code: %d %s", w.Code, w.Body)
		}
		if st, err := e.store.AuthState(context.Background(), env.ID, env.Recipients[0].ID); err != nil || len(st.CodeMAC) != 0 || st.WindowSends != 0 {
			t.Fatalf("code state %+v %v", st, err)
		}
	})
	t.Run("gateway refuses", func(t *testing.T) {
		e := newAuthEnv(t, nil)
		e.gw.mu.Lock()
		e.gw.status = http.StatusInternalServerError
		e.gw.mu.Unlock()
		if _, err := e.sendEnvelope(false, r); err != nil {
			t.Fatal(err)
		}
		w := e.do("POST", "/v1/recipient/code", "Link "+e.link("hal@example.com", 1), "")
		if w.Code != http.StatusServiceUnavailable || e.gw.count() != 0 {
			t.Fatalf("code: %d %s", w.Code, w.Body)
		}
		if strings.Contains(e.logs.String(), smsToken) || regexp.MustCompile(`code is [0-9]{6}`).MatchString(e.logs.String()) {
			t.Fatalf("logs hold the token or a code:\n%s", e.logs)
		}
	})
}
