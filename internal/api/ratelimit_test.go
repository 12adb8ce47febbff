package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/api"
)

func sensitiveRoutes(mux api.Mux, _ *env) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { api.WriteJSON(w, 200, map[string]string{}) })
	mux.Handle("GET /v1/recipient/plain", ok)
	mux.Handle("GET /v1/plain", ok)
	mux.Handle("POST /v1/recipient/code", api.Sensitive(ok))
}

func TestRateLimit(t *testing.T) {
	e := newEnv(t, envOptions{
		extra: sensitiveRoutes,
		limits: api.RateLimits{
			PerIP:       api.Rate{PerSecond: 1, Burst: 5},
			SensitiveIP: api.Rate{PerSecond: 0.5, Burst: 2},
		},
	})
	tests := []struct {
		name      string
		method    string
		path      string
		n         int // requests that pass
		limit     int
		retryMin  int
		advance   time.Duration
		passAfter bool
	}{
		// The sensitive bucket (2) runs out before the per-IP one (5).
		{"sensitive", "POST", "/v1/recipient/code", 2, 2, 2, 2 * time.Second, true},
		// Three tokens of the IP bucket are left.
		{"plain", "GET", "/v1/recipient/plain", 3, 5, 1, time.Second, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i < tc.n; i++ {
				r := e.do(tc.method, tc.path, "", nil)
				if r.status != 200 {
					t.Fatalf("request %d: %d %s", i, r.status, r.body)
				}
				if got := r.header.Get("RateLimit-Limit"); got != strconv.Itoa(tc.limit) {
					t.Errorf("request %d: RateLimit-Limit %q, want %d", i, got, tc.limit)
				}
				if got := r.header.Get("RateLimit-Remaining"); got != strconv.Itoa(tc.n-i-1) {
					t.Errorf("request %d: RateLimit-Remaining %q, want %d", i, got, tc.n-i-1)
				}
			}
			r := e.do(tc.method, tc.path, "", nil)
			checkProblem(t, r, 429, "rate-limited", tc.path)
			ra, err := strconv.Atoi(r.header.Get("Retry-After"))
			if err != nil || ra < tc.retryMin {
				t.Errorf("Retry-After %q, want >= %d", r.header.Get("Retry-After"), tc.retryMin)
			}
			for _, h := range []string{"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy"} {
				if r.header.Get(h) == "" {
					t.Errorf("429 without %s", h)
				}
			}
			if r.header.Get("RateLimit-Remaining") != "0" {
				t.Errorf("RateLimit-Remaining %q on 429", r.header.Get("RateLimit-Remaining"))
			}
			e.clock.Advance(tc.advance)
			if r := e.do(tc.method, tc.path, "", nil); (r.status == 200) != tc.passAfter {
				t.Errorf("after %v: %d", tc.advance, r.status)
			}
		})
	}
}

func TestRateLimitPerKey(t *testing.T) {
	e := newEnv(t, envOptions{
		extra:  sensitiveRoutes,
		limits: api.RateLimits{PerIP: api.Rate{PerSecond: 1000, Burst: 1000}, PerKey: api.Rate{PerSecond: 1, Burst: 3}},
	})
	ta := e.tenant("A")
	k1, _ := e.key(ta, "document.read")
	k2, _ := e.key(ta, "document.read")
	for i := 0; i < 3; i++ {
		if r := e.do("GET", "/v1/plain", k1, nil); r.status != 200 {
			t.Fatalf("k1 request %d: %d", i, r.status)
		}
	}
	checkProblem(t, e.do("GET", "/v1/plain", k1, nil), 429, "rate-limited", "/v1/plain")
	if r := e.do("GET", "/v1/plain", k2, nil); r.status != 200 {
		t.Fatalf("k2 limited by k1's bucket: %d", r.status)
	}
}

func TestRateLimiterBounded(t *testing.T) {
	l := api.NewRateLimiter(api.RateLimits{PerIP: api.Rate{PerSecond: 1, Burst: 1}, MaxEntries: 10})
	h := l.ByIP(nil)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	for i := 0; i < 100; i++ {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = fmt.Sprintf("10.0.0.%d:1234", i)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("client %d limited: %d", i, rec.Code)
		}
	}
	if n := l.Len(); n != 10 {
		t.Fatalf("%d buckets, want 10", n)
	}
}
