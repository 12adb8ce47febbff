package tokenbucket

import (
	"testing"
	"time"
)

// TestTake: a bucket starts full, empties, refills at its rate up to its
// burst; the least recently used bucket is dropped past the bound.
func TestTake(t *testing.T) {
	s := New(2)
	r := Rate{PerSecond: 2, Burst: 3}
	t0 := time.Unix(1000, 0)
	for i, want := range []bool{true, true, true, false} {
		if _, ok := s.Take("a", r, t0); ok != want {
			t.Fatalf("take %d at t0: %v, want %v", i, ok, want)
		}
	}
	if left, ok := s.Take("a", r, t0.Add(500*time.Millisecond)); !ok || left != 0 {
		t.Fatalf("after half a second: %v left, ok %v; want one token taken, 0 left", left, ok)
	}
	if left, _ := s.Take("a", r, t0.Add(time.Hour)); left != 2 {
		t.Fatalf("after an hour: %v left, want burst-1 = 2", left)
	}
	s.Take("b", r, t0)
	s.Take("c", r, t0) // drops "a", the least recently used
	if s.Len() != 2 {
		t.Fatalf("Len = %d, want 2", s.Len())
	}
	if left, _ := s.Take("a", r, t0.Add(time.Hour)); left != 2 {
		t.Fatalf("a dropped bucket starts full again: %v left, want 2", left)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		r  Rate
		ok bool
	}{
		{Rate{}, true}, {Rate{PerSecond: 1, Burst: 1}, true},
		{Rate{PerSecond: 1}, false}, {Rate{Burst: 1}, false}, {Rate{PerSecond: -1, Burst: 1}, false},
	} {
		if err := tc.r.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v, want ok=%v", tc.r, err, tc.ok)
		}
	}
}
