// Package storetest is the conformance suite of the accounts stores
// ([accounts.TenantStore], [accounts.KeyStore] and [accounts.TokenStore]):
// every driver
// (internal/accounts/sqlite, internal/accounts/postgres) runs [Run] from a
// test named TestConformance.
package storetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/accounts"
)

// Store is what a driver implements.
type Store interface {
	accounts.TenantStore
	accounts.KeyStore
	accounts.TokenStore
}

// Run runs the suite; open returns a new, empty store for each subtest.
// Times are given to the microsecond, the precision every driver keeps.
func Run(t *testing.T, open func(t *testing.T) Store) {
	t.Run("Tenants", func(t *testing.T) { testTenants(t, open(t)) })
	t.Run("KeyRoundTrip", func(t *testing.T) { testKeyRoundTrip(t, open(t)) })
	t.Run("KeyExists", func(t *testing.T) { testKeyExists(t, open(t)) })
	t.Run("KeysByTenant", func(t *testing.T) { testKeysByTenant(t, open(t)) })
	t.Run("Revoke", func(t *testing.T) { testRevoke(t, open(t)) })
	t.Run("ConcurrentCreate", func(t *testing.T) { testConcurrentCreate(t, open(t)) })
	t.Run("KeyFields", func(t *testing.T) { testKeyFields(t, open(t)) })
	t.Run("Rotate", func(t *testing.T) { testRotate(t, open(t)) })
	t.Run("ConcurrentRotate", func(t *testing.T) { testConcurrentRotate(t, open(t)) })
	t.Run("Touch", func(t *testing.T) { testTouch(t, open(t)) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, open(t)) })
	t.Run("ConcurrentTokens", func(t *testing.T) { testConcurrentTokens(t, open(t)) })
	t.Run("DeleteTenant", func(t *testing.T) { testDeleteTenant(t, open(t)) })
	t.Run("ConcurrentDeleteTenant", func(t *testing.T) { testConcurrentDeleteTenant(t, open(t)) })
}

// base is the suite's clock: a time with microseconds, in a zone other
// than UTC, so that drivers must keep the instant, not the text.
var base = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.FixedZone("CET", 3600))

func key(tenant, id string, at time.Time, actions ...string) accounts.APIKey {
	return accounts.APIKey{
		ID:        id,
		Tenant:    tenant,
		Name:      "name of " + id,
		Actions:   actions,
		Prefix:    "sk_" + id[:min(len(id), 6)],
		Hash:      sha256.Sum256([]byte("secret of " + tenant + "/" + id)),
		CreatedAt: at,
	}
}

func sameTime(a, b *time.Time) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Equal(*b))
}

func sameKey(a, b accounts.APIKey) bool {
	return a.ID == b.ID && a.Tenant == b.Tenant && a.Name == b.Name &&
		slices.Equal(a.Roles, b.Roles) && slices.Equal(a.Actions, b.Actions) && a.Owner == b.Owner &&
		slices.Equal(a.AllowedIPs, b.AllowedIPs) &&
		a.Prefix == b.Prefix && a.Hash == b.Hash && a.CreatedAt.Equal(b.CreatedAt) &&
		sameTime(a.ExpiresAt, b.ExpiresAt) && sameTime(a.LastUsedAt, b.LastUsedAt) &&
		sameTime(a.RevokedAt, b.RevokedAt) && a.ReplacedBy == b.ReplacedBy && sameTime(a.OverlapEndsAt, b.OverlapEndsAt)
}

