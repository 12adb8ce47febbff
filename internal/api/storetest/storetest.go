// Package storetest is the conformance suite of [api.IdempotencyStore]:
// every driver (internal/api/sqlite, internal/api/postgres) runs [Run]
// from a test named TestConformance.
package storetest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/api"
)

// Run runs the suite; open returns a new, empty store for each subtest.
// Times are given to the microsecond, the precision every driver keeps.
func Run(t *testing.T, open func(t *testing.T) api.IdempotencyStore) {
	t.Run("ReserveComplete", func(t *testing.T) { testReserveComplete(t, open(t)) })
	t.Run("CompleteOnlyInFlight", func(t *testing.T) { testCompleteOnlyInFlight(t, open(t)) })
	t.Run("SecretMarker", func(t *testing.T) { testSecretMarker(t, open(t)) })
	t.Run("ExpiredReplaced", func(t *testing.T) { testExpired(t, open(t)) })
	t.Run("StaleInFlightReplaced", func(t *testing.T) { testStale(t, open(t)) })
	t.Run("Release", func(t *testing.T) { testRelease(t, open(t)) })
	t.Run("PerPrincipal", func(t *testing.T) { testPerPrincipal(t, open(t)) })
	t.Run("ConcurrentReserve", func(t *testing.T) { testConcurrentReserve(t, open(t)) })
	t.Run("ConcurrentComplete", func(t *testing.T) { testConcurrentComplete(t, open(t)) })
}

// base is the suite's clock, with microseconds and not in UTC.
var base = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.FixedZone("CET", 3600))

const ttl = 24 * time.Hour

// record returns an in-flight record of principal and key for request
// body, created at.
func record(principal, key, body string, at time.Time) api.IdempotencyRecord {
	return api.IdempotencyRecord{
		Principal:   principal,
		Key:         key,
		RequestHash: sha256.Sum256([]byte(body)),
		CreatedAt:   at,
		ExpiresAt:   at.Add(ttl),
	}
}

// reserve reserves rec at now (in-flight records older than a minute are
// stale) and returns the live record found instead, if any.
func reserve(t *testing.T, s api.IdempotencyStore, rec api.IdempotencyRecord, now time.Time) *api.IdempotencyRecord {
	t.Helper()
	prev, err := s.Reserve(t.Context(), rec, now, now.Add(-time.Minute))
	if err != nil {
		t.Fatalf("reserve %s/%s: %v", rec.Principal, rec.Key, err)
	}
	return prev
}

func checkRecord(t *testing.T, got *api.IdempotencyRecord, want api.IdempotencyRecord) {
	t.Helper()
	if got == nil {
		t.Fatalf("no record, want %+v", want)
	}
	if got.Principal != want.Principal || got.Key != want.Key || got.RequestHash != want.RequestHash ||
		got.Done != want.Done || got.Secret != want.Secret || got.Status != want.Status ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		!bytes.Equal(got.Body, want.Body) || len(got.Header) != len(want.Header) {
		t.Fatalf("record %+v\nwant %+v", *got, want)
	}
	for k, v := range want.Header {
		if fmt.Sprint(got.Header[k]) != fmt.Sprint(v) {
			t.Fatalf("header %s: %q, want %q", k, got.Header[k], v)
		}
	}
}

func testReserveComplete(t *testing.T, s api.IdempotencyStore) {
	rec := record("api_key:a", "k1", `{"x":1}`, base)
	if prev := reserve(t, s, rec, base); prev != nil {
		t.Fatalf("new key: found %+v", *prev)
	}
	// In flight: a second request finds the reservation.
	checkRecord(t, reserve(t, s, record("api_key:a", "k1", `{"x":2}`, base.Add(time.Second)), base.Add(time.Second)), rec)

	done := rec
	done.Done, done.Status = true, http.StatusCreated
	done.Header = http.Header{"Content-Type": {"application/json"}, "Location": {"/v1/things/1"}, "X-Multi": {"a", "b"}}
	done.Body = []byte("{\"id\":1}\n\x00\xff")
	if err := s.Complete(t.Context(), done); err != nil {
		t.Fatal(err)
	}
	checkRecord(t, reserve(t, s, rec, base.Add(time.Hour)), done)
	// A completed record is not stale, however old, until it expires.
	checkRecord(t, reserve(t, s, rec, base.Add(ttl-time.Microsecond)), done)

	// An empty body and no header are kept as empty.
	empty := record("api_key:a", "k2", `{}`, base)
	reserve(t, s, empty, base)
	empty.Done, empty.Status = true, http.StatusNoContent
	if err := s.Complete(t.Context(), empty); err != nil {
		t.Fatal(err)
	}
	checkRecord(t, reserve(t, s, empty, base), empty)
}

