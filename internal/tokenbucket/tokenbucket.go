// Package tokenbucket keeps token buckets by key in memory, a bounded
// number of them, the least recently used dropped first. The API's rate
// limiter and the PKI listener's per-client budgets are built on it; each
// answers a refusal its own way from the tokens left.
package tokenbucket

import (
	"container/list"
	"fmt"
	"math"
	"sync"
	"time"
)

// A Rate is a token bucket: Burst requests at once, refilled at
// PerSecond. The zero Rate is no limit.
type Rate struct {
	PerSecond float64 `json:"per_second"`
	Burst     int     `json:"burst"`
}

// Validate reports whether r is usable: PerSecond and Burst both positive
// (and PerSecond finite), or both zero.
func (r Rate) Validate() error {
	if r.PerSecond < 0 || r.Burst < 0 || (r.PerSecond > 0) != (r.Burst > 0) || math.IsNaN(r.PerSecond) || math.IsInf(r.PerSecond, 0) {
		return fmt.Errorf("rate %+v: per_second and burst are both positive or both zero", r)
	}
	return nil
}

// A Set holds token buckets by key, at most Max of them. The zero Set is
// not usable; call [New].
type Set struct {
	max int
	mu  sync.Mutex
	m   map[string]*list.Element
	lru list.List // of *bucket, most recent at front
}

type bucket struct {
	key    string
	tokens float64
	last   time.Time
}

// New returns a Set of at most max buckets.
func New(max int) *Set {
	return &Set{max: max, m: map[string]*list.Element{}}
}

// Take refills key's bucket of rate r up to now (a new bucket starts
// full) and removes a token if one is there. It returns the tokens left
// and whether a token was taken.
func (s *Set) Take(key string, r Rate, now time.Time) (tokens float64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b *bucket
	if e, found := s.m[key]; found {
		s.lru.MoveToFront(e)
		b = e.Value.(*bucket)
		if el := now.Sub(b.last).Seconds(); el > 0 {
			b.tokens = math.Min(float64(r.Burst), b.tokens+el*r.PerSecond)
		}
		b.last = now
	} else {
		for len(s.m) >= s.max {
			old := s.lru.Back()
			s.lru.Remove(old)
			delete(s.m, old.Value.(*bucket).key)
		}
		b = &bucket{key: key, tokens: float64(r.Burst), last: now}
		s.m[key] = s.lru.PushFront(b)
	}
	if b.tokens >= 1 {
		b.tokens--
		return b.tokens, true
	}
	return b.tokens, false
}

// Len returns the number of buckets held.
func (s *Set) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
