// Package storetest is the conformance suite for [keys.Store]
// implementations. Every store runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) keys.Store { return open(t) })
//	}
package storetest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/keys"
)

// Run runs the suite; open returns a new, empty store for each subtest.
func Run(t *testing.T, open func(t *testing.T) keys.Store) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, open(t)) })
	t.Run("Exists", func(t *testing.T) { testExists(t, open(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, open(t)) })
	t.Run("UpdateAbort", func(t *testing.T) { testUpdateAbort(t, open(t)) })
	t.Run("List", func(t *testing.T) { testList(t, open(t)) })
	t.Run("ConcurrentUpdates", func(t *testing.T) { testConcurrent(t, open(t)) })
	t.Run("Isolation", func(t *testing.T) { testIsolation(t, open(t)) })
}

// sampleKey returns a key with two versions, one of them revoked.
func sampleKey(t *testing.T, id, tenant string) *keys.Key {
	t.Helper()
	p1, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	return &keys.Key{
		ID: id, Purpose: keys.PurposeDocumentSigning, Algorithm: keys.ECDSAP256, Backend: "soft",
		Tenant: tenant, Label: "label " + id, Created: t0, RotateAfter: 720 * time.Hour, UsageLimit: 10,
		Versions: []keys.Version{
			{Number: 1, Handle: "h1-" + id, Public: &p1.PublicKey, State: keys.StateRevoked, Created: t0, Usage: 7,
				Revocation: &keys.Revocation{Reason: keys.ReasonKeyCompromise, Time: t0.Add(time.Hour), CompromiseTime: t0.Add(time.Minute)}},
			{Number: 2, Handle: "h2-" + id, Public: &p2.PublicKey, State: keys.StateActive, Created: t0.Add(2 * time.Hour)},
		},
	}
}

// equal compares keys field by field, times with Equal.
func equal(t *testing.T, got, want *keys.Key) {
	t.Helper()
	g, w := *got, *want
	g.Versions, w.Versions = nil, nil
	if !g.Created.Equal(w.Created) {
		t.Errorf("Created = %v, want %v", g.Created, w.Created)
	}
	g.Created, w.Created = time.Time{}, time.Time{}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("key = %+v, want %+v", g, w)
	}
	if len(got.Versions) != len(want.Versions) {
		t.Fatalf("%d versions, want %d", len(got.Versions), len(want.Versions))
	}
	for i := range want.Versions {
		gv, wv := got.Versions[i], want.Versions[i]
		if gv.Number != wv.Number || gv.Handle != wv.Handle || gv.State != wv.State || gv.Usage != wv.Usage {
			t.Errorf("version %d = %+v, want %+v", i, gv, wv)
		}
		if !gv.Created.Equal(wv.Created) || !gv.Destroyed.Equal(wv.Destroyed) {
			t.Errorf("version %d times = %v/%v, want %v/%v", i, gv.Created, gv.Destroyed, wv.Created, wv.Destroyed)
		}
		if (wv.Public == nil) != (gv.Public == nil) || wv.Public != nil && !wv.Public.(*ecdsa.PublicKey).Equal(gv.Public) {
			t.Errorf("version %d public key differs", i)
		}
		if (gv.Revocation == nil) != (wv.Revocation == nil) {
			t.Fatalf("version %d revocation = %v, want %v", i, gv.Revocation, wv.Revocation)
		}
		if r, w := gv.Revocation, wv.Revocation; r != nil {
			if r.Reason != w.Reason || !r.Time.Equal(w.Time) || !r.CompromiseTime.Equal(w.CompromiseTime) {
				t.Errorf("version %d revocation = %+v, want %+v", i, r, w)
			}
		}
	}
}