func testTenants(t *testing.T, s Store) {
	ctx := t.Context()
	if ts, err := s.Tenants(ctx); err != nil || len(ts) != 0 {
		t.Fatalf("empty store: %v, %v", ts, err)
	}
	if _, err := s.Tenant(ctx, "t-missing"); !errors.Is(err, accounts.ErrNoRecord) {
		t.Fatalf("missing tenant: %v, want ErrNoRecord", err)
	}
	// Created out of order: the list is oldest first, then by id.
	in := []accounts.Tenant{
		{ID: "t-c", Name: "Later", CreatedAt: base.Add(2 * time.Second)},
		{ID: "t-b", Name: "Same time, second id", CreatedAt: base},
		{ID: "t-a", Name: "Same time, first id", CreatedAt: base},
		{ID: "t-0", Name: "Earliest, with ünïcode and 'quotes'", CreatedAt: base.Add(-time.Hour)},
	}
	for _, tn := range in {
		if err := s.CreateTenant(ctx, tn); err != nil {
			t.Fatalf("create %s: %v", tn.ID, err)
		}
	}
	if err := s.CreateTenant(ctx, accounts.Tenant{ID: "t-a", Name: "Other", CreatedAt: base}); !errors.Is(err, accounts.ErrExists) {
		t.Fatalf("duplicate tenant: %v, want ErrExists", err)
	}
	got, err := s.Tenant(ctx, "t-0")
	if err != nil || got.ID != "t-0" || got.Name != in[3].Name || !got.CreatedAt.Equal(in[3].CreatedAt) {
		t.Fatalf("tenant t-0: %+v, %v", got, err)
	}
	if got, err := s.Tenant(ctx, "t-a"); err != nil || got.Name != "Same time, first id" {
		t.Fatalf("tenant t-a after a refused duplicate: %+v, %v", got, err)
	}
	list, err := s.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, tn := range list {
		ids = append(ids, tn.ID)
	}
	if want := []string{"t-0", "t-a", "t-b", "t-c"}; !slices.Equal(ids, want) {
		t.Fatalf("tenants %v, want %v", ids, want)
	}
}

