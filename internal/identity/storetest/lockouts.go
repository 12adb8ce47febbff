package storetest

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/identity"
)

// testLockouts: failures count per key within a window opened by the
// first failure, across nodes; a new window starts over; locks keep the
// later end; clearing forgets failures, not locks; keys are stored only
// hashed; racing failures on two nodes get distinct counts.
func testLockouts(t *testing.T, db DB) {
	ctx := t.Context()
	const window = 15 * time.Minute
	key := "pwd\x00t-1\x00lockout-victim@example.org"
	other := "ip\x00192.0.2.77"
	count := func(s identity.Store, k string, at time.Time) int {
		t.Helper()
		n, err := s.RecordFailure(ctx, k, at, window)
		if err != nil {
			t.Fatalf("record failure: %v", err)
		}
		return n
	}
	until := func(s identity.Store, k string) time.Time {
		t.Helper()
		u, err := s.LockedUntil(ctx, k)
		if err != nil {
			t.Fatalf("locked until: %v", err)
		}
		return u
	}

	if u := until(db.A, key); !u.IsZero() {
		t.Fatalf("fresh key locked until %v", u)
	}
	for i := 1; i <= 4; i++ {
		s := db.A
		if i%2 == 0 {
			s = db.B // the other node continues the count
		}
		if n := count(s, key, base.Add(time.Duration(i)*time.Minute)); n != i {
			t.Fatalf("failure %d counted as %d", i, n)
		}
	}
	if n := count(db.A, other, base); n != 1 {
		t.Fatalf("another key's first failure counted as %d", n)
	}
	// The window opened at base+1m: a failure at base+16m starts a new one.
	if n := count(db.B, key, base.Add(16*time.Minute)); n != 1 {
		t.Fatalf("failure after the window counted as %d, want 1", n)
	}
	if n := count(db.A, key, base.Add(17*time.Minute)); n != 2 {
		t.Fatalf("second failure of the new window counted as %d", n)
	}

	lock := base.Add(32 * time.Minute)
	is(t, "lock", db.A.Lock(ctx, key, lock), nil)
	is(t, "earlier lock", db.B.Lock(ctx, key, base), nil)
	if u := until(db.B, key); !u.Equal(lock) {
		t.Fatalf("locked until %v on node B, want %v", u, lock)
	}
	is(t, "clear", db.B.ClearFailures(ctx, key), nil)
	if u := until(db.A, key); !u.Equal(lock) {
		t.Fatalf("clearing failures lifted the lock: %v", u)
	}
	if n := count(db.A, key, base.Add(18*time.Minute)); n != 1 {
		t.Fatalf("failure after clearing counted as %d, want 1", n)
	}
	is(t, "clear unknown key", db.A.ClearFailures(ctx, "never seen"), nil)

	// A failure long after the lock ended purges the ended rows.
	if n := count(db.A, "late", base.Add(24*time.Hour)); n != 1 {
		t.Fatalf("late failure counted as %d", n)
	}
	if u := until(db.A, key); !u.IsZero() {
		t.Fatalf("ended lock still stored until %v after the purge", u)
	}

	// Racing failures on two nodes are each counted once.
	const n = 16
	var mu sync.Mutex
	var got []int
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			s := db.A
			if i%2 == 1 {
				s = db.B
			}
			c, err := s.RecordFailure(ctx, "raced", base.Add(25*time.Hour), window)
			if err != nil {
				t.Errorf("racing failure: %v", err)
				return
			}
			mu.Lock()
			got = append(got, c)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(got)
	for i, c := range got {
		if c != i+1 {
			t.Fatalf("racing failures counted %v, want 1..%d", got, n)
		}
	}

	for _, bad := range []struct {
		key    string
		window time.Duration
	}{{"", window}, {strings.Repeat("k", identity.MaxLockoutKey+1), window}, {"k", 0}, {"k", -time.Second}} {
		if _, err := db.A.RecordFailure(ctx, bad.key, base, bad.window); err == nil {
			t.Errorf("RecordFailure(%d-byte key, %v) accepted", len(bad.key), bad.window)
		}
	}
	is(t, "lock empty key", db.A.Lock(ctx, "", lock), identity.ErrInvalid)
	_, err := db.A.LockedUntil(ctx, "")
	is(t, "locked until of empty key", err, identity.ErrInvalid)
	is(t, "clear empty key", db.A.ClearFailures(ctx, ""), identity.ErrInvalid)

	if db.Holds != nil {
		for _, k := range []string{key, other, "lockout-victim@example.org", "192.0.2.77"} {
			if db.Holds(t, k) {
				t.Errorf("the database holds the lockout key %q in clear", fmt.Sprintf("%.20s", k))
			}
		}
	}
}
