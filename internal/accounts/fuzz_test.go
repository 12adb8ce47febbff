package accounts_test

import (
	"context"
	"errors"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/accounts"
	accountssqlite "github.com/signet-pki/signet/internal/accounts/sqlite"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/sqldb"
)

// FuzzVerifyCredential checks the credential verifier over a store holding
// one key and one token of it: it never panics, only that key's exact
// secret and that token authenticate, and every other credential is
// refused as unauthorized (never as a failure to check).
func FuzzVerifyCredential(f *testing.F) {
	ctx := context.Background()
	pool, err := sqldb.OpenPool(ctx, filepath.Join(f.TempDir(), "signet.db"), nil, 1)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { pool.Close() })
	st, err := accountssqlite.New(ctx, pool)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now()
	secret, k, err := accounts.NewAPIKey(nil, accounts.KeySpec{Tenant: "t-1", Name: "ci", Roles: []string{"sender"}, Actions: []string{"document.read"}}, now)
	if err != nil {
		f.Fatal(err)
	}
	if err := st.CreateKey(ctx, k); err != nil {
		f.Fatal(err)
	}
	tok, at, err := accounts.NewAccessToken(nil, k, k.Actions, time.Hour, now)
	if err != nil {
		f.Fatal(err)
	}
	if err := st.CreateToken(ctx, at, 1); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "sk_", "st_", secret, tok, secret[:len(secret)-1] + "A", tok[:len(tok)-1] + "A", strings.ToUpper(secret),
		accounts.KeyPrefix + strings.Repeat("A", 43), accounts.TokenPrefix + strings.Repeat("A", 43),
		accounts.KeyPrefix + strings.Repeat("=", 43), accounts.KeyPrefix + strings.Repeat("é", 22), " " + secret} {
		f.Add(s)
	}
	v := accounts.KeyVerifier{Keys: st, Tokens: st}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := v.VerifyCredential(ctx, s, netip.Addr{})
		if s == secret || s == tok {
			if err != nil || p.ID != k.ID {
				t.Fatalf("the key's credential: %+v %v", p, err)
			}
			return
		}
		if !errors.Is(err, api.ErrUnauthorized) {
			t.Fatalf("%q: principal %+v, error %v; want unauthorized", s, p, err)
		}
	})
}

// FuzzCreateKeyRequest decodes a key request as the handlers do (strict
// JSON) and checks it as the service does: nothing panics, and what is
// accepted keeps every bound: a trimmed name of 1–200 bytes, at most 16
// sorted distinct roles, 1 to all actions that a key may hold, in
// authz order, at most 32 distinct normalized prefixes, an expiry within
// a year.
func FuzzCreateKeyRequest(f *testing.F) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		var in accounts.CreateKeyRequest
		if err := api.UnmarshalStrict(body, &in); err != nil {
			return
		}
		spec, err := accounts.CheckKeySpec(accounts.KeySpec{Tenant: "t-1", Name: in.Name, Roles: in.Roles, Actions: in.Actions, AllowedIPs: in.AllowedIPs, ExpiresAt: in.ExpiresAt}, now)
		if err != nil {
			var e *api.Error
			if !errors.As(err, &e) || e.Kind != api.KindInvalid || len(e.Detail) > 300 {
				t.Fatalf("refusal %v", err)
			}
			return
		}
		if spec.Name != strings.TrimSpace(spec.Name) || spec.Name == "" || len(spec.Name) > 200 {
			t.Fatalf("name %q", spec.Name)
		}
		if len(spec.Roles) > accounts.MaxKeyRoles || !slices.IsSorted(spec.Roles) || len(slices.Compact(slices.Clone(spec.Roles))) != len(spec.Roles) {
			t.Fatalf("roles %q", spec.Roles)
		}
		all := authz.AllActions()
		last := -1
		if len(spec.Actions) == 0 {
			t.Fatal("no action")
		}
		for _, a := range spec.Actions {
			i := slices.Index(all, authz.Action(a))
			if i <= last || a == "envelope.sign" || a == "tenant.admin" || a == "account.self" || a == "elevation.request" {
				t.Fatalf("actions %q", spec.Actions)
			}
			last = i
		}
		if len(spec.AllowedIPs) > accounts.MaxAllowedIPs {
			t.Fatalf("%d prefixes", len(spec.AllowedIPs))
		}
		for _, s := range spec.AllowedIPs {
			p, err := netip.ParsePrefix(s)
			if err != nil || p.Masked() != p || p.String() != s {
				t.Fatalf("prefix %q", s)
			}
		}
		if e := spec.ExpiresAt; e != nil && (!e.After(now) || e.Sub(now) > accounts.MaxKeyLifetime) {
			t.Fatalf("expiry %v", e)
		}
	})
}

