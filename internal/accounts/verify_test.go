package accounts_test

import (
	"bytes"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/api"
)

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// TestVerifyCredential: every refusal of a known credential (revoked,
// expired, rotated out after its overlap, from an address outside the
// allow-list, a token of a revoked key or past its expiry) is the same
// unauthorized error, recorded as apikey.refused with its reason and
// without the credential; unknown and malformed credentials are refused
// without a record; valid ones authenticate as their key's service
// account, a narrowed token with fewer actions.
func TestVerifyCredential(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a := f.tenant(t, "A")
	start := f.clock.Now()
	admin := api.Principal{Kind: api.PrincipalUser, ID: "u-admin", Tenant: a}
	actx := api.WithAuthorizer(api.WithPrincipal(ctx, admin), allowAll{})
	exp := start.Add(2 * time.Hour)
	type cred struct {
		secret string
		key    accounts.APIKey
	}
	mk := func(in accounts.CreateKeyRequest) cred {
		s, k := f.provision(t, a, in)
		return cred{s, k}
	}
	good := mk(accounts.CreateKeyRequest{Name: "good", Roles: []string{"sender", "approver"}, Actions: []string{"document.read", "envelope.read", "envelope.send"}})
	revoked := mk(accounts.CreateKeyRequest{Name: "revoked", Roles: []string{"sender"}})
	expiring := mk(accounts.CreateKeyRequest{Name: "expiring", Roles: []string{"sender"}, ExpiresAt: &exp})
	rotated := mk(accounts.CreateKeyRequest{Name: "rotated", Roles: []string{"sender"}})
	rotatedNow := mk(accounts.CreateKeyRequest{Name: "rotated at once", Roles: []string{"sender"}})
	fenced := mk(accounts.CreateKeyRequest{Name: "fenced", Roles: []string{"sender"}, AllowedIPs: []string{"192.0.2.0/24", "2001:db8::/32"}})
	tokenKey := mk(accounts.CreateKeyRequest{Name: "tokens", Roles: []string{"sender"}})
	otherNode := mk(accounts.CreateKeyRequest{Name: "revoked elsewhere", Roles: []string{"sender"}})
	fresh := mk(accounts.CreateKeyRequest{Name: "fresh", Roles: []string{"sender"}})

	if err := f.svc.RevokeKey(actx, admin, auditlog.Request{}, revoked.key.ID); err != nil {
		t.Fatal(err)
	}
	hour := 3600
	replacement, _, err := f.svc.RotateKey(actx, admin, auditlog.Request{}, rotated.key.ID, accounts.RotateKeyRequest{OverlapSeconds: &hour})
	if err != nil {
		t.Fatal(err)
	}
	zero := 0
	if _, _, err := f.svc.RotateKey(actx, admin, auditlog.Request{}, rotatedNow.key.ID, accounts.RotateKeyRequest{OverlapSeconds: &zero}); err != nil {
		t.Fatal(err)
	}
	exchange := func(c cred, in accounts.TokenRequest) string {
		t.Helper()
		tok, _, err := f.svc.ExchangeToken(ctx, c.secret, addr("192.0.2.10"), auditlog.Request{}, in)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	narrowTok := exchange(good, accounts.TokenRequest{Actions: []string{"envelope.read"}})
	shortTok := exchange(good, accounts.TokenRequest{ExpiresIn: 60})
	fullTok := exchange(good, accounts.TokenRequest{})
	revokedTok := exchange(tokenKey, accounts.TokenRequest{})
	if err := f.svc.RevokeKey(actx, admin, auditlog.Request{}, tokenKey.key.ID); err != nil {
		t.Fatal(err)
	}
	// A key revoked in the store alone (its tokens not deleted, as if a
	// node died halfway): its tokens are refused all the same.
	otherTok := exchange(otherNode, accounts.TokenRequest{})
	if err := f.store.RevokeKey(ctx, a, otherNode.key.ID, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	// A token of the replacement works; a token of the replaced key dies
	// with the overlap.
	rotOldTok := exchange(rotated, accounts.TokenRequest{})

	// Ninety minutes on: the overlap of "rotated" has ended, "expiring"
	// still works, the 60-second token has expired.
	f.clock.Advance(90 * time.Minute)
	// A fresh token of good, after the clock moved.
	freshTok := exchange(fresh, accounts.TokenRequest{})
	fencedTok := exchange(fenced, accounts.TokenRequest{})
	rotTok := exchange(cred{replacement, accounts.APIKey{}}, accounts.TokenRequest{})

	inside, outside, outside6 := addr("192.0.2.77"), addr("198.51.100.1"), addr("2001:db9::1")
	v := f.svc.Verifier()
	tests := []struct {
		name, secret string
		remote       netip.Addr
		at           time.Duration // further clock advance before the check
		wantID       string
		wantActions  []string
		reason       string // recorded refusal; "" for none
	}{
		{"valid key", good.secret, outside, 0, good.key.ID, good.key.Actions, ""},
		{"revoked", revoked.secret, inside, 0, "", nil, "revoked"},
		{"not yet expired", expiring.secret, inside, 0, expiring.key.ID, expiring.key.Actions, ""},
		{"rotated out after the overlap", rotated.secret, inside, 0, "", nil, "rotated out"},
		{"rotated with no overlap", rotatedNow.secret, inside, 0, "", nil, "rotated out"},
		{"replacement", replacement, inside, 0, "", nil, ""},
		{"allowed address", fenced.secret, inside, 0, fenced.key.ID, fenced.key.Actions, ""},
		{"allowed IPv6 address", fenced.secret, addr("2001:db8::5"), 0, fenced.key.ID, fenced.key.Actions, ""},
		{"IPv4-mapped allowed address", fenced.secret, addr("::ffff:192.0.2.9"), 0, fenced.key.ID, fenced.key.Actions, ""},
		{"address outside the allow-list", fenced.secret, outside, 0, "", nil, "address not allowed"},
		{"IPv6 address outside the allow-list", fenced.secret, outside6, 0, "", nil, "address not allowed"},
		{"no address with an allow-list", fenced.secret, netip.Addr{}, 0, "", nil, "address not allowed"},
		{"token from outside the key's allow-list", fencedTok, outside, 0, "", nil, "address not allowed"},
		{"token from inside the key's allow-list", fencedTok, inside, 0, fenced.key.ID, fenced.key.Actions, ""},
		{"token after its key was revoked", revokedTok, inside, 0, "", nil, ""},
		{"token of a key revoked in the store", otherTok, inside, 0, "", nil, "revoked"},
		{"token past its expiry", shortTok, inside, 0, "", nil, "token expired"},
		{"token of the replacement", rotTok, inside, 0, "", nil, ""},
		{"token of a key rotated out", rotOldTok, inside, 0, "", nil, "rotated out"},
		{"narrowed token past its expiry", narrowTok, inside, 0, "", nil, "token expired"},
		{"fresh token", freshTok, inside, 0, fresh.key.ID, fresh.key.Actions, ""},
		{"full token expired", fullTok, inside, 0, "", nil, "token expired"},
		{"unknown key", accounts.KeyPrefix + strings.Repeat("A", 43), inside, 0, "", nil, ""},
		{"unknown token", accounts.TokenPrefix + strings.Repeat("A", 43), inside, 0, "", nil, ""},
		{"malformed", good.secret[:len(good.secret)-1], inside, 0, "", nil, ""},
		{"not base64url", accounts.KeyPrefix + strings.Repeat("+", 43), inside, 0, "", nil, ""},
		{"token prefix on a key", accounts.TokenPrefix + good.secret[len(accounts.KeyPrefix):], inside, 0, "", nil, ""},
		{"empty", "", inside, 0, "", nil, ""},
		{"expired", expiring.secret, inside, time.Hour, "", nil, "expired"},
	}
	// The replacement works (its own row) and a token of it too: fill in.
	var repl accounts.APIKey
	if k, err := f.store.KeyByHash(ctx, accounts.HashSecret(replacement)); err == nil {
		repl = k
	} else {
		t.Fatal(err)
	}
	for i := range tests {
		switch tests[i].name {
		case "replacement":
			tests[i].wantID, tests[i].wantActions = repl.ID, repl.Actions
		case "token of the replacement":
			tests[i].wantID, tests[i].wantActions = repl.ID, repl.Actions
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.clock.Advance(tc.at)
			before, _ := f.recorded(t)
			p, err := v.VerifyCredential(ctx, tc.secret, tc.remote)
			after, leaves := f.recorded(t)
			if tc.wantID == "" {
				if !errors.Is(err, api.ErrUnauthorized) || p.ID != "" {
					t.Fatalf("principal %+v, error %v; want unauthorized", p, err)
				}
				var e *api.Error
				if !errors.As(err, &e) || e.Detail != "a valid API key is required" {
					t.Fatalf("refusal %v differs from the others", err)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if p.Kind != api.PrincipalAPIKey || p.ID != tc.wantID || p.Tenant != a || p.Platform ||
					!slices.Equal(p.Actions, tc.wantActions) || p.GrantedBy != "platform" || p.GrantedAt.IsZero() {
					t.Fatalf("principal %+v, want %s with %v", p, tc.wantID, tc.wantActions)
				}
			}
			added := after[len(before):]
			if tc.reason == "" {
				for _, e := range added {
					if e.Type == string(auditlog.APIKeyRefused) {
						t.Fatalf("unexpected refusal recorded: %+v", e)
					}
				}
				return
			}
			if len(added) != 1 || added[0].Type != string(auditlog.APIKeyRefused) || added[0].Reason != tc.reason || added[0].Outcome != "denied" || added[0].Tenant != a {
				t.Fatalf("recorded %+v, want one apikey.refused for %q", added, tc.reason)
			}
			for _, form := range [][]byte{[]byte(tc.secret), []byte(tc.secret[3:])} {
				if bytes.Contains(leaves[len(leaves)-1], form) {
					t.Fatal("the refusal event holds the credential")
				}
			}
		})
	}
	// The narrowed token acts with fewer actions than its key while it
	// lives: check it on a fresh one.
	t.Run("narrowed token while valid", func(t *testing.T) {
		tok := exchange(good, accounts.TokenRequest{Actions: []string{"envelope.send", "document.read"}})
		p, err := v.VerifyCredential(ctx, tok, inside)
		if err != nil {
			t.Fatal(err)
		}
		if p.ID != good.key.ID || !slices.Equal(p.Actions, []string{"document.read", "envelope.send"}) ||
			!slices.Equal(p.Roles, good.key.Roles) || !slices.Equal(p.AuthMethods, []string{"access-token"}) {
			t.Fatalf("narrowed principal %+v", p)
		}
		full, _ := v.VerifyCredential(ctx, good.secret, inside)
		if len(p.Actions) >= len(full.Actions) {
			t.Fatalf("token actions %v not fewer than the key's %v", p.Actions, full.Actions)
		}
	})
	t.Run("store unavailable", func(t *testing.T) {
		f.pool.Close()
		_, err := v.VerifyCredential(ctx, good.secret, inside)
		if err == nil || errors.Is(err, api.ErrUnauthorized) {
			t.Fatalf("error %v, want a failure that is not a refusal", err)
		}
	})
}

// TestRotationOverlap: with a moving clock, after a rotation both secrets
// work until the overlap ends, then only the new one; the new key keeps
// the old one's binding and lifetime; a replaced key is not rotated again.
func TestRotationOverlap(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a := f.tenant(t, "A")
	exp := f.clock.Now().Add(30 * 24 * time.Hour)
	oldSecret, old := f.provision(t, a, accounts.CreateKeyRequest{Name: "ci", Roles: []string{"sender"}, Actions: []string{"envelope.read"},
		AllowedIPs: []string{"192.0.2.0/24"}, ExpiresAt: &exp})
	admin := api.Principal{Kind: api.PrincipalUser, ID: "u-admin", Tenant: a}
	actx := api.WithAuthorizer(api.WithPrincipal(ctx, admin), allowAll{})
	f.clock.Advance(24 * time.Hour)
	overlap := 2 * 3600
	newSecret, next, err := f.svc.RotateKey(actx, admin, auditlog.Request{}, old.ID, accounts.RotateKeyRequest{OverlapSeconds: &overlap})
	if err != nil {
		t.Fatal(err)
	}
	if next.ID == old.ID || newSecret == oldSecret || next.Name != old.Name || !slices.Equal(next.Roles, old.Roles) ||
		!slices.Equal(next.Actions, old.Actions) || !slices.Equal(next.AllowedIPs, old.AllowedIPs) ||
		next.ExpiresAt == nil || !next.ExpiresAt.Equal(f.clock.Now().Add(30*24*time.Hour)) {
		t.Fatalf("replacement %+v of %+v", next, old)
	}
	v := f.svc.Verifier()
	from := addr("192.0.2.1")
	works := func(secret string) bool {
		_, err := v.VerifyCredential(ctx, secret, from)
		return err == nil
	}
	for _, step := range []struct {
		advance  time.Duration
		old, new bool
	}{
		{0, true, true},
		{time.Hour, true, true},
		{time.Hour - time.Second, true, true},
		{time.Second, false, true}, // the overlap ends exactly now
		{24 * time.Hour, false, true},
	} {
		f.clock.Advance(step.advance)
		if got := works(oldSecret); got != step.old {
			t.Errorf("at %v: old secret works %v, want %v", f.clock.Now(), got, step.old)
		}
		if got := works(newSecret); got != step.new {
			t.Errorf("at %v: new secret works %v, want %v", f.clock.Now(), got, step.new)
		}
	}
	if _, _, err := f.svc.RotateKey(actx, admin, auditlog.Request{}, old.ID, accounts.RotateKeyRequest{}); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("rotating a replaced key: %v, want conflict", err)
	}
	for _, o := range []int{-1, 604801} {
		if _, _, err := f.svc.RotateKey(actx, admin, auditlog.Request{}, next.ID, accounts.RotateKeyRequest{OverlapSeconds: &o}); !errors.Is(err, &api.Error{Kind: api.KindInvalid}) {
			t.Errorf("overlap %d: %v, want invalid", o, err)
		}
	}
	// The default overlap is a day.
	_, third, err := f.svc.RotateKey(actx, admin, auditlog.Request{}, next.ID, accounts.RotateKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := f.store.Key(ctx, a, next.ID); k.ReplacedBy != third.ID || k.OverlapEndsAt == nil || !k.OverlapEndsAt.Equal(f.clock.Now().Add(24*time.Hour)) {
		t.Fatalf("replaced key %+v", k)
	}
	evs, _ := f.recorded(t)
	rotations := 0
	for _, e := range evs {
		if e.Type == string(auditlog.APIKeyRotated) {
			rotations++
		}
	}
	if rotations != 2 {
		t.Errorf("%d rotations recorded, want 2", rotations)
	}
}

// TestLastUsedAt: a key's last use is written when it authenticates, at
// most once per minute.
func TestLastUsedAt(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a := f.tenant(t, "A")
	secret, k := f.provision(t, a, accounts.CreateKeyRequest{Name: "ci", Roles: []string{"sender"}})
	v := f.svc.Verifier()
	last := func() *time.Time {
		got, err := f.store.Key(ctx, a, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.LastUsedAt
	}
	if last() != nil {
		t.Fatal("a new key has a last use")
	}
	first := f.clock.Now()
	for _, step := range []struct {
		advance time.Duration
		want    time.Time
	}{
		{0, first},
		{30 * time.Second, first},
		{29 * time.Second, first},
		{time.Second, first.Add(time.Minute)},
		{59 * time.Second, first.Add(time.Minute)},
		{time.Hour, first.Add(time.Hour + 119*time.Second)},
	} {
		f.clock.Advance(step.advance)
		if _, err := v.VerifyCredential(ctx, secret, netip.Addr{}); err != nil {
			t.Fatal(err)
		}
		if got := last(); got == nil || !got.Equal(step.want) {
			t.Fatalf("at %v: last use %v, want %v", f.clock.Now(), got, step.want)
		}
	}
}