func testCompleteOnlyInFlight(t *testing.T, s api.IdempotencyStore) {
	ctx := t.Context()
	absent := record("api_key:a", "absent", `{}`, base)
	absent.Done, absent.Status = true, 200
	if err := s.Complete(ctx, absent); !errors.Is(err, api.ErrNoRecord) {
		t.Fatalf("complete without a reservation: %v, want ErrNoRecord", err)
	}
	rec := record("api_key:a", "k", `{"x":1}`, base)
	reserve(t, s, rec, base)
	other := record("api_key:a", "k", `{"x":2}`, base)
	other.Done, other.Status = true, 200
	if err := s.Complete(ctx, other); !errors.Is(err, api.ErrNoRecord) {
		t.Fatalf("complete with another request: %v, want ErrNoRecord", err)
	}
	done := rec
	done.Done, done.Status, done.Body = true, 200, []byte("first")
	if err := s.Complete(ctx, done); err != nil {
		t.Fatal(err)
	}
	again := done
	again.Body = []byte("second")
	if err := s.Complete(ctx, again); !errors.Is(err, api.ErrNoRecord) {
		t.Fatalf("complete twice: %v, want ErrNoRecord", err)
	}
	checkRecord(t, reserve(t, s, rec, base), done)
}

// testSecretMarker: of a response carrying a secret only the status is
// kept, whatever header and body Complete is given.
func testSecretMarker(t *testing.T, s api.IdempotencyStore) {
	rec := record("api_key:a", "new-key", `{"name":"ci"}`, base)
	reserve(t, s, rec, base)
	done := rec
	done.Done, done.Secret, done.Status = true, true, http.StatusCreated
	done.Header = http.Header{"Location": {"/v1/api-keys/key_1"}}
	done.Body = []byte(`{"id":"key_1","secret":"sk_this-must-not-be-stored"}`)
	if err := s.Complete(t.Context(), done); err != nil {
		t.Fatal(err)
	}
	want := rec
	want.Done, want.Secret, want.Status = true, true, http.StatusCreated
	got := reserve(t, s, rec, base.Add(time.Second))
	checkRecord(t, got, want)
	if len(got.Body) != 0 || len(got.Header) != 0 {
		t.Fatalf("secret record kept %q %v", got.Body, got.Header)
	}
}

func testExpired(t *testing.T, s api.IdempotencyStore) {
	rec := record("api_key:a", "k", `{"x":1}`, base)
	reserve(t, s, rec, base)
	done := rec
	done.Done, done.Status, done.Body = true, 200, []byte("old")
	if err := s.Complete(t.Context(), done); err != nil {
		t.Fatal(err)
	}
	later := base.Add(ttl)
	fresh := record("api_key:a", "k", `{"x":2}`, later)
	if prev := reserve(t, s, fresh, later); prev != nil {
		t.Fatalf("expired record returned: %+v", *prev)
	}
	checkRecord(t, reserve(t, s, fresh, later.Add(time.Second)), fresh)
}

