package signing_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/cms"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/passkey"
	"github.com/signet-pki/signet/internal/identity/passkey/passkeytest"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/secretscan"
	"github.com/signet-pki/signet/internal/signing"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/pki/ca"
)

// user registers an active user of the tenant with address email and,
// unless a is nil, a passkey of authenticator a, through a real
// registration ceremony.
func (e *env) user(email string, a *passkeytest.Authenticator) identity.User {
	e.t.Helper()
	ctx := context.Background()
	u := identity.User{ID: "u_" + strings.Split(email, "@")[0], Tenant: tenant, Email: email, Name: "User " + email,
		Status: identity.StatusActive, CreatedAt: e.clock.Now()}
	if err := e.users.CreateUser(ctx, u); err != nil {
		e.t.Fatal(err)
	}
	if a == nil {
		return u
	}
	opts, c, err := e.passkeys.BeginRegistration(ctx, u)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := a.Create(opts, rpOrigin)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.passkeys.FinishRegistration(ctx, u, c, "laptop", resp); err != nil {
		e.t.Fatal(err)
	}
	return u
}

func passkeySigner(name, email string, order int) workflow.RecipientInput {
	return workflow.RecipientInput{Role: workflow.RoleSigner, Name: name, Email: email, Auth: workflow.AuthPasskey, Order: order}
}

