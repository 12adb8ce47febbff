package api

import (
	"container/list"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// A Rate is a token bucket: Burst requests at once, refilled at PerSecond.
type Rate struct {
	PerSecond float64 `json:"per_second"`
	Burst     int     `json:"burst"`
}

// RateLimits configures a [RateLimiter]. A zero Rate means no limit.
type RateLimits struct {
	// PerIP and PerKey apply to every request of one client IP, and of one
	// authenticated principal.
	PerIP  Rate `json:"per_ip"`
	PerKey Rate `json:"per_key"`
	// SensitiveIP and SensitiveKey apply in addition to routes marked
	// [Sensitive] (one-time codes, signing).
	SensitiveIP  Rate `json:"sensitive_per_ip"`
	SensitiveKey Rate `json:"sensitive_per_key"`
	// MaxEntries bounds the buckets kept in memory (default 100000); the
	// least recently used is evicted first.
	MaxEntries int `json:"max_entries"`
}

// DefaultRateLimits are generous for API clients and strict for
// code and signing endpoints.
var DefaultRateLimits = RateLimits{
	PerIP:        Rate{PerSecond: 100, Burst: 200},
	PerKey:       Rate{PerSecond: 200, Burst: 400},
	SensitiveIP:  Rate{PerSecond: 5, Burst: 20},
	SensitiveKey: Rate{PerSecond: 50, Burst: 100},
}

// A RateLimiter enforces [RateLimits] with in-memory token buckets. It
// answers a request over its limit with a 429 problem carrying
// Retry-After (RFC 9110 §10.2.3) and, on every limited response, the
// RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset and
// RateLimit-Policy fields of draft-ietf-httpapi-ratelimit-headers-06 for
// the most constrained bucket.
type RateLimiter struct {
	cfg RateLimits
	// Now defaults to time.Now.
	Now func() time.Time

	mu      sync.Mutex
	buckets map[string]*list.Element
	lru     list.List // of *bucket, most recent at front
}

type bucket struct {
	key    string
	tokens float64
	last   time.Time
}

// NewRateLimiter returns a limiter for cfg.
func NewRateLimiter(cfg RateLimits) *RateLimiter {
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 100000
	}
	return &RateLimiter{cfg: cfg, buckets: map[string]*list.Element{}}
}

// A decision is the state of one bucket after taking a token.
type decision struct {
	ok        bool
	rate      Rate
	remaining int
	reset     int // seconds until the bucket is full again
	retry     int // seconds until a token is available (when !ok)
}

// take removes a token from the bucket key of rate r.
func (l *RateLimiter) take(key string, r Rate) decision {
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var b *bucket
	if e, ok := l.buckets[key]; ok {
		l.lru.MoveToFront(e)
		b = e.Value.(*bucket)
		if el := now.Sub(b.last).Seconds(); el > 0 {
			b.tokens = math.Min(float64(r.Burst), b.tokens+el*r.PerSecond)
		}
		b.last = now
	} else {
		for len(l.buckets) >= l.cfg.MaxEntries {
			old := l.lru.Back()
			l.lru.Remove(old)
			delete(l.buckets, old.Value.(*bucket).key)
		}
		b = &bucket{key: key, tokens: float64(r.Burst), last: now}
		l.buckets[key] = l.lru.PushFront(b)
	}
	d := decision{rate: r}
	if b.tokens >= 1 {
		b.tokens--
		d.ok = true
	} else {
		d.retry = int(math.Ceil((1 - b.tokens) / r.PerSecond))
	}
	d.remaining = int(b.tokens)
	d.reset = int(math.Ceil((float64(r.Burst) - b.tokens) / r.PerSecond))
	return d
}

// Len returns the number of buckets held.
func (l *RateLimiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// ByIP returns middleware limiting requests per client IP. mux is the
// router whose routes may be marked [Sensitive].
func (l *RateLimiter) ByIP(mux *http.ServeMux) func(http.Handler) http.Handler {
	return l.middleware(mux, l.cfg.PerIP, l.cfg.SensitiveIP, func(r *http.Request) string { return "ip:" + ClientIP(r) })
}

// ByPrincipal returns middleware limiting requests per authenticated
// principal; requests without one pass.
func (l *RateLimiter) ByPrincipal(mux *http.ServeMux) func(http.Handler) http.Handler {
	return l.middleware(mux, l.cfg.PerKey, l.cfg.SensitiveKey, func(r *http.Request) string {
		if p, ok := PrincipalFrom(r.Context()); ok {
			return "p:" + string(p.Kind) + ":" + p.ID
		}
		return ""
	})
}

func (l *RateLimiter) middleware(mux *http.ServeMux, normal, strict Rate, id func(*http.Request) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key := id(r)
			if key == "" {
				next.ServeHTTP(w, r)
				return
			}
			var ds []decision
			if normal.PerSecond > 0 {
				ds = append(ds, l.take(key, normal))
			}
			if strict.PerSecond > 0 && mux != nil {
				if h, _ := mux.Handler(r); IsSensitive(h) {
					ds = append(ds, l.take("!"+key, strict))
				}
			}
			if len(ds) == 0 {
				next.ServeHTTP(w, r)
				return
			}
			// Report the most constrained bucket; refuse if any is empty.
			worst := ds[0]
			for _, d := range ds[1:] {
				if !d.ok && worst.ok || d.ok == worst.ok && d.remaining < worst.remaining {
					worst = d
				}
			}
			h := w.Header()
			h.Set("RateLimit-Limit", strconv.Itoa(worst.rate.Burst))
			h.Set("RateLimit-Remaining", strconv.Itoa(worst.remaining))
			h.Set("RateLimit-Reset", strconv.Itoa(worst.reset))
			h.Set("RateLimit-Policy", strconv.Itoa(worst.rate.Burst)+";w="+strconv.Itoa(int(math.Ceil(float64(worst.rate.Burst)/worst.rate.PerSecond))))
			if !worst.ok {
				WriteProblem(w, r, &RetryAfterError{Err: &Error{Kind: KindRateLimited, Detail: "rate limit exceeded; retry later"}, Seconds: max(1, worst.retry)})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