func testRoundTrip(t *testing.T, s keys.Store) {
	ctx := context.Background()
	k := sampleKey(t, "k1", "acme")
	if err := s.Create(ctx, k); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, got, k)
	destroyed := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	err = s.Update(ctx, "k1", func(c *keys.Key) error {
		c.Versions[1].State = keys.StateVerifyOnly
		c.Versions[1].Usage = 3
		c.Versions[0].State, c.Versions[0].Destroyed = keys.StateDestroyed, destroyed
		c.Versions = append(c.Versions, keys.Version{Number: 3, Handle: "h3", State: keys.StateActive, Created: destroyed})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := k.Clone()
	want.Versions[1].State, want.Versions[1].Usage = keys.StateVerifyOnly, 3
	want.Versions[0].State, want.Versions[0].Destroyed = keys.StateDestroyed, destroyed
	want.Versions = append(want.Versions, keys.Version{Number: 3, Handle: "h3", State: keys.StateActive, Created: destroyed})
	got, err = s.Get(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, got, want)
}

func testExists(t *testing.T, s keys.Store) {
	ctx := context.Background()
	if err := s.Create(ctx, sampleKey(t, "k1", "")); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, sampleKey(t, "k1", "")); !errors.Is(err, keys.ErrExists) {
		t.Fatalf("second Create = %v, want ErrExists", err)
	}
}

func testNotFound(t *testing.T, s keys.Store) {
	ctx := context.Background()
	if _, err := s.Get(ctx, "nope"); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("Get = %v, want ErrNotFound", err)
	}
	called := false
	if err := s.Update(ctx, "nope", func(*keys.Key) error { called = true; return nil }); !errors.Is(err, keys.ErrNotFound) {
		t.Errorf("Update = %v, want ErrNotFound", err)
	}
	if called {
		t.Error("Update called fn for a missing key")
	}
}

func testUpdateAbort(t *testing.T, s keys.Store) {
	ctx := context.Background()
	k := sampleKey(t, "k1", "")
	if err := s.Create(ctx, k); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := s.Update(ctx, "k1", func(c *keys.Key) error {
		c.Versions[1].State = keys.StateRevoked
		c.Label = "changed"
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want fn's error", err)
	}
	got, err := s.Get(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, got, k)
}

func testList(t *testing.T, s keys.Store) {
	ctx := context.Background()
	for _, c := range []struct{ id, tenant string }{{"b", "t1"}, {"a", "t1"}, {"c", "t2"}, {"d", ""}} {
		if err := s.Create(ctx, sampleKey(t, c.id, c.tenant)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		tenant string
		want   []string
	}{
		{"*", []string{"a", "b", "c", "d"}},
		{"t1", []string{"a", "b"}},
		{"t2", []string{"c"}},
		{"", []string{"d"}},
		{"none", nil},
	} {
		ks, err := s.List(ctx, tc.tenant)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, k := range ks {
			ids = append(ids, k.ID)
			if len(k.Versions) != 2 {
				t.Errorf("List(%q): %s has %d versions", tc.tenant, k.ID, len(k.Versions))
			}
		}
		if !reflect.DeepEqual(ids, tc.want) {
			t.Errorf("List(%q) = %v, want %v", tc.tenant, ids, tc.want)
		}
	}
}

func testConcurrent(t *testing.T, s keys.Store) {
	ctx := context.Background()
	if err := s.Create(ctx, sampleKey(t, "k1", "")); err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := s.Update(ctx, "k1", func(c *keys.Key) error { c.Versions[1].Usage++; return nil }); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	k, err := s.Get(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if got := k.Versions[1].Usage; got != workers*each {
		t.Fatalf("usage = %d after %d concurrent increments", got, workers*each)
	}
}

func testIsolation(t *testing.T, s keys.Store) {
	ctx := context.Background()
	k := sampleKey(t, "k1", "")
	if err := s.Create(ctx, k); err != nil {
		t.Fatal(err)
	}
	k.Versions[1].State = keys.StateDestroyed // the caller's copy
	got, err := s.Get(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	got.Versions[1].Usage = 99 // the returned copy
	again, err := s.Get(ctx, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if v := again.Versions[1]; v.State != keys.StateActive || v.Usage != 0 {
		t.Fatalf("store shares memory with callers: %s", fmt.Sprint(v.State, v.Usage))
	}
}