// sendDeed creates and sends an envelope of ndocs documents to
// recipients, high-assurance if asked.
func (e *env) sendDeed(ndocs int, highAssurance bool, recipients ...workflow.RecipientInput) *workflow.Envelope {
	e.t.Helper()
	ctx := context.Background()
	var ids []string
	for range ndocs {
		e.docCount++
		var b bytes.Buffer
		if err := pdf.WriteSample(&b, pdf.SampleOptions{Pages: 1, Title: "Deed " + strings.Repeat("I", e.docCount)}); err != nil {
			e.t.Fatal(err)
		}
		d, err := e.wf.Upload(ctx, sender, "deed.pdf", &b)
		if err != nil {
			e.t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	env, err := e.wf.CreateEnvelope(ctx, sender, workflow.CreateRequest{
		Subject: "Deed", Documents: ids, Recipients: recipients, HighAssurance: highAssurance,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if env, err = e.wf.Send(ctx, sender, env.ID); err != nil {
		e.t.Fatal(err)
	}
	return env
}

// begin starts a passkey confirmation with link and returns the answer.
func (e *env) begin(link string) signing.PasskeyChallenge {
	e.t.Helper()
	var c signing.PasskeyChallenge
	if st, p := e.call("POST", "/v1/recipient/passkey/begin", "Link", link, nil, &c); st != http.StatusOK {
		e.t.Fatalf("begin: %d %+v", st, p)
	}
	return c
}

// finish sends an authenticator's response to the finish route.
func (e *env) finish(link string, resp []byte) (int, api.Problem, string) {
	e.t.Helper()
	var v struct{ Session string }
	st, p := e.call("POST", "/v1/recipient/passkey/finish", "Link", link, map[string]json.RawMessage{"response": resp}, &v)
	return st, p, v.Session
}

// passkeySession confirms with authenticator a through link and returns
// the session token.
func (e *env) passkeySession(link string, a *passkeytest.Authenticator) string {
	e.t.Helper()
	c := e.begin(link)
	resp, err := a.Get(c.Options, rpOrigin)
	if err != nil {
		e.t.Fatal(err)
	}
	st, p, ss := e.finish(link, resp)
	if st != http.StatusOK {
		e.t.Fatalf("finish: %d %+v", st, p)
	}
	return ss
}

// challengeOf returns the challenge of WebAuthn request options.
func challengeOf(t *testing.T, opts []byte) []byte {
	t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(opts, &o); err != nil {
		t.Fatal(err)
	}
	b, err := base64.RawURLEncoding.DecodeString(o.PublicKey.Challenge)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// blob returns the bytes of a stored document version.
func (e *env) blob(sum string) []byte {
	e.t.Helper()
	rd, size, err := e.blobs.Open(context.Background(), sum)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rd.Close()
	b := make([]byte, size)
	if _, err := rd.ReadAt(b, 0); err != nil {
		e.t.Fatal(err)
	}
	return b
}

// lastSignerEvidence returns the authentication evidence of the signer
// certificate of the newest approval signature of the PDF b, read from
// the PDF itself (the CMS in the signature's /Contents).
func (e *env) lastSignerEvidence(b []byte) ca.AuthEvidence {
	e.t.Helper()
	rep := e.verifyPDF(b)
	var br []int64
	for _, s := range rep.Signatures {
		if s.Kind == "approval" {
			br = s.ByteRange
		}
	}
	if len(br) != 4 {
		e.t.Fatalf("no approval signature: %+v", rep)
	}
	der, err := hex.DecodeString(string(bytes.TrimRight(b[br[1]+1:br[2]-1], "0")))
	if err != nil {
		// An odd number of hex digits left after trimming padding.
		der, err = hex.DecodeString(string(bytes.TrimRight(b[br[1]+1:br[2]-1], "0")) + "0")
		if err != nil {
			e.t.Fatal(err)
		}
	}
	sd, err := cms.Parse(der)
	if err != nil {
		e.t.Fatal(err)
	}
	cert, err := sd.SignerCertificate()
	if err != nil {
		e.t.Fatal(err)
	}
	ev, err := ca.ParseAuthEvidence(cert)
	if err != nil {
		e.t.Fatal(err)
	}
	return ev
}

// TestPasskeyRecipientSigns: a passkey recipient (a registered user with a
// passkey) confirms through the real WebAuthn exchange, signs, and the
// signer certificate inside the signed PDF carries a signing intent that
// passkey.VerifySigningEvidence accepts offline, with the stored public
// key, for the very document version the signature covers (one document)
// or for the digest of the versions (several). The amr values and
// assurance follow the passkey's BE flag; the audit events carry the
// method, its time and the hash of the evidence.
func TestPasskeyRecipientSigns(t *testing.T) {
	for _, tt := range []struct {
		name      string
		docs      int
		synced    bool
		methods   []string
		assurance string
	}{
		{name: "device-bound, one document", docs: 1, methods: []string{"hwk", "user"}, assurance: "aal3"},
		{name: "synced, one document", docs: 1, synced: true, methods: []string{"swk", "user"}, assurance: "aal2"},
		{name: "device-bound, three documents", docs: 3, methods: []string{"hwk", "user"}, assurance: "aal3"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			a := &passkeytest.Authenticator{Synced: tt.synced}
			u := e.user("ann@example.com", a)
			env := e.sendDeed(tt.docs, false, passkeySigner("Ann", "ann@example.com", 1))
			rcp := env.Recipients[0].ID
			link := e.link("ann@example.com", 1)

			c := e.begin(link)
			if len(c.Documents) != tt.docs {
				t.Fatalf("begin names %d documents, want %d", len(c.Documents), tt.docs)
			}
			digest, err := signing.IntentDigest(c.Documents)
			if err != nil || hex.EncodeToString(digest[:]) != c.Digest {
				t.Fatalf("digest %s, want %x (%v)", c.Digest, digest, err)
			}
			if tt.docs == 1 && c.Digest != env.Documents[0].SHA256 {
				t.Fatalf("the digest of one document is %s, want its SHA-256 %s", c.Digest, env.Documents[0].SHA256)
			}
			want := passkey.SigningChallenge(digest, env.ID, rcp)
			if got := challengeOf(t, c.Options); !bytes.Equal(got, want[:]) {
				t.Fatalf("challenge %x, want SigningChallenge %x", got, want)
			}
			resp, err := a.Get(c.Options, rpOrigin)
			if err != nil {
				t.Fatal(err)
			}
			at := e.clock.Now()
			st, p, ss := e.finish(link, resp)
			if st != http.StatusOK {
				t.Fatalf("finish: %d %+v", st, p)
			}
			res := e.signAs(ss)
			if len(res.Signed) != tt.docs || !res.Completed {
				t.Fatalf("sign result %+v", res)
			}

			stored, err := e.users.PasskeysOf(context.Background(), tenant, u.ID)
			if err != nil || len(stored) != 1 {
				t.Fatalf("passkeys %v, %v", stored, err)
			}
			before := map[string]string{}
			for _, d := range c.Documents {
				before[d.DocumentID] = d.SHA256
			}
			final, err := e.wf.Envelope(context.Background(), sender, env.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range final.Documents {
				signed := e.blob(d.SHA256)
				prev := e.blob(before[d.DocumentID])
				if !bytes.HasPrefix(signed, prev) {
					t.Fatalf("document %s: the signed file does not extend the approved version", d.DocumentID)
				}
				// The recipient's signature is the one before the seal:
				// read it from the version the recipient made.
				var mine string
				for _, s := range e.audit.byType(auditlog.SignatureCreated) {
					if s.Details["document_id"] == d.DocumentID {
						mine = s.Subject.DocumentSHA256
					}
				}
				if !bytes.HasPrefix(signed, e.blob(mine)) {
					t.Fatalf("document %s: the sealed file does not extend the recipient's version", d.DocumentID)
				}
				ev := e.lastSignerEvidence(e.blob(mine))
				if !slices.Equal(ev.Methods, tt.methods) || ev.AssuranceLevel != tt.assurance || !ev.Time.Equal(at.Truncate(time.Second)) {
					t.Fatalf("evidence %v %s %v, want %v %s %v", ev.Methods, ev.AssuranceLevel, ev.Time, tt.methods, tt.assurance, at)
				}
				si := ev.SigningIntent
				if si == nil {
					t.Fatal("no signing intent in the signer certificate")
				}
				if si.DocumentSHA256 != digest || si.EnvelopeID != env.ID || si.SignerID != rcp || si.Challenge != want {
					t.Fatalf("signing intent %x %s %s %x", si.DocumentSHA256, si.EnvelopeID, si.SignerID, si.Challenge)
				}
				if err := passkey.VerifySigningEvidence(si.Assertion, stored[0].PublicKey, si.DocumentSHA256, env.ID, rcp); err != nil {
					t.Fatalf("the evidence does not verify offline: %v", err)
				}
				if tt.docs == 1 {
					// The intent names the exact bytes the signature
					// was made on.
					if sha256.Sum256(prev) != si.DocumentSHA256 {
						t.Fatal("the intent is not the SHA-256 of the signed version")
					}
				}
				// Not for another document, envelope or signer.
				if err := passkey.VerifySigningEvidence(si.Assertion, stored[0].PublicKey, sha256.Sum256([]byte("other")), env.ID, rcp); err == nil {
					t.Fatal("the evidence verifies for another document")
				}
			}

			// The audit log: the confirmation and each signature carry
			// the method, the time and the hash of the evidence.
			evs := e.audit.authEvents(rcp)
			if len(evs) != 1 || evs[0].Outcome != auditlog.OutcomeSuccess || evs[0].Details["method"] != "passkey" ||
				evs[0].Actor.AuthStrength != tt.assurance || !slices.Equal(evs[0].Actor.AuthMethods, tt.methods) {
				t.Fatalf("authentication events %+v", evs)
			}
			sigs := e.audit.byType(auditlog.SignatureCreated)
			if len(sigs) != tt.docs {
				t.Fatalf("%d signature.created events", len(sigs))
			}
			for _, s := range sigs {
				if s.Details["auth_method"] != "passkey" || s.Details["auth_time"] != at.UTC().Format(time.RFC3339) ||
					s.Details["intent_digest"] != c.Digest || len(s.Details["auth_evidence_sha256"]) != 64 ||
					s.Details["auth_evidence_sha256"] != evs[0].Details["evidence_sha256"] ||
					!slices.Equal(s.Actor.AuthMethods, tt.methods) || s.Actor.AuthStrength != tt.assurance {
					t.Fatalf("signature.created %+v %+v", s.Actor, s.Details)
				}
			}
		})
	}
}

// byType returns the recorded events of type typ.
func (c *countingLog) byType(typ auditlog.EventType) []auditlog.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []auditlog.Event
	for _, e := range c.events {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// mutateOptions rewrites WebAuthn options JSON with fn.
func mutateOptions(t testing.TB, b []byte, fn func(pk map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	fn(m["publicKey"].(map[string]any))
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPasskeyRefused: what the finish route refuses, each with a 401
// passkey-refused, no session and a failed or denied
// recipient.authenticated event: an assertion from another origin,
// another user's credential, an assertion without user verification, a
// ceremony used twice, an assertion replayed against a fresh ceremony
// (from an authenticator without a counter, so that only Signet's record
// of used assertions stops it), and an expired ceremony.
func TestPasskeyRefused(t *testing.T) {
	for _, tt := range []struct {
		name string
		run  func(e *env, link string, ann, bob *passkeytest.Authenticator) (int, api.Problem)
	}{
		{name: "another origin", run: func(e *env, link string, ann, _ *passkeytest.Authenticator) (int, api.Problem) {
			resp, err := ann.Get(e.begin(link).Options, "https://evil.example")
			if err != nil {
				e.t.Fatal(err)
			}
			st, p, _ := e.finish(link, resp)
			return st, p
		}},
		{name: "another user's credential", run: func(e *env, link string, _, bob *passkeytest.Authenticator) (int, api.Problem) {
			// Bob's authenticator answers the options without their
			// allow list, with his own passkey.
			opts := mutateOptions(e.t, e.begin(link).Options, func(pk map[string]any) { delete(pk, "allowCredentials") })
			resp, err := bob.Get(opts, rpOrigin)
			if err != nil {
				e.t.Fatal(err)
			}
			st, p, _ := e.finish(link, resp)
			return st, p
		}},
		{name: "no user verification", run: func(e *env, link string, ann, _ *passkeytest.Authenticator) (int, api.Problem) {
			ann.NoUserVerification = true
			resp, err := ann.Get(e.begin(link).Options, rpOrigin)
			if err != nil {
				e.t.Fatal(err)
			}
			st, p, _ := e.finish(link, resp)
			return st, p
		}},
		{name: "ceremony used twice", run: func(e *env, link string, ann, _ *passkeytest.Authenticator) (int, api.Problem) {
			resp, err := ann.Get(e.begin(link).Options, rpOrigin)
			if err != nil {
				e.t.Fatal(err)
			}
			if st, p, _ := e.finish(link, resp); st != http.StatusOK {
				e.t.Fatalf("first finish: %d %+v", st, p)
			}
			st, p, _ := e.finish(link, resp)
			return st, p
		}},
		{name: "assertion replayed against a fresh ceremony", run: func(e *env, link string, ann, _ *passkeytest.Authenticator) (int, api.Problem) {
			ann.NoCounter = true
			resp, err := ann.Get(e.begin(link).Options, rpOrigin)
			if err != nil {
				e.t.Fatal(err)
			}
			if st, p, _ := e.finish(link, resp); st != http.StatusOK {
				e.t.Fatalf("first finish: %d %+v", st, p)
			}
			// The same document version, envelope and recipient give the
			// same challenge: only the record of used assertions tells
			// the replay apart.
			e.begin(link)
			st, p, _ := e.finish(link, resp)
			return st, p
		}},
		{name: "expired ceremony", run: func(e *env, link string, ann, _ *passkeytest.Authenticator) (int, api.Problem) {
			resp, err := ann.Get(e.begin(link).Options, rpOrigin)
			if err != nil {
				e.t.Fatal(err)
			}
			e.clock.Advance(5*time.Minute + time.Second)
			st, p, _ := e.finish(link, resp)
			return st, p
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ann, bob := &passkeytest.Authenticator{}, &passkeytest.Authenticator{}
			e.user("ann@example.com", ann)
			e.user("bob@example.com", bob)
			env := e.sendDeed(1, false, passkeySigner("Ann", "ann@example.com", 1))
			link := e.link("ann@example.com", 1)
			sessionsBefore := e.audit.count(auditlog.RecipientAuthenticated, auditlog.OutcomeSuccess)
			st, p := tt.run(e, link, ann, bob)
			if st != http.StatusUnauthorized || p.Type != api.ProblemBase+"passkey-refused" {
				t.Fatalf("finish: %d %+v, want 401 passkey-refused", st, p)
			}
			evs := e.audit.authEvents(env.Recipients[0].ID)
			last := evs[len(evs)-1]
			if last.Outcome == auditlog.OutcomeSuccess || last.Details["method"] != "passkey" {
				t.Fatalf("last event %+v", last)
			}
			if n := e.audit.count(auditlog.RecipientAuthenticated, auditlog.OutcomeSuccess); n > sessionsBefore+1 {
				t.Fatalf("%d successful confirmations", n-sessionsBefore)
			}
			// Nothing is pending afterwards.
			s, err := e.store.AuthState(context.Background(), env.ID, env.Recipients[0].ID)
			if err != nil || len(s.Ceremony) != 0 {
				t.Fatalf("state after a refusal: %d ceremony bytes, %v", len(s.Ceremony), err)
			}
		})
	}
}

// TestPasskeyDocumentChanged: two passkey signers of one parallel group.
// Ann confirms, then Bob signs first, which makes a new version of the
// document: Ann's signature is refused with 409
// passkey-confirmation-outdated, nothing of hers is signed, and a fresh
// confirmation of the current version lets her sign it. A confirmation
// whose documents change between begin and finish is refused at finish.
func TestPasskeyDocumentChanged(t *testing.T) {
	e := newEnv(t)
	ann, bob := &passkeytest.Authenticator{}, &passkeytest.Authenticator{}
	e.user("ann@example.com", ann)
	e.user("bob@example.com", bob)
	env := e.sendDeed(1, false, passkeySigner("Ann", "ann@example.com", 1), passkeySigner("Bob", "bob@example.com", 1))
	annLink, bobLink := e.link("ann@example.com", 1), e.link("bob@example.com", 1)

	annSession := e.passkeySession(annLink, ann)
	if st, p := e.call("POST", "/v1/recipient/consent", "Session", annSession, map[string]bool{"consent": true}, nil); st != http.StatusOK {
		t.Fatalf("consent: %d %+v", st, p)
	}
	// Ann begins another confirmation, which Bob's signature overtakes.
	pending := e.begin(annLink)
	e.signAs(e.passkeySession(bobLink, bob))

	st, p := e.call("POST", "/v1/recipient/sign", "Session", annSession, nil, nil)
	if st != http.StatusConflict || p.Type != api.ProblemBase+"passkey-confirmation-outdated" || !strings.Contains(p.Detail, "confirm") {
		t.Fatalf("sign after the document changed: %d %+v", st, p)
	}
	if n := len(e.audit.byType(auditlog.SignatureCreated)); n != 1 {
		t.Fatalf("%d signatures, want Bob's only", n)
	}
	resp, err := ann.Get(pending.Options, rpOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if st, p, _ := e.finish(annLink, resp); st != http.StatusConflict || p.Type != api.ProblemBase+"passkey-confirmation-outdated" {
		t.Fatalf("finish of a confirmation begun before the change: %d %+v", st, p)
	}
	fresh := e.begin(annLink)
	cur, err := e.wf.Envelope(context.Background(), sender, env.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fresh.Digest == pending.Digest || fresh.Digest != cur.Documents[0].SHA256 {
		t.Fatalf("fresh digest %s, pending %s, current version %s", fresh.Digest, pending.Digest, cur.Documents[0].SHA256)
	}
	resp, err = ann.Get(fresh.Options, rpOrigin)
	if err != nil {
		t.Fatal(err)
	}
	st, p, annSession = e.finish(annLink, resp)
	if st != http.StatusOK {
		t.Fatalf("finish: %d %+v", st, p)
	}
	if res := e.signAs(annSession); !res.Completed {
		t.Fatalf("sign: %+v", res)
	}
}

// TestPasskeyUnavailable: a passkey recipient without a registered user,
// with a disabled one, or with one without a passkey is refused with a
// 403 passkey-unavailable (recorded as denied), and the code routes
// offer nothing weaker (401 passkey-required); a server without a
// relying party answers 503. A recipient of another level cannot use the
// passkey routes (409).
func TestPasskeyUnavailable(t *testing.T) {
	e := newEnv(t)
	e.user("nokey@example.com", nil)
	dis := e.user("gone@example.com", &passkeytest.Authenticator{})
	if _, err := e.users.DisableUser(context.Background(), tenant, dis.ID, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	env := e.sendDeed(1, false,
		passkeySigner("Nobody", "nobody@example.com", 1), passkeySigner("No Key", "nokey@example.com", 1),
		passkeySigner("Gone", "gone@example.com", 1), signer("Eve", "eve@example.com", 1))
	for i, tt := range []struct{ addr, detail, finish string }{
		{"nobody@example.com", "no registered user", "passkey-unavailable"},
		// Begin refused, nothing is pending to finish.
		{"nokey@example.com", "no passkey", "passkey-refused"},
		{"gone@example.com", "disabled", "passkey-unavailable"},
	} {
		link := e.link(tt.addr, 1)
		st, p := e.call("POST", "/v1/recipient/passkey/begin", "Link", link, nil, nil)
		if st != http.StatusForbidden || p.Type != api.ProblemBase+"passkey-unavailable" || !strings.Contains(p.Detail, tt.detail) {
			t.Fatalf("%s: begin %d %+v", tt.addr, st, p)
		}
		if st, p, _ := e.finish(link, []byte(`{"id":"x"}`)); st >= 500 || st < 400 || p.Type != api.ProblemBase+tt.finish {
			t.Fatalf("%s: finish %d %+v", tt.addr, st, p)
		}
		for _, path := range []string{"/v1/recipient/code", "/v1/recipient/verify"} {
			if st, p := e.call("POST", path, "Link", link, map[string]string{}, nil); st != http.StatusUnauthorized || p.Type != api.ProblemBase+"passkey-required" {
				t.Fatalf("%s: %s %d %+v", tt.addr, path, st, p)
			}
		}
		evs := e.audit.authEvents(env.Recipients[i].ID)
		if len(evs) == 0 || evs[0].Outcome != auditlog.OutcomeDenied {
			t.Fatalf("%s: events %+v", tt.addr, evs)
		}
	}
	if st, p := e.call("POST", "/v1/recipient/passkey/begin", "Link", e.link("eve@example.com", 1), nil, nil); st != http.StatusConflict || p.Type != api.ProblemBase+"not-a-passkey-recipient" {
		t.Fatalf("email_code recipient: begin %d %+v", st, p)
	}

	// A server without a relying party: 503, nothing weaker.
	// (The user directory stays, for TOTP recipients.)
	off := newEnvOptions(t, envOptions{adjust: func(cfg *signing.Config, _ *workflow.Config) { cfg.Passkeys = nil }})
	off.sendDeed(1, false, passkeySigner("Ann", "ann@example.com", 1))
	if st, p := off.call("POST", "/v1/recipient/passkey/begin", "Link", off.link("ann@example.com", 1), nil, nil); st != http.StatusServiceUnavailable {
		t.Fatalf("without passkeys: %d %+v", st, p)
	}
	bad := e.cfg
	bad.Users = nil
	if _, err := signing.New(bad, e.wf, e.notifier); err == nil {
		t.Fatal("a configuration with passkeys but no users was accepted")
	}
}

// TestHighAssuranceSigning: a high-assurance envelope's passkey signer
// consents and signs after the confirmation; once the tenant's step-up
// window has passed (the session is still valid), the authorizer asks
// for a new strong authentication (401 step-up-required) before consent
// or signature, and a fresh confirmation signs. An envelope whose signer
// has a weaker level is refused at creation.
func TestHighAssuranceSigning(t *testing.T) {
	e := newEnv(t)
	ann := &passkeytest.Authenticator{Synced: true}
	e.user("ann@example.com", ann)
	var b bytes.Buffer
	if err := pdf.WriteSample(&b, pdf.SampleOptions{Pages: 1, Title: "Deed"}); err != nil {
		t.Fatal(err)
	}
	d, err := e.wf.Upload(context.Background(), sender, "deed.pdf", &b)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.wf.CreateEnvelope(context.Background(), sender, workflow.CreateRequest{
		Subject: "Deed", Documents: []string{d.ID}, HighAssurance: true,
		Recipients: []workflow.RecipientInput{signer("Eve", "eve@example.com", 1)},
	})
	if !errors.Is(err, workflow.ErrHighAssuranceAuth) || !strings.Contains(err.Error(), `"email_code"`) {
		t.Fatalf("high-assurance envelope with an email_code signer: %v", err)
	}

	env := e.sendDeed(1, true, passkeySigner("Ann", "ann@example.com", 1))
	if !env.HighAssurance {
		t.Fatal("not high-assurance")
	}
	link := e.link("ann@example.com", 1)
	ss := e.passkeySession(link, ann)
	e.clock.Advance(authz.DefaultStepUpWindow + time.Second)
	for _, path := range []string{"/v1/recipient/consent", "/v1/recipient/sign"} {
		st, p := e.call("POST", path, "Session", ss, map[string]bool{"consent": true}, nil)
		if st != http.StatusUnauthorized || p.Type != api.ProblemBase+"step-up-required" {
			t.Fatalf("%s after the step-up window: %d %+v", path, st, p)
		}
	}
	if e.authz.count(authz.StepUpRequired) < 2 {
		t.Fatal("the authorizer was not asked")
	}
	// Reading stays allowed: it needs no step-up.
	if st, p := e.call("GET", "/v1/recipient/envelope", "Session", ss, nil, nil); st != http.StatusOK {
		t.Fatalf("view: %d %+v", st, p)
	}
	if res := e.signAs(e.passkeySession(link, ann)); !res.Completed {
		t.Fatalf("sign: %+v", res)
	}
	sig := e.audit.byType(auditlog.SignatureCreated)[0]
	if sig.Details["auth_method"] != "passkey" || sig.Actor.AuthStrength != "aal2" {
		t.Fatalf("signature.created %+v %+v", sig.Actor, sig.Details)
	}
}

// TestPasskeySecrets: while a confirmation is pending, its challenge is in
// no stored file (the ceremony is sealed); after it, neither the session
// token nor the link token is, and no log line holds either.
func TestPasskeySecrets(t *testing.T) {
	e := newEnv(t)
	ann := &passkeytest.Authenticator{}
	e.user("ann@example.com", ann)
	env := e.sendDeed(1, false, passkeySigner("Ann", "ann@example.com", 1))
	link := e.link("ann@example.com", 1)
	c := e.begin(link)
	ch := base64.RawURLEncoding.EncodeToString(challengeOf(t, c.Options))
	st, err := e.store.AuthState(context.Background(), env.ID, env.Recipients[0].ID)
	if err != nil || len(st.Ceremony) == 0 {
		t.Fatalf("no pending ceremony stored: %v", err)
	}
	if n := secretscan.Check(t, e.dir, ch); n == 0 {
		t.Fatal("no file scanned")
	}
	resp, err := ann.Get(c.Options, rpOrigin)
	if err != nil {
		t.Fatal(err)
	}
	code, p, ss := e.finish(link, resp)
	if code != http.StatusOK {
		t.Fatalf("finish: %d %+v", code, p)
	}
	e.signAs(ss)
	secretscan.Check(t, e.dir, ss, link)
	for _, s := range []string{ss, link} {
		if strings.Contains(e.logs.String(), s) {
			t.Fatal("a token is in the logs")
		}
	}
}

// TestPasskeyLockout: refused assertions count toward the recipient's
// lockout like wrong codes: after MaxFailures of them the recipient is
// locked out (429), even for a correct assertion, and the lockout is
// recorded.
func TestPasskeyLockout(t *testing.T) {
	e := newEnv(t)
	ann := &passkeytest.Authenticator{}
	e.user("ann@example.com", ann)
	env := e.sendDeed(1, false, passkeySigner("Ann", "ann@example.com", 1))
	link := e.link("ann@example.com", 1)
	for i := range signing.DefaultMaxFailures {
		resp, err := ann.Get(e.begin(link).Options, "https://evil.example")
		if err != nil {
			t.Fatal(err)
		}
		st, p, _ := e.finish(link, resp)
		want := http.StatusUnauthorized
		if i == signing.DefaultMaxFailures-1 {
			want = http.StatusTooManyRequests
		}
		if st != want {
			t.Fatalf("refusal %d: %d %+v, want %d", i+1, st, p, want)
		}
	}
	if st, p := e.call("POST", "/v1/recipient/passkey/begin", "Link", link, nil, nil); st != http.StatusTooManyRequests || p.Type != api.ProblemBase+"recipient-locked" {
		t.Fatalf("begin while locked out: %d %+v", st, p)
	}
	if n := e.audit.count(auditlog.RecipientLockedOut, ""); n != 1 {
		t.Fatalf("%d lockout events", n)
	}
	s, err := e.store.AuthState(context.Background(), env.ID, env.Recipients[0].ID)
	if err != nil || s.Lockouts != 1 || s.LockedUntil.IsZero() {
		t.Fatalf("state %+v, %v", s, err)
	}
}
