// Package storetest is the conformance suite of the accounts stores
// ([accounts.TenantStore] and [accounts.KeyStore]): every driver
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
}

// base is the suite's clock: a time with microseconds, in a zone other
// than UTC, so that drivers must keep the instant, not the text.
var base = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.FixedZone("CET", 3600))

func key(tenant, id string, at time.Time, scopes ...string) accounts.APIKey {
	return accounts.APIKey{
		ID:        id,
		Tenant:    tenant,
		Name:      "name of " + id,
		Scopes:    scopes,
		Prefix:    "sk_" + id[:min(len(id), 6)],
		Hash:      sha256.Sum256([]byte("secret of " + tenant + "/" + id)),
		CreatedAt: at,
	}
}

func sameKey(a, b accounts.APIKey) bool {
	return a.ID == b.ID && a.Tenant == b.Tenant && a.Name == b.Name && slices.Equal(a.Scopes, b.Scopes) &&
		a.Prefix == b.Prefix && a.Hash == b.Hash && a.CreatedAt.Equal(b.CreatedAt) &&
		(a.RevokedAt == nil) == (b.RevokedAt == nil) && (a.RevokedAt == nil || a.RevokedAt.Equal(*b.RevokedAt))
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
	k := key("t-1", "key_1", base, "documents:read", "envelopes:write")
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
	// A platform key (tenant "") with the admin scope.
	p := key("", "key_platform", base.Add(time.Microsecond), "admin")
	if err := s.CreateKey(ctx, p); err != nil {
		t.Fatal(err)
	}
	if got, err := s.KeyByHash(ctx, p.Hash); err != nil || !sameKey(got, p) {
		t.Fatalf("platform key %+v, %v", got, err)
	}
}

func testKeyExists(t *testing.T, s Store) {
	ctx := t.Context()
	k := key("t-1", "key_1", base, "documents:read")
	if err := s.CreateKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	sameID := key("t-2", "key_1", base, "documents:read")
	if err := s.CreateKey(ctx, sameID); !errors.Is(err, accounts.ErrExists) {
		t.Fatalf("duplicate id: %v, want ErrExists", err)
	}
	sameHash := key("t-2", "key_2", base, "documents:read")
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
		key("t-1", "key_c", base.Add(time.Minute), "documents:read"),
		key("t-2", "key_x", base, "documents:read"),
		key("t-1", "key_b", base, "documents:read"),
		key("t-1", "key_a", base, "documents:write"),
		key("", "key_p", base, "admin"),
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
	k := key("t-1", "key_1", base, "documents:read")
	keep := key("t-1", "key_2", base, "documents:read")
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
			if err := s.CreateKey(ctx, key("t-1", fmt.Sprintf("key_%02d", i), base, "documents:read")); err != nil {
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
