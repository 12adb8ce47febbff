// Package storetest is the conformance suite for [ca.Store]
// implementations. Every store runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) ca.Store { return open(t) })
//	}
//
// [RunSealed] runs it again on [ca.SealedStore] over the store and checks
// what the store keeps at rest.
package storetest

import (
	"context"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/pki/ca"
)

// Run runs the conformance suite against stores made by open; each call
// must return a new, empty store.
func Run(t *testing.T, open func(t *testing.T) ca.Store) {
	t.Run("InsertGet", func(t *testing.T) { testInsertGet(t, open(t)) })
	t.Run("Revoke", func(t *testing.T) { testRevoke(t, open(t)) })
	t.Run("ByKey", func(t *testing.T) { testByKey(t, open(t)) })
	t.Run("CRLNumbers", func(t *testing.T) { testCRLNumbers(t, open(t)) })
}

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func rec(serial int64, issuer, keyID, version string) ca.Record {
	return ca.Record{
		Serial:    big.NewInt(serial),
		Issuer:    issuer,
		Kind:      ca.KindSigner,
		Key:       ca.KeyRef{ID: keyID, Version: version},
		Subject:   "CN=s" + big.NewInt(serial).String(),
		NotBefore: t0,
		NotAfter:  t0.Add(time.Hour),
		Status:    ca.StatusGood,
		DER:       []byte{0x30, byte(serial)},
	}
}

func equal(a, b ca.Record) bool {
	return a.Serial.Cmp(b.Serial) == 0 && a.Issuer == b.Issuer && a.Kind == b.Kind && a.Key == b.Key &&
		a.Subject == b.Subject && a.NotBefore.Equal(b.NotBefore) && a.NotAfter.Equal(b.NotAfter) &&
		a.Status == b.Status && a.Reason == b.Reason && a.RevokedAt.Equal(b.RevokedAt) &&
		a.InvalidityDate.Equal(b.InvalidityDate) && string(a.DER) == string(b.DER)
}

func testInsertGet(t *testing.T, s ca.Store) {
	ctx := context.Background()
	large := new(big.Int).Lsh(big.NewInt(1), 127)
	want := rec(1, "acme", "k1", "1")
	want.Serial = large
	if err := s.Insert(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, large)
	if err != nil {
		t.Fatal(err)
	}
	if !equal(got, want) {
		t.Errorf("Get = %+v, want %+v", got, want)
	}
	if err := s.Insert(ctx, want); !errors.Is(err, ca.ErrDuplicateSerial) {
		t.Errorf("second Insert: err = %v, want ErrDuplicateSerial", err)
	}
	if _, err := s.Get(ctx, bigOne()); !errors.Is(err, ca.ErrNotFound) {
		t.Errorf("Get(unknown): err = %v, want ErrNotFound", err)
	}
}

func bigOne() *big.Int { return big.NewInt(1) }

func testRevoke(t *testing.T, s ca.Store) {
	ctx := context.Background()
	for i, issuer := range []string{"acme", "acme", "other", "acme"} {
		if err := s.Insert(ctx, rec(int64(10+i), issuer, "k", "1")); err != nil {
			t.Fatal(err)
		}
	}
	if rs, err := s.Revoked(ctx, "acme"); err != nil || len(rs) != 0 {
		t.Fatalf("Revoked before any revocation = %v, %v", rs, err)
	}
	at, inv := t0.Add(10*time.Minute), t0.Add(5*time.Minute)
	// Revoke 13 then 10: the list keeps revocation order.
	for _, c := range []struct {
		serial int64
		reason ca.Reason
		inv    time.Time
	}{{13, ca.ReasonKeyCompromise, inv}, {10, ca.ReasonSuperseded, time.Time{}}, {12, ca.ReasonUnspecified, time.Time{}}} {
		r, err := s.Revoke(ctx, big.NewInt(c.serial), c.reason, at, c.inv)
		if err != nil {
			t.Fatalf("Revoke(%d): %v", c.serial, err)
		}
		if r.Status != ca.StatusRevoked || r.Reason != c.reason || !r.RevokedAt.Equal(at) || !r.InvalidityDate.Equal(c.inv) {
			t.Errorf("Revoke(%d) = %+v", c.serial, r)
		}
		got, err := s.Get(ctx, big.NewInt(c.serial))
		if err != nil || !equal(got, r) {
			t.Errorf("Get after Revoke(%d) = %+v, %v; want %+v", c.serial, got, err, r)
		}
	}
	if _, err := s.Revoke(ctx, big.NewInt(13), ca.ReasonSuperseded, at, time.Time{}); !errors.Is(err, ca.ErrAlreadyRevoked) {
		t.Errorf("second Revoke: err = %v, want ErrAlreadyRevoked", err)
	}
	if got, _ := s.Get(ctx, big.NewInt(13)); got.Reason != ca.ReasonKeyCompromise {
		t.Errorf("second Revoke changed the reason to %v", got.Reason)
	}
	if _, err := s.Revoke(ctx, big.NewInt(99), ca.ReasonSuperseded, at, time.Time{}); !errors.Is(err, ca.ErrNotFound) {
		t.Errorf("Revoke(unknown): err = %v, want ErrNotFound", err)
	}
	rs, err := s.Revoked(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	var serials []int64
	for _, r := range rs {
		serials = append(serials, r.Serial.Int64())
	}
	if len(serials) != 2 || serials[0] != 13 || serials[1] != 10 {
		t.Errorf("Revoked(acme) serials = %v, want [13 10]", serials)
	}
	if rs, _ := s.Revoked(ctx, "other"); len(rs) != 1 || rs[0].Serial.Int64() != 12 {
		t.Errorf("Revoked(other) = %v, want serial 12", rs)
	}
}

func testByKey(t *testing.T, s ca.Store) {
	ctx := context.Background()
	for i, kv := range [][2]string{{"a", "1"}, {"b", "1"}, {"a", "2"}, {"a", "1"}} {
		if err := s.Insert(ctx, rec(int64(20+i), "acme", kv[0], kv[1])); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		id, version string
		want        []int64
	}{
		{"a", "1", []int64{20, 23}},
		{"a", "2", []int64{22}},
		{"a", "", []int64{20, 22, 23}},
		{"b", "", []int64{21}},
		{"c", "", nil},
	} {
		rs, err := s.ByKey(ctx, c.id, c.version)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, r := range rs {
			got = append(got, r.Serial.Int64())
		}
		if len(got) != len(c.want) {
			t.Errorf("ByKey(%q, %q) = %v, want %v", c.id, c.version, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("ByKey(%q, %q) = %v, want %v", c.id, c.version, got, c.want)
				break
			}
		}
	}
}

func testCRLNumbers(t *testing.T, s ca.Store) {
	ctx := context.Background()
	n, err := s.NextCRLNumber(ctx, "acme")
	if err != nil || n.Int64() != 1 {
		t.Fatalf("first NextCRLNumber = %v, %v; want 1", n, err)
	}
	if n, _ := s.NextCRLNumber(ctx, "other"); n.Int64() != 1 {
		t.Errorf("first NextCRLNumber(other) = %v, want 1 (numbers are per issuer)", n)
	}
	var (
		mu   sync.Mutex
		seen = map[int64]bool{1: true}
		wg   sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				n, err := s.NextCRLNumber(ctx, "acme")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[n.Int64()] {
					t.Errorf("CRL number %v handed out twice", n)
				}
				seen[n.Int64()] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if n, _ := s.NextCRLNumber(ctx, "acme"); n.Int64() != 42 {
		t.Errorf("NextCRLNumber after 41 = %v, want 42", n)
	}
}