func testStale(t *testing.T, s api.IdempotencyStore) {
	rec := record("api_key:a", "k", `{"x":1}`, base)
	reserve(t, s, rec, base)
	// Within the lease the reservation holds...
	checkRecord(t, reserve(t, s, record("api_key:a", "k", `{"x":1}`, base.Add(time.Minute)), base.Add(time.Minute)), rec)
	// ...after it, a crashed request's reservation is taken over.
	now := base.Add(time.Minute + time.Microsecond)
	retry := record("api_key:a", "k", `{"x":1}`, now)
	if prev := reserve(t, s, retry, now); prev != nil {
		t.Fatalf("stale in-flight record returned: %+v", *prev)
	}
	checkRecord(t, reserve(t, s, retry, now), retry)
	// The retry completes the record it took over.
	done := retry
	done.Done, done.Status = true, 200
	if err := s.Complete(t.Context(), done); err != nil {
		t.Fatal(err)
	}
}

func testRelease(t *testing.T, s api.IdempotencyStore) {
	ctx := t.Context()
	rec := record("api_key:a", "k", `{}`, base)
	reserve(t, s, rec, base)
	if err := s.Release(ctx, "api_key:a", "k"); err != nil {
		t.Fatal(err)
	}
	if prev := reserve(t, s, rec, base); prev != nil {
		t.Fatalf("released key still reserved: %+v", *prev)
	}
	done := rec
	done.Done, done.Status = true, 200
	if err := s.Complete(ctx, done); err != nil {
		t.Fatal(err)
	}
	// Release leaves a completed record alone, and an absent key is no
	// error.
	if err := s.Release(ctx, "api_key:a", "k"); err != nil {
		t.Fatal(err)
	}
	if err := s.Release(ctx, "api_key:a", "absent"); err != nil {
		t.Fatal(err)
	}
	checkRecord(t, reserve(t, s, rec, base), done)
}

func testPerPrincipal(t *testing.T, s api.IdempotencyStore) {
	a := record("api_key:a", "k", `{}`, base)
	b := record("api_key:b", "k", `{}`, base)
	reserve(t, s, a, base)
	if prev := reserve(t, s, b, base); prev != nil {
		t.Fatalf("another principal's key: %+v", *prev)
	}
	if err := s.Release(t.Context(), "api_key:b", "k"); err != nil {
		t.Fatal(err)
	}
	checkRecord(t, reserve(t, s, a, base), a)
}

// testConcurrentReserve: of requests racing for one key, exactly one
// reserves it; the others see its reservation. Racing for an expired
// record, too, exactly one replaces it.
func testConcurrentReserve(t *testing.T, s api.IdempotencyStore) {
	const n = 16
	race := func(key string, now time.Time) {
		t.Helper()
		var wg sync.WaitGroup
		var mu sync.Mutex
		winners := 0
		for i := range n {
			wg.Go(func() {
				rec := record("api_key:a", key, fmt.Sprint(i), now)
				prev, err := s.Reserve(t.Context(), rec, now, now.Add(-time.Minute))
				if err != nil {
					t.Errorf("reserve %d: %v", i, err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if prev == nil {
					winners++
				} else if prev.Done || prev.Key != key {
					t.Errorf("reserve %d found %+v", i, *prev)
				}
			})
		}
		wg.Wait()
		if winners != 1 {
			t.Fatalf("key %s: %d requests reserved it, want 1", key, winners)
		}
	}
	race("fresh", base)
	race("fresh", base.Add(ttl)) // the first reservation has expired
}

// testConcurrentComplete: of requests racing to complete one reservation,
// exactly one stores its response.
func testConcurrentComplete(t *testing.T, s api.IdempotencyStore) {
	rec := record("api_key:a", "k", `{}`, base)
	reserve(t, s, rec, base)
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []int
	for i := range n {
		wg.Go(func() {
			done := rec
			done.Done, done.Status, done.Body = true, 200, []byte(fmt.Sprint(i))
			err := s.Complete(t.Context(), done)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, i)
			case !errors.Is(err, api.ErrNoRecord):
				t.Errorf("complete %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("%d completions succeeded, want 1", len(won))
	}
	want := rec
	want.Done, want.Status, want.Body = true, 200, []byte(fmt.Sprint(won[0]))
	checkRecord(t, reserve(t, s, rec, base), want)
}
