package passkey_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/passkey"
	"github.com/signet-pki/signet/internal/identity/passkey/passkeytest"
	identitysqlite "github.com/signet-pki/signet/internal/identity/sqlite"
	"github.com/signet-pki/signet/internal/sqldb"
)

const (
	rpID   = "signet.example"
	origin = "https://signet.example"
)

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

// fixture is a relying party over a real SQLite identity store, with a
// clock the test moves, and two active users of one tenant.
type fixture struct {
	svc      *passkey.Service
	store    identity.Store
	now      time.Time
	ann, bob identity.User
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	p, err := sqldb.OpenPool(t.Context(), filepath.Join(t.TempDir(), "signet.db"), nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	store, err := identitysqlite.New(t.Context(), p)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: store, now: t0}
	mk := func(id string) identity.User {
		u := identity.User{ID: id, Tenant: "t-1", Email: id + "@example.org", Name: "User " + id, Status: identity.StatusActive, CreatedAt: t0}
		if err := store.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	f.ann, f.bob = mk("u-ann"), mk("u-bob")
	f.svc, err = passkey.New(passkey.Config{RPID: rpID, RPName: "Signet", Origins: []string{origin}, Timeout: 5 * time.Minute},
		store, func() time.Time { return f.now })
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// sealed passes a ceremony through its binary form, as a caller keeping it
// in a session would.
func sealed(t *testing.T, c passkey.Ceremony) passkey.Ceremony {
	t.Helper()
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var out passkey.Ceremony
	if err := out.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) register(t *testing.T, u identity.User, a *passkeytest.Authenticator) identity.Passkey {
	t.Helper()
	opts, c, err := f.svc.BeginRegistration(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Create(opts, origin)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.FinishRegistration(t.Context(), u, sealed(t, c), "laptop", resp)
	if err != nil {
		t.Fatalf("finish registration: %v", err)
	}
	return p
}

func (f *fixture) login(t *testing.T, u identity.User, a *passkeytest.Authenticator) (passkey.Assertion, error) {
	t.Helper()
	opts, c, err := f.svc.BeginLogin(t.Context(), u)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Get(opts, origin)
	if err != nil {
		t.Fatal(err)
	}
	return f.svc.FinishLogin(t.Context(), u, sealed(t, c), resp)
}

func (f *fixture) stored(t *testing.T, credID []byte) identity.Passkey {
	t.Helper()
	p, err := f.store.PasskeyByCredentialID(t.Context(), credID)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// mutate decodes options or response JSON, applies fn to it and encodes it
// again.
func mutate(t *testing.T, b []byte, fn func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func publicKey(m map[string]any) map[string]any { return m["publicKey"].(map[string]any) }

func otherChallenge(m map[string]any) {
	publicKey(m)["challenge"] = base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
}

func TestRegisterAndLogin(t *testing.T) {
	f := newFixture(t)
	a := &passkeytest.Authenticator{AAGUID: [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}}
	p := f.register(t, f.ann, a)
	if !bytes.Equal(p.CredentialID, a.CredentialIDs()[0]) || p.Tenant != "t-1" || p.UserID != "u-ann" || p.Name != "laptop" ||
		p.AAGUID != a.AAGUID || p.SignCount != 0 || p.BackupEligible || !p.CreatedAt.Equal(t0) || len(p.PublicKey) == 0 {
		t.Fatalf("registered %+v", p)
	}
	if got := f.stored(t, p.CredentialID); got.Name != "laptop" || !bytes.Equal(got.PublicKey, p.PublicKey) ||
		strings.Join(got.Transports, " ") != "internal hybrid" {
		t.Fatalf("stored %+v", got)
	}

	for i := 1; i <= 3; i++ {
		f.now = f.now.Add(time.Minute)
		as, err := f.login(t, f.ann, a)
		if err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
		if !bytes.Equal(as.CredentialID, p.CredentialID) || !as.UserVerified || !as.Time.Equal(f.now) ||
			!bytes.Equal(as.UserHandle, passkey.UserHandle("t-1", "u-ann")) || len(as.Challenge) != 32 {
			t.Fatalf("assertion %+v", as)
		}
		s := f.stored(t, p.CredentialID)
		if s.SignCount != uint32(i) || !s.LastUsedAt.Equal(f.now) {
			t.Fatalf("after login %d: count %d, last used %v", i, s.SignCount, s.LastUsedAt)
		}
		ev, err := as.Evidence()
		if err != nil {
			t.Fatal(err)
		}
		if err := passkey.VerifyEvidence(ev, p.PublicKey); err != nil {
			t.Fatalf("evidence of login %d: %v", i, err)
		}
	}
}

func TestSyncedPasskeyFlags(t *testing.T) {
	f := newFixture(t)
	a := &passkeytest.Authenticator{Synced: true, NoCounter: true}
	p := f.register(t, f.ann, a)
	if !p.BackupEligible || !p.BackupState {
		t.Fatalf("flags of a synced passkey: %+v", p)
	}
	// Without a counter, logins keep working with a count of zero.
	for range 2 {
		as, err := f.login(t, f.ann, a)
		if err != nil {
			t.Fatal(err)
		}
		if !as.BackupEligible || !as.BackupState || !as.UserVerified {
			t.Fatalf("assertion flags %+v", as)
		}
	}
	if s := f.stored(t, p.CredentialID); s.SignCount != 0 || s.LastUsedAt.IsZero() {
		t.Fatalf("stored %+v", s)
	}
}

// TestRegistrationRefused: every broken registration fails with the
// expected error and stores nothing.
func TestRegistrationRefused(t *testing.T) {
	for _, c := range []struct {
		name   string
		auth   *passkeytest.Authenticator
		origin string
		opts   func(map[string]any)
		as     func(f *fixture) identity.User
		kind   func(t *testing.T, f *fixture) passkey.Ceremony
		wait   time.Duration
		want   error
	}{
		{name: "wrong origin", origin: "https://evil.example", want: passkey.ErrRefused},
		{name: "sub-site not configured", origin: "https://www.signet.example", want: passkey.ErrRefused},
		{name: "wrong RP ID", auth: &passkeytest.Authenticator{HashedRPID: "evil.example"}, want: passkey.ErrRefused},
		{name: "wrong challenge", opts: otherChallenge, want: passkey.ErrRefused},
		{name: "no user verification", auth: &passkeytest.Authenticator{NoUserVerification: true}, want: passkey.ErrRefused},
		{name: "expired", wait: 5 * time.Minute, want: passkey.ErrExpired},
		{name: "another user's ceremony", as: func(f *fixture) identity.User { return f.bob }, want: passkey.ErrCeremony},
		{name: "a login ceremony", kind: func(t *testing.T, f *fixture) passkey.Ceremony {
			f.register(t, f.ann, &passkeytest.Authenticator{})
			_, c, err := f.svc.BeginLogin(t.Context(), f.ann)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}, want: passkey.ErrCeremony},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			var swapped passkey.Ceremony
			if c.kind != nil {
				swapped = c.kind(t, f)
			}
			before, _ := f.store.PasskeysOf(t.Context(), "t-1", "u-ann")
			opts, cer, err := f.svc.BeginRegistration(t.Context(), f.ann)
			if err != nil {
				t.Fatal(err)
			}
			if c.kind != nil {
				cer = swapped
			}
			if c.opts != nil {
				opts = mutate(t, opts, c.opts)
			}
			o := origin
			if c.origin != "" {
				o = c.origin
			}
			auth := c.auth
			if auth == nil {
				auth = &passkeytest.Authenticator{}
			}
			resp, err := auth.Create(opts, o)
			if err != nil {
				t.Fatal(err)
			}
			f.now = f.now.Add(c.wait)
			u := f.ann
			if c.as != nil {
				u = c.as(f)
			}
			_, err = f.svc.FinishRegistration(t.Context(), u, cer, "key", resp)
			t.Log(err)
			if !errors.Is(err, c.want) {
				t.Fatalf("finish: %v, want %v", err, c.want)
			}
			for _, id := range []string{"u-ann", "u-bob"} {
				if ps, _ := f.store.PasskeysOf(t.Context(), "t-1", id); id == "u-ann" && len(ps) != len(before) || id == "u-bob" && len(ps) != 0 {
					t.Fatalf("%s has %d passkeys after a refused registration", id, len(ps))
				}
			}
		})
	}
}

// TestLoginRefused: every broken login fails with the expected error and
// leaves the stored counter as it was.
func TestLoginRefused(t *testing.T) {
	for _, c := range []struct {
		name   string
		origin string
		opts   func(map[string]any)
		setup  func(f *fixture, a, bobs *passkeytest.Authenticator) *passkeytest.Authenticator
		as     func(f *fixture) identity.User
		wait   time.Duration
		want   error
	}{
		{name: "wrong origin", origin: "https://evil.example", want: passkey.ErrRefused},
		{name: "http origin", origin: "http://signet.example", want: passkey.ErrRefused},
		{name: "wrong RP ID", setup: func(_ *fixture, a, _ *passkeytest.Authenticator) *passkeytest.Authenticator {
			a.HashedRPID = "evil.example"
			return a
		}, want: passkey.ErrRefused},
		{name: "wrong challenge", opts: otherChallenge, want: passkey.ErrRefused},
		{name: "no user verification", setup: func(_ *fixture, a, _ *passkeytest.Authenticator) *passkeytest.Authenticator {
			a.NoUserVerification = true
			return a
		}, want: passkey.ErrRefused},
		{name: "expired", wait: 5 * time.Minute, want: passkey.ErrExpired},
		{name: "another user's credential", opts: func(m map[string]any) { delete(publicKey(m), "allowCredentials") },
			setup: func(_ *fixture, _, bobs *passkeytest.Authenticator) *passkeytest.Authenticator { return bobs },
			want:  passkey.ErrRefused},
		{name: "another user's ceremony", as: func(f *fixture) identity.User { return f.bob }, want: passkey.ErrCeremony},
		{name: "disabled user", setup: func(f *fixture, a, _ *passkeytest.Authenticator) *passkeytest.Authenticator {
			f.ann.Status, f.ann.DisabledAt = identity.StatusDisabled, t0
			return a
		}, want: passkey.ErrUser},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			a, bobs := &passkeytest.Authenticator{}, &passkeytest.Authenticator{}
			p := f.register(t, f.ann, a)
			f.register(t, f.bob, bobs)
			if _, err := f.login(t, f.ann, a); err != nil {
				t.Fatal(err)
			}
			opts, cer, err := f.svc.BeginLogin(t.Context(), f.ann)
			if err != nil {
				t.Fatal(err)
			}
			if c.opts != nil {
				opts = mutate(t, opts, c.opts)
			}
			signer := a
			if c.setup != nil {
				signer = c.setup(f, a, bobs)
			}
			o := origin
			if c.origin != "" {
				o = c.origin
			}
			resp, err := signer.Get(opts, o)
			if err != nil {
				t.Fatal(err)
			}
			f.now = f.now.Add(c.wait)
			u := f.ann
			if c.as != nil {
				u = c.as(f)
			}
			_, err = f.svc.FinishLogin(t.Context(), u, cer, resp)
			t.Log(err)
			if !errors.Is(err, c.want) {
				t.Fatalf("finish: %v, want %v", err, c.want)
			}
			if s := f.stored(t, p.CredentialID); s.SignCount != 1 {
				t.Fatalf("count %d after a refused login, want 1", s.SignCount)
			}
		})
	}
}

// TestReplayAndClone: a replayed response and a cloned authenticator's
// assertion carry a counter that does not increase, and are refused.
func TestReplayAndClone(t *testing.T) {
	f := newFixture(t)
	a := &passkeytest.Authenticator{}
	p := f.register(t, f.ann, a)

	opts, c, err := f.svc.BeginLogin(t.Context(), f.ann)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := a.Get(opts, origin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishLogin(t.Context(), f.ann, c, resp); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishLogin(t.Context(), f.ann, c, resp); !errors.Is(err, passkey.ErrCloned) {
		t.Fatalf("replayed response: %v, want ErrCloned", err)
	}

	clone := a.Clone()
	if _, err := f.login(t, f.ann, a); err != nil { // the original moves to 2
		t.Fatal(err)
	}
	if _, err := f.login(t, f.ann, clone); !errors.Is(err, passkey.ErrCloned) { // the clone signs 2 again
		t.Fatalf("cloned authenticator: %v, want ErrCloned", err)
	}
	if s := f.stored(t, p.CredentialID); s.SignCount != 2 {
		t.Fatalf("count %d, want 2", s.SignCount)
	}
}

func TestExclusionAndLimits(t *testing.T) {
	f := newFixture(t)
	a := &passkeytest.Authenticator{}
	f.register(t, f.ann, a)
	opts, _, err := f.svc.BeginRegistration(t.Context(), f.ann)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Create(opts, origin); err == nil {
		t.Fatal("the authenticator registered a second credential despite the exclude list")
	}
	if _, _, err := f.svc.BeginLogin(t.Context(), f.bob); !errors.Is(err, passkey.ErrNoPasskey) {
		t.Fatalf("login without a passkey: %v", err)
	}
	_, c, err := f.svc.BeginLogin(t.Context(), f.ann)
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte(" "), passkey.MaxResponse+1)
	if _, err := f.svc.FinishLogin(t.Context(), f.ann, c, big); !errors.Is(err, passkey.ErrRefused) {
		t.Fatalf("oversized response: %v", err)
	}
	if _, err := f.svc.FinishLogin(t.Context(), f.ann, c, []byte(`{"id":`)); !errors.Is(err, passkey.ErrRefused) {
		t.Fatalf("malformed response: %v", err)
	}
	if _, err := f.svc.FinishLogin(t.Context(), f.ann, passkey.Ceremony{}, nil); !errors.Is(err, passkey.ErrCeremony) {
		t.Fatalf("zero ceremony: %v", err)
	}
}

func TestNewNamesTheBadField(t *testing.T) {
	good := passkey.Config{RPID: rpID, RPName: "Signet", Origins: []string{origin}}
	for _, c := range []struct {
		field string
		mut   func(*passkey.Config)
	}{
		{"RPID", func(c *passkey.Config) { c.RPID = "" }},
		{"RPID", func(c *passkey.Config) { c.RPID = "https://signet.example" }},
		{"RPID", func(c *passkey.Config) { c.RPID = "Signet.Example" }},
		{"RPName", func(c *passkey.Config) { c.RPName = "" }},
		{"RPName", func(c *passkey.Config) { c.RPName = strings.Repeat("n", 201) }},
		{"Origins", func(c *passkey.Config) { c.Origins = nil }},
		{"Origins", func(c *passkey.Config) { c.Origins = []string{"http://signet.example"} }},
		{"Origins", func(c *passkey.Config) { c.Origins = []string{"https://signet.example.evil.example"} }},
		{"Origins", func(c *passkey.Config) { c.Origins = []string{"https://signet.example/login"} }},
		{"Origins", func(c *passkey.Config) { c.Origins = []string{"signet.example"} }},
		{"Timeout", func(c *passkey.Config) { c.Timeout = -time.Second }},
		{"Timeout", func(c *passkey.Config) { c.Timeout = time.Hour }},
	} {
		cfg := good
		cfg.Origins = append([]string(nil), good.Origins...)
		c.mut(&cfg)
		_, err := passkey.New(cfg, nopStore{}, nil)
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%+v: %v, want an error naming %s", cfg, err, c.field)
		}
	}
	for _, o := range []string{"https://signet.example", "https://app.signet.example:8443", "http://localhost:8080"} {
		cfg := good
		cfg.Origins = []string{o}
		if o == "http://localhost:8080" {
			cfg.RPID = "localhost"
		}
		if _, err := passkey.New(cfg, nopStore{}, nil); err != nil {
			t.Errorf("origin %s: %v", o, err)
		}
	}
}