func testKeyRoundTrip(t *testing.T, s Store) {
	ctx := t.Context()
	k := key("t-1", "key_1", base, "document.read", "envelope.prepare")
	if err := s.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	got, err := s.KeyByHash(ctx, k.Hash)
	if err != nil || !sameKey(got, k) {
		t.Fatalf("key by hash %+v, %v; want %+v", got, err, k)
	}
	other := k.Hash
	other[31] ^= 1
	if _, err := s.KeyByHash(ctx, other); !errors.Is(err, accounts.ErrNoRecord) {
		t.Fatalf("unknown hash: %v, want ErrNoRecord", err)
	}
	// A platform key (tenant "") with the platform action.
	p := key("", "key_platform", base.Add(time.Microsecond), "tenant.admin")
	if err := s.CreateKey(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got, err := s.KeyByHash(ctx, p.Hash); err != nil || !sameKey(got, p) {
		t.Fatalf("platform key %+v, %v", got, err)
	}
}

func testKeyExists(t *testing.T, s Store) {
	ctx := t.Context()
	k := key("t-1", "key_1", base, "document.read")
	if err := s.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	sameID := key("t-2", "key_1", base, "document.read")
	if err := s.CreateKey(ctx, sameID); !errors.Is(err, accounts.ErrExists) {
		t.Fatalf("duplicate id: %v, want ErrExists", err)
	}
	sameHash := key("t-2", "key_2", base, "document.read")
	sameHash.Hash = k.Hash
	if err := s.CreateKey(ctx, sameHash); !errors.Is(err, accounts.ErrExists) {
		t.Fatalf("duplicate hash: %v, want ErrExists", err)
	}
	if ks, err := s.Keys(ctx, "t-2"); err != nil || len(ks) != 0 {
		t.Fatalf("refused keys were stored: %v, %v", ks, err)
	}
	if got, err := s.KeyByHash(ctx, k.Hash); err != nil || !sameKey(got, k) {
		t.Fatalf("first key after refused duplicates %+v, %v", got, err)
	}
}

func testKeysByTenant(t *testing.T, s Store) {
	ctx := t.Context()
	in := []accounts.APIKey{
		key("t-1", "key_c", base.Add(time.Minute), "document.read"),
		key("t-2", "key_x", base, "document.read"),
		key("t-1", "key_b", base, "document.read"),
		key("t-1", "key_a", base, "document.upload"),
		key("", "key_p", base, "tenant.admin"),
	}
	for _, k := range in {
		if err := s.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		tenant string
		want   []string
	}{
		{"t-1", []string{"key_a", "key_b", "key_c"}},
		{"t-2", []string{"key_x"}},
		{"", []string{"key_p"}},
		{"t-none", nil},
	} {
		ks, err := s.Keys(ctx, tc.tenant)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, k := range ks {
			if k.Tenant != tc.tenant {
				t.Errorf("Keys(%q) returned a key of %q", tc.tenant, k.Tenant)
			}
			ids = append(ids, k.ID)
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("Keys(%q) = %v, want %v", tc.tenant, ids, tc.want)
		}
	}
	ks, _ := s.Keys(ctx, "t-1")
	if len(ks) == 3 && !sameKey(ks[0], in[3]) {
		t.Errorf("listed key %+v, want %+v", ks[0], in[3])
	}
}

func testRevoke(t *testing.T, s Store) {
	ctx := t.Context()
	k := key("t-1", "key_1", base, "document.read")
	keep := key("t-1", "key_2", base, "document.read")
	for _, x := range []accounts.APIKey{k, keep} {
		if err := s.CreateKey(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	at := base.Add(time.Hour)
	if err := s.RevokeKey(ctx, "t-2", k.ID, at); !errors.Is(err, accounts.ErrNoRecord) {
		t.Fatalf("revoke from another tenant: %v, want ErrNoRecord", err)
	}
	if err := s.RevokeKey(ctx, "", k.ID, at); !errors.Is(err, accounts.ErrNoRecord) {
		t.Fatalf("revoke as platform: %v, want ErrNoRecord", err)
	}
	if got, _ := s.KeyByHash(ctx, k.Hash); got.RevokedAt != nil {
		t.Fatalf("a refused revocation revoked the key at %v", got.RevokedAt)
	}
	if err := s.RevokeKey(ctx, "t-1", "key_missing", at); !errors.Is(err, accounts.ErrNoRecord) {
		t.Fatalf("revoke unknown key: %v, want ErrNoRecord", err)
	}
	if err := s.RevokeKey(ctx, "t-1", k.ID, at); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeKey(ctx, "t-1", k.ID, at.Add(time.Hour)); err != nil {
		t.Fatalf("revoke twice: %v", err)
	}
	want := k
	want.RevokedAt = &at
	got, err := s.KeyByHash(ctx, k.Hash)
	if err != nil || !sameKey(got, want) {
		t.Fatalf("revoked key %+v, %v; want revoked at %v (the first time)", got, err, at)
	}
	if got, _ := s.KeyByHash(ctx, keep.Hash); got.RevokedAt != nil {
		t.Fatalf("revoking one key revoked another")
	}
	ks, err := s.Keys(ctx, "t-1")
	if err != nil || len(ks) != 2 || ks[0].RevokedAt == nil || !ks[0].RevokedAt.Equal(at) {
		t.Fatalf("listed keys %+v, %v", ks, err)
	}
}

// testConcurrentCreate: keys created at once from many goroutines are all
// stored, and of racing creations of one id exactly one wins.
func testConcurrentCreate(t *testing.T, s Store) {
	ctx := t.Context()
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, lost := 0, 0
	for i := range n {
		wg.Go(func() {
			if err := s.CreateKey(ctx, key("t-1", fmt.Sprintf("key_%02d", i), base, "document.read")); err != nil {
				t.Errorf("create %d: %v", i, err)
			}
			err := s.CreateTenant(ctx, accounts.Tenant{ID: "t-race", Name: fmt.Sprint(i), CreatedAt: base})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, accounts.ErrExists):
				lost++
			default:
				t.Errorf("racing tenant: %v", err)
			}
		})
	}
	wg.Wait()
	if won != 1 || lost != n-1 {
		t.Fatalf("racing tenants: %d created, %d refused; want 1 and %d", won, lost, n-1)
	}
	if ks, err := s.Keys(ctx, "t-1"); err != nil || len(ks) != n {
		t.Fatalf("%d keys stored, want %d (%v)", len(ks), n, err)
	}
}

// testKeyFields: every field of a key round-trips, and Key finds a key
// only in its own tenant.
func testKeyFields(t *testing.T, s Store) {
	ctx := t.Context()
	exp := base.Add(30 * 24 * time.Hour)
	k := key("t-1", "key_full", base, "document.upload", "envelope.read")
	k.Roles = []string{"custom-ops", "sender"}
	k.Owner = "u-alice"
	k.AllowedIPs = []string{"192.0.2.0/24", "2001:db8::/32"}
	k.ExpiresAt = &exp
	bare := key("t-1", "key_bare", base)
	for _, x := range []accounts.APIKey{k, bare} {
		if err := s.CreateKey(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []accounts.APIKey{k, bare} {
		got, err := s.Key(ctx, "t-1", want.ID)
		if err != nil || !sameKey(got, want) {
			t.Fatalf("key %+v, %v; want %+v", got, err, want)
		}
		if got, err := s.KeyByHash(ctx, want.Hash); err != nil || !sameKey(got, want) {
			t.Fatalf("key by hash %+v, %v; want %+v", got, err, want)
		}
	}
	if got, _ := s.Key(ctx, "t-1", bare.ID); len(got.Roles) != 0 || len(got.Actions) != 0 || len(got.AllowedIPs) != 0 || got.ExpiresAt != nil {
		t.Fatalf("bare key %+v", got)
	}
	for _, tenant := range []string{"t-2", ""} {
		if _, err := s.Key(ctx, tenant, k.ID); !errors.Is(err, accounts.ErrNoRecord) {
			t.Fatalf("key of t-1 asked as %q: %v, want ErrNoRecord", tenant, err)
		}
	}
}

// testRotate: a rotation stores the new key and marks the old one
// replaced until the overlap ends, once; a revoked, replaced, missing or
// other tenant's key is not rotated, and a refused rotation changes
// nothing.
func testRotate(t *testing.T, s Store) {
	ctx := t.Context()
	old := key("t-1", "key_old", base, "document.read")
	revoked := key("t-1", "key_revoked", base, "document.read")
	for _, x := range []accounts.APIKey{old, revoked} {
		if err := s.CreateKey(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RevokeKey(ctx, "t-1", revoked.ID, base); err != nil {
		t.Fatal(err)
	}
	ends := base.Add(time.Hour)
	next := key("t-1", "key_next", base.Add(time.Second), "document.read")
	for _, tc := range []struct {
		name, tenant, old string
		next              accounts.APIKey
		want              error
	}{
		{"missing", "t-1", "key_none", next, accounts.ErrNoRecord},
		{"other tenant", "t-2", old.ID, next, accounts.ErrNoRecord},
		{"revoked", "t-1", revoked.ID, next, accounts.ErrReplaced},
		{"replacement hash taken", "t-1", old.ID, func() accounts.APIKey { n := next; n.Hash = revoked.Hash; return n }(), accounts.ErrExists},
	} {
		if err := s.RotateKey(ctx, tc.tenant, tc.old, tc.next, ends); !errors.Is(err, tc.want) {
			t.Fatalf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if got, _ := s.Key(ctx, "t-1", old.ID); !sameKey(got, old) {
		t.Fatalf("refused rotations changed the key: %+v", got)
	}
	if _, err := s.Key(ctx, "t-1", next.ID); !errors.Is(err, accounts.ErrNoRecord) {
		t.Fatalf("a refused rotation stored the replacement: %v", err)
	}
	if err := s.RotateKey(ctx, "t-1", old.ID, next, ends); err != nil {
		t.Fatal(err)
	}
	want := old
	want.ReplacedBy, want.OverlapEndsAt = next.ID, &ends
	if got, err := s.KeyByHash(ctx, old.Hash); err != nil || !sameKey(got, want) {
		t.Fatalf("old key %+v, %v; want %+v", got, err, want)
	}
	if got, err := s.KeyByHash(ctx, next.Hash); err != nil || !sameKey(got, next) {
		t.Fatalf("new key %+v, %v; want %+v", got, err, next)
	}
	again := key("t-1", "key_again", base, "document.read")
	if err := s.RotateKey(ctx, "t-1", old.ID, again, ends); !errors.Is(err, accounts.ErrReplaced) {
		t.Fatalf("rotate twice: %v, want ErrReplaced", err)
	}
}

// testConcurrentRotate: of racing rotations of one key exactly one wins.
func testConcurrentRotate(t *testing.T, s Store) {
	ctx := t.Context()
	old := key("t-1", "key_old", base, "document.read")
	if err := s.CreateKey(ctx, old); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, lost := 0, 0
	for i := range n {
		wg.Go(func() {
			err := s.RotateKey(ctx, "t-1", old.ID, key("t-1", fmt.Sprintf("key_next%d", i), base, "document.read"), base.Add(time.Hour))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, accounts.ErrReplaced):
				lost++
			default:
				t.Errorf("racing rotation: %v", err)
			}
		})
	}
	wg.Wait()
	if won != 1 || lost != n-1 {
		t.Fatalf("racing rotations: %d won, %d refused; want 1 and %d", won, lost, n-1)
	}
	if ks, err := s.Keys(ctx, "t-1"); err != nil || len(ks) != 2 {
		t.Fatalf("%d keys after racing rotations, want 2 (%v)", len(ks), err)
	}
}

// testTouch: the last use is written only over the value it was read as.
func testTouch(t *testing.T, s Store) {
	ctx := t.Context()
	k := key("t-1", "key_1", base, "document.read")
	if err := s.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	t1, t2 := base.Add(time.Minute), base.Add(2*time.Minute)
	last := func() *time.Time {
		got, err := s.Key(ctx, "t-1", k.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.LastUsedAt
	}
	if err := s.TouchKey(ctx, k.ID, nil, t1); err != nil {
		t.Fatal(err)
	}
	if got := last(); got == nil || !got.Equal(t1) {
		t.Fatalf("last use %v, want %v", got, t1)
	}
	// A second touch after the same read (never used) writes nothing.
	if err := s.TouchKey(ctx, k.ID, nil, t2); err != nil {
		t.Fatal(err)
	}
	if got := last(); got == nil || !got.Equal(t1) {
		t.Fatalf("a stale touch wrote: last use %v, want %v", got, t1)
	}
	if err := s.TouchKey(ctx, k.ID, &t1, t2); err != nil {
		t.Fatal(err)
	}
	if got := last(); got == nil || !got.Equal(t2) {
		t.Fatalf("last use %v, want %v", got, t2)
	}
	if err := s.TouchKey(ctx, "key_none", nil, t2); err != nil {
		t.Fatalf("touch of a missing key: %v", err)
	}
}

func token(tenant, keyID, name string, at time.Time, ttl time.Duration, actions ...string) accounts.AccessToken {
	return accounts.AccessToken{
		Hash: sha256.Sum256([]byte("token " + name)), KeyID: keyID, Tenant: tenant, Actions: actions,
		CreatedAt: at, ExpiresAt: at.Add(ttl),
	}
}

func sameToken(a, b accounts.AccessToken) bool {
	return a.Hash == b.Hash && a.KeyID == b.KeyID && a.Tenant == b.Tenant && slices.Equal(a.Actions, b.Actions) &&
		a.CreatedAt.Equal(b.CreatedAt) && a.ExpiresAt.Equal(b.ExpiresAt)
}

// testTokens: tokens round-trip by hash; a key holds at most max live
// tokens, expired ones being deleted to make room; tokens are deleted by
// key (within its tenant) and by expiry.
func testTokens(t *testing.T, s Store) {
	ctx := t.Context()
	for _, k := range []accounts.APIKey{key("t-1", "key_1", base, "document.read"), key("t-1", "key_2", base, "document.read"), key("t-2", "key_3", base, "document.read")} {
		if err := s.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	a := token("t-1", "key_1", "a", base, time.Minute, "document.read")
	if err := s.CreateToken(ctx, a, 2); err != nil {
		t.Fatal(err)
	}
	if got, err := s.TokenByHash(ctx, a.Hash); err != nil || !sameToken(got, a) {
		t.Fatalf("token %+v, %v; want %+v", got, err, a)
	}
	if err := s.CreateToken(ctx, a, 2); !errors.Is(err, accounts.ErrExists) {
		t.Fatalf("duplicate token: %v, want ErrExists", err)
	}
	missing := a.Hash
	missing[0] ^= 1
	if _, err := s.TokenByHash(ctx, missing); !errors.Is(err, accounts.ErrNoRecord) {
		t.Fatalf("unknown token: %v, want ErrNoRecord", err)
	}
	b := token("t-1", "key_1", "b", base.Add(time.Second), 10*time.Minute)
	if err := s.CreateToken(ctx, b, 2); err != nil {
		t.Fatal(err)
	}
	if got, err := s.TokenByHash(ctx, b.Hash); err != nil || len(got.Actions) != 0 {
		t.Fatalf("token without actions %+v, %v", got, err)
	}
	c := token("t-1", "key_1", "c", base.Add(2*time.Second), time.Minute)
	if err := s.CreateToken(ctx, c, 2); !errors.Is(err, accounts.ErrTooManyTokens) {
		t.Fatalf("third live token: %v, want ErrTooManyTokens", err)
	}
	// Other keys have their own count.
	if err := s.CreateToken(ctx, token("t-1", "key_2", "d", base, time.Minute), 2); err != nil {
		t.Fatal(err)
	}
	// Once a has expired, c takes its place and a is gone.
	c = token("t-1", "key_1", "c", base.Add(time.Minute), time.Minute)
	if err := s.CreateToken(ctx, c, 2); err != nil {
		t.Fatalf("token after one expired: %v", err)
	}
	if _, err := s.TokenByHash(ctx, a.Hash); !errors.Is(err, accounts.ErrNoRecord) {
		t.Fatalf("expired token kept: %v", err)
	}
	if n, err := s.DeleteTokens(ctx, "t-2", "key_1"); err != nil || n != 0 {
		t.Fatalf("delete key_1's tokens as t-2: %d, %v", n, err)
	}
	if n, err := s.DeleteTokens(ctx, "t-1", "key_1"); err != nil || n != 2 {
		t.Fatalf("delete key_1's tokens: %d, %v; want 2", n, err)
	}
	for _, x := range []accounts.AccessToken{b, c} {
		if _, err := s.TokenByHash(ctx, x.Hash); !errors.Is(err, accounts.ErrNoRecord) {
			t.Fatalf("deleted token found: %v", err)
		}
	}
	e := token("t-2", "key_3", "e", base, time.Minute)
	f := token("t-2", "key_3", "f", base, time.Hour)
	for _, x := range []accounts.AccessToken{e, f} {
		if err := s.CreateToken(ctx, x, 10); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.DeleteExpiredTokens(ctx, base.Add(time.Minute)); err != nil || n != 2 {
		// d (key_2) and e expire at base+1m.
		t.Fatalf("delete expired: %d, %v; want 2", n, err)
	}
	if _, err := s.TokenByHash(ctx, f.Hash); err != nil {
		t.Fatalf("live token deleted: %v", err)
	}
}

// testConcurrentTokens: tokens of one key issued at once never exceed
// the limit.
func testConcurrentTokens(t *testing.T, s Store) {
	ctx := t.Context()
	if err := s.CreateKey(ctx, key("t-1", "key_1", base, "document.read")); err != nil {
		t.Fatal(err)
	}
	const n, max = 16, 5
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, lost := 0, 0
	for i := range n {
		wg.Go(func() {
			err := s.CreateToken(ctx, token("t-1", "key_1", fmt.Sprint(i), base, time.Hour), max)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, accounts.ErrTooManyTokens):
				lost++
			default:
				t.Errorf("racing token: %v", err)
			}
		})
	}
	wg.Wait()
	if won != max || lost != n-max {
		t.Fatalf("racing tokens: %d stored, %d refused; want %d and %d", won, lost, max, n-max)
	}
}

// testDeleteTenant: deleting a tenant marks it deleted (the first time
// kept), revokes its keys (keeping earlier revocations) and deletes its
// tokens in one step, touches no other tenant's or the platform's
// credentials, and stops new keys of the tenant; its id stays taken.
func testDeleteTenant(t *testing.T, s Store) {
	ctx := t.Context()
	for _, id := range []string{"t-1", "t-2"} {
		if err := s.CreateTenant(ctx, accounts.Tenant{ID: id, Name: "Tenant " + id, CreatedAt: base}); err != nil {
			t.Fatal(err)
		}
	}
	live := key("t-1", "key_live", base, "document.read")
	old := key("t-1", "key_old", base, "document.read")
	other := key("t-2", "key_other", base, "document.read")
	plat := key("", "key_platform", base, "tenant.admin")
	for _, k := range []accounts.APIKey{live, old, other, plat} {
		if err := s.CreateKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	earlier := base.Add(time.Minute)
	if err := s.RevokeKey(ctx, "t-1", old.ID, earlier); err != nil {
		t.Fatal(err)
	}
	tok1 := token("t-1", live.ID, "a", base, time.Hour, "document.read")
	tok2 := token("t-2", other.ID, "b", base, time.Hour, "document.read")
	for _, tk := range []accounts.AccessToken{tok1, tok2} {
		if err := s.CreateToken(ctx, tk, 10); err != nil {
			t.Fatal(err)
		}
	}

	if err := s.DeleteTenant(ctx, "t-missing", base); !errors.Is(err, accounts.ErrNoRecord) {
		t.Fatalf("delete a missing tenant: %v, want ErrNoRecord", err)
	}
	at := base.Add(time.Hour)
	if err := s.DeleteTenant(ctx, "t-1", at); err != nil {
		t.Fatalf("DeleteTenant: %v", err)
	}
	check := func(when string) {
		t.Helper()
		got, err := s.Tenant(ctx, "t-1")
		if err != nil || got.DeletedAt == nil || !got.DeletedAt.Equal(at) || got.Name != "Tenant t-1" {
			t.Fatalf("%s: tenant t-1 %+v, %v; want deleted at %v", when, got, err, at)
		}
		list, err := s.Tenants(ctx)
		if err != nil || len(list) != 2 {
			t.Fatalf("%s: tenants %+v, %v", when, list, err)
		}
		for _, tn := range list {
			if deleted := tn.DeletedAt != nil; deleted != (tn.ID == "t-1") {
				t.Errorf("%s: listed tenant %s deleted at %v", when, tn.ID, tn.DeletedAt)
			}
		}
		for _, c := range []struct {
			k       accounts.APIKey
			revoked *time.Time
		}{{live, &at}, {old, &earlier}, {other, nil}, {plat, nil}} {
			got, err := s.KeyByHash(ctx, c.k.Hash)
			if err != nil || !sameTime(got.RevokedAt, c.revoked) {
				t.Errorf("%s: key %s revoked at %v (%v), want %v", when, c.k.ID, got.RevokedAt, err, c.revoked)
			}
		}
		if _, err := s.TokenByHash(ctx, tok1.Hash); !errors.Is(err, accounts.ErrNoRecord) {
			t.Errorf("%s: token of the deleted tenant: %v, want ErrNoRecord", when, err)
		}
		if _, err := s.TokenByHash(ctx, tok2.Hash); err != nil {
			t.Errorf("%s: token of another tenant: %v", when, err)
		}
	}
	check("after deletion")

	late := key("t-1", "key_late", at, "document.read")
	if err := s.CreateKey(ctx, late); !errors.Is(err, accounts.ErrTenantDeleted) {
		t.Fatalf("create a key of a deleted tenant: %v, want ErrTenantDeleted", err)
	}
	if _, err := s.KeyByHash(ctx, late.Hash); !errors.Is(err, accounts.ErrNoRecord) {
		t.Fatalf("a refused key was stored: %v", err)
	}
	if err := s.RotateKey(ctx, "t-1", live.ID, late, at.Add(time.Hour)); !errors.Is(err, accounts.ErrTenantDeleted) {
		t.Fatalf("rotate a key of a deleted tenant: %v, want ErrTenantDeleted", err)
	}
	if err := s.CreateTenant(ctx, accounts.Tenant{ID: "t-1", Name: "Again", CreatedAt: at}); !errors.Is(err, accounts.ErrExists) {
		t.Fatalf("create a tenant with a deleted tenant's id: %v, want ErrExists", err)
	}
	// Keys of other tenants, of tenants without a record and of the
	// platform are still created.
	for _, k := range []accounts.APIKey{key("t-2", "key_more", at), key("t-norecord", "key_free", at), key("", "key_plat2", at)} {
		if err := s.CreateKey(ctx, k); err != nil {
			t.Errorf("create key %s of %q after another tenant's deletion: %v", k.ID, k.Tenant, err)
		}
	}
	if err := s.DeleteTenant(ctx, "t-1", at.Add(time.Hour)); err != nil {
		t.Fatalf("delete again: %v", err)
	}
	check("after a second deletion")
}

// testConcurrentDeleteTenant: keys created while their tenant is deleted
// either fail with ErrTenantDeleted or are revoked by the deletion; no key
// of the tenant is left working. Each creator keeps creating keys until it
// is refused; the deletion starts once the first key is stored.
func testConcurrentDeleteTenant(t *testing.T, s Store) {
	ctx := t.Context()
	if err := s.CreateTenant(ctx, accounts.Tenant{ID: "t-1", Name: "Doomed", CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	const (
		creators = 8
		attempts = 500
	)
	var wg sync.WaitGroup
	var mu sync.Mutex
	created, refused := 0, 0
	first := make(chan struct{})
	var once sync.Once
	for c := range creators {
		wg.Go(func() {
			for i := range attempts {
				err := s.CreateKey(ctx, key("t-1", fmt.Sprintf("key_%d_%03d", c, i), base, "document.read"))
				mu.Lock()
				switch {
				case err == nil:
					created++
				case errors.Is(err, accounts.ErrTenantDeleted):
					refused++
				default:
					t.Errorf("create during deletion: %v", err)
				}
				mu.Unlock()
				if err != nil {
					return
				}
				once.Do(func() { close(first) })
			}
			t.Errorf("creator %d was never refused", c)
		})
	}
	wg.Go(func() {
		<-first
		if err := s.DeleteTenant(ctx, "t-1", base.Add(time.Hour)); err != nil {
			t.Errorf("DeleteTenant: %v", err)
		}
	})
	wg.Wait()
	ks, err := s.Keys(ctx, "t-1")
	if err != nil || len(ks) != created || created == 0 || refused != creators {
		t.Fatalf("%d keys stored (%v), %d created, %d refused", len(ks), err, created, refused)
	}
	for _, k := range ks {
		if k.RevokedAt == nil {
			t.Errorf("key %s of the deleted tenant is not revoked", k.ID)
		}
	}
}
