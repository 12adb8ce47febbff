package api

import (
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/signet-pki/signet/internal/tokenbucket"
)

// A Rate is a token bucket: Burst requests at once, refilled at PerSecond.
type Rate = tokenbucket.Rate

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
	// Rejected, if set, is called for every request refused with 429,
	// with the scope of the bucket that refused it: "ip", "principal",
	// "ip_sensitive" or "principal_sensitive" (metrics).
	Rejected func(scope string)

	buckets *tokenbucket.Set
}

// NewRateLimiter returns a limiter for cfg.
func NewRateLimiter(cfg RateLimits) *RateLimiter {
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = 100000
	}
	return &RateLimiter{cfg: cfg, buckets: tokenbucket.New(cfg.MaxEntries)}
}

// A decision is the state of one bucket after taking a token.
type decision struct {
	ok        bool
	rate      Rate
	remaining int
	reset     int // seconds until the bucket is full again
	retry     int // seconds until a token is available (when !ok)
	sensitive bool
}

// take removes a token from the bucket key of rate r.
func (l *RateLimiter) take(key string, r Rate) decision {
	now := time.Now()
	if l.Now != nil {
		now = l.Now()
	}
	tokens, ok := l.buckets.Take(key, r, now)
	d := decision{rate: r, ok: ok}
	if !ok {
		d.retry = int(math.Ceil((1 - tokens) / r.PerSecond))
	}
	d.remaining = int(tokens)
	d.reset = int(math.Ceil((float64(r.Burst) - tokens) / r.PerSecond))
	return d
}

// Len returns the number of buckets held.
func (l *RateLimiter) Len() int { return l.buckets.Len() }

// ByIP returns middleware limiting requests per client IP. mux is the
// router whose routes may be marked [Sensitive].
func (l *RateLimiter) ByIP(mux *http.ServeMux) func(http.Handler) http.Handler {
	return l.middleware(mux, "ip", l.cfg.PerIP, l.cfg.SensitiveIP, func(r *http.Request) string { return "ip:" + ClientIP(r) })
}

// ByPrincipal returns middleware limiting requests per authenticated
// principal; requests without one pass.
func (l *RateLimiter) ByPrincipal(mux *http.ServeMux) func(http.Handler) http.Handler {
	return l.middleware(mux, "principal", l.cfg.PerKey, l.cfg.SensitiveKey, func(r *http.Request) string {
		if p, ok := PrincipalFrom(r.Context()); ok {
			return "p:" + string(p.Kind) + ":" + p.ID
		}
		return ""
	})
}

func (l *RateLimiter) middleware(mux *http.ServeMux, scope string, normal, strict Rate, id func(*http.Request) string) func(http.Handler) http.Handler {
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
					d := l.take("!"+key, strict)
					d.sensitive = true
					ds = append(ds, d)
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
				if l.Rejected != nil {
					if worst.sensitive {
						l.Rejected(scope + "_sensitive")
					} else {
						l.Rejected(scope)
					}
				}
				WriteProblem(w, r, &RetryAfterError{Err: &Error{Kind: KindRateLimited, Detail: "rate limit exceeded; retry later"}, Seconds: max(1, worst.retry)})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