// nopStore is a store New accepts; the configuration tests never reach it.
type nopStore struct{ identity.Passkeys }

func TestSigning(t *testing.T) {
	f := newFixture(t)
	a := &passkeytest.Authenticator{}
	p := f.register(t, f.ann, a)
	docA := [32]byte{0xaa}
	docB := [32]byte{0xbb}

	opts, c, err := f.svc.BeginSigning(t.Context(), f.ann, docA, "env-1", "rcp-1")
	if err != nil {
		t.Fatal(err)
	}
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(opts, &o); err != nil {
		t.Fatal(err)
	}
	want := passkey.SigningChallenge(docA, "env-1", "rcp-1")
	if o.PublicKey.Challenge != base64.RawURLEncoding.EncodeToString(want[:]) {
		t.Fatalf("options challenge %s is not the document's", o.PublicKey.Challenge)
	}
	if d, e, s, ok := sealed(t, c).Signing(); !ok || d != docA || e != "env-1" || s != "rcp-1" {
		t.Fatalf("ceremony binds %x %s %s %v", d, e, s, ok)
	}
	resp, err := a.Get(opts, origin)
	if err != nil {
		t.Fatal(err)
	}
	as, err := f.svc.FinishSigning(t.Context(), f.ann, sealed(t, c), resp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(as.Challenge, want[:]) {
		t.Fatal("assertion challenge is not the document's")
	}
	ev, err := as.Evidence()
	if err != nil {
		t.Fatal(err)
	}
	if err := passkey.VerifyEvidence(ev, p.PublicKey); err != nil {
		t.Fatal(err)
	}
	if err := passkey.VerifySigningEvidence(ev, p.PublicKey, docA, "env-1", "rcp-1"); err != nil {
		t.Fatal(err)
	}
	for _, other := range []struct {
		doc      [32]byte
		env, sig string
	}{{docB, "env-1", "rcp-1"}, {docA, "env-2", "rcp-1"}, {docA, "env-1", "rcp-2"}} {
		if err := passkey.VerifySigningEvidence(ev, p.PublicKey, other.doc, other.env, other.sig); !errors.Is(err, passkey.ErrEvidence) {
			t.Errorf("evidence for document A verified for %x/%s/%s: %v", other.doc[:1], other.env, other.sig, err)
		}
	}
	// Login evidence approves no document.
	login, err := f.login(t, f.ann, a)
	if err != nil {
		t.Fatal(err)
	}
	lev, err := login.Evidence()
	if err != nil {
		t.Fatal(err)
	}
	if err := passkey.VerifySigningEvidence(lev, p.PublicKey, docA, "env-1", "rcp-1"); !errors.Is(err, passkey.ErrEvidence) {
		t.Fatalf("login evidence verified as a signature: %v", err)
	}

	// An assertion made for document A does not finish the signing of B,
	// nor of A in another envelope or by another signer.
	for _, other := range []struct {
		doc      [32]byte
		env, sig string
	}{{docB, "env-1", "rcp-1"}, {docA, "env-2", "rcp-1"}, {docA, "env-1", "rcp-2"}} {
		optsA, _, err := f.svc.BeginSigning(t.Context(), f.ann, docA, "env-1", "rcp-1")
		if err != nil {
			t.Fatal(err)
		}
		_, cOther, err := f.svc.BeginSigning(t.Context(), f.ann, other.doc, other.env, other.sig)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := a.Get(optsA, origin)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.FinishSigning(t.Context(), f.ann, cOther, resp); !errors.Is(err, passkey.ErrRefused) {
			t.Fatalf("assertion for document A accepted for %x/%s/%s: %v", other.doc[:1], other.env, other.sig, err)
		}
	}

	// A login ceremony does not finish a signing, nor the reverse.
	optsL, cL, err := f.svc.BeginLogin(t.Context(), f.ann)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = a.Get(optsL, origin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.FinishSigning(t.Context(), f.ann, cL, resp); !errors.Is(err, passkey.ErrCeremony) {
		t.Fatalf("login ceremony finished a signing: %v", err)
	}
	if _, err := f.svc.FinishLogin(t.Context(), f.ann, c, resp); !errors.Is(err, passkey.ErrCeremony) {
		t.Fatalf("signing ceremony finished a login: %v", err)
	}

	// A ceremony whose document was changed in storage no longer matches
	// its challenge.
	b, err := c.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, docA[:])
	if i < 0 {
		t.Fatal("document not found in the ceremony")
	}
	b[i] = 0xbb
	var tampered passkey.Ceremony
	if err := tampered.UnmarshalBinary(b); !errors.Is(err, passkey.ErrCeremony) {
		t.Fatalf("ceremony with another document: %v", err)
	}

	if _, _, err := f.svc.BeginSigning(t.Context(), f.ann, docA, "", "rcp-1"); err == nil {
		t.Fatal("signing without an envelope id")
	}
}

func TestSigningChallengeVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/signing-challenge.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			Note, DocumentSHA256, EnvelopeID, SignerID, Challenge string
		}
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	// encoding/json matches keys case-insensitively but not across "_".
	var raw struct {
		Vectors []map[string]string `json:"vectors"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Vectors) < 5 {
		t.Fatalf("%d vectors", len(raw.Vectors))
	}
	seen := map[[32]byte]bool{}
	for _, v := range raw.Vectors {
		d, err := hex.DecodeString(v["document_sha256"])
		if err != nil || len(d) != 32 {
			t.Fatalf("%s: document %q", v["note"], v["document_sha256"])
		}
		got := passkey.SigningChallenge([32]byte(d), v["envelope_id"], v["signer_id"])
		if hex.EncodeToString(got[:]) != v["challenge"] {
			t.Errorf("%s: %x, want %s", v["note"], got, v["challenge"])
		}
		if seen[got] {
			t.Errorf("%s: the same challenge twice", v["note"])
		}
		seen[got] = true
	}
}