// FuzzTokenRequest decodes a token request (strict JSON) and exchanges a
// key with it through the service: nothing panics, a refusal is a
// problem the client can read, and an issued token never holds an action
// its key lacks nor lives longer than 15 minutes.
func FuzzTokenRequest(f *testing.F) {
	fx := newFixture(f)
	a := fx.tenant(f, "A")
	secret, k := fx.provision(f, a, accounts.CreateKeyRequest{Name: "ci", Roles: []string{"sender"}, Actions: []string{"document.read", "envelope.read", "envelope.send"}})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, body []byte) {
		var in accounts.TokenRequest
		if err := api.UnmarshalStrict(body, &in); err != nil {
			return
		}
		tok, at, err := fx.svc.ExchangeToken(ctx, secret, netip.Addr{}, auditlog.Request{}, in)
		if err != nil {
			var e *api.Error
			if !errors.As(err, &e) || e.Kind != api.KindInvalid || len(e.Detail) > 300 {
				t.Fatalf("refusal %v", err)
			}
			return
		}
		defer fx.store.DeleteTokens(ctx, a, k.ID)
		if ttl := at.ExpiresAt.Sub(at.CreatedAt); ttl <= 0 || ttl > accounts.MaxTokenLifetime || len(at.Actions) == 0 {
			t.Fatalf("token %+v", at)
		}
		p, err := fx.svc.Verifier().VerifyCredential(ctx, tok, netip.Addr{})
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range p.Actions {
			if !slices.Contains(k.Actions, x) {
				t.Fatalf("token holds %q, its key %v", x, k.Actions)
			}
		}
		if len(in.Actions) > 0 && len(p.Actions) > len(in.Actions) {
			t.Fatalf("token holds %v, asked %v", p.Actions, in.Actions)
		}
	})
}

// FuzzRotateKeyRequest decodes a rotation request (strict JSON) and
// rotates a fresh key with it: nothing panics, and an accepted overlap is
// 0 to 7 days (a day when absent).
func FuzzRotateKeyRequest(f *testing.F) {
	fx := newFixture(f)
	a := fx.tenant(f, "A")
	admin := api.Principal{Kind: api.PrincipalUser, ID: "u-admin", Tenant: a}
	ctx := api.WithAuthorizer(api.WithPrincipal(context.Background(), admin), allowAll{})
	f.Fuzz(func(t *testing.T, body []byte) {
		var in accounts.RotateKeyRequest
		if err := api.UnmarshalStrict(body, &in); err != nil {
			return
		}
		_, k := fx.provision(t, a, accounts.CreateKeyRequest{Name: "ci", Roles: []string{"sender"}})
		_, next, err := fx.svc.RotateKey(ctx, admin, auditlog.Request{}, k.ID, in)
		if err != nil {
			if !errors.Is(err, &api.Error{Kind: api.KindInvalid}) {
				t.Fatalf("refusal %v", err)
			}
			return
		}
		old, err := fx.store.Key(ctx, a, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		overlap := old.OverlapEndsAt.Sub(fx.clock.Now())
		want := accounts.DefaultRotationOverlap
		if in.OverlapSeconds != nil {
			want = time.Duration(*in.OverlapSeconds) * time.Second
		}
		if old.ReplacedBy != next.ID || overlap != want || overlap < 0 || overlap > accounts.MaxRotationOverlap {
			t.Fatalf("replaced %+v, overlap %v", old, overlap)
		}
	})
}
