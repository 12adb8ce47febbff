package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/api"
)

// recorder is a RequestObserver that keeps what it is told.
type recorder struct {
	mu    sync.Mutex
	ended []ended
}

type ended struct {
	route  string
	status int
	marked bool
}

type markKey struct{}

func (o *recorder) StartRequest(r *http.Request) context.Context {
	return context.WithValue(r.Context(), markKey{}, true)
}

func (o *recorder) EndRequest(ctx context.Context, route string, status int, elapsed time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	marked, _ := ctx.Value(markKey{}).(bool)
	o.ended = append(o.ended, ended{route, status, marked})
}

func TestRequestObserver(t *testing.T) {
	rt := api.NewRouter()
	var sawMark bool
	rt.HandleFunc("GET /v1/items/{id}", func(w http.ResponseWriter, r *http.Request) {
		sawMark, _ = r.Context().Value(markKey{}).(bool)
		w.WriteHeader(http.StatusAccepted)
	})
	rt.HandleFunc("GET /v1/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	rt.HandleFunc("GET /v1/silent", func(http.ResponseWriter, *http.Request) {})
	var scopes []string
	lim := api.NewRateLimiter(api.RateLimits{PerIP: api.Rate{PerSecond: 0.001, Burst: 1}})
	lim.Rejected = func(scope string) { scopes = append(scopes, scope) }
	obs := &recorder{}
	h := api.Chain(rt, api.Stack{Observer: obs, Limiter: lim})
	tests := []struct {
		path, ip string
		want     ended
	}{
		{"/v1/items/3f2a-secret-id", "192.0.2.1", ended{"GET /v1/items/{id}", http.StatusAccepted, true}},
		// Refused before routing: the route it was meant for.
		{"/v1/items/another-id", "192.0.2.1", ended{"GET /v1/items/{id}", http.StatusTooManyRequests, true}},
		{"/nowhere/abc", "192.0.2.2", ended{"", http.StatusNotFound, true}},
		{"/v1/panic", "192.0.2.3", ended{"GET /v1/panic", http.StatusInternalServerError, true}},
		{"/v1/silent", "192.0.2.4", ended{"GET /v1/silent", http.StatusOK, true}},
	}
	for i, tc := range tests {
		r := httptest.NewRequest("GET", tc.path, nil)
		r.RemoteAddr = tc.ip + ":1234"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.want.status {
			t.Fatalf("%s: status %d, want %d", tc.path, w.Code, tc.want.status)
		}
		if len(obs.ended) != i+1 || obs.ended[i] != tc.want {
			t.Fatalf("%s: observed %+v, want %+v", tc.path, obs.ended, tc.want)
		}
	}
	if !sawMark {
		t.Error("the handler did not get the observer's context")
	}
	if len(scopes) != 1 || scopes[0] != "ip" {
		t.Errorf("rejections %v, want [ip]", scopes)
	}
}

func TestRateLimiterRejectedSensitive(t *testing.T) {
	rt := api.NewRouter()
	rt.Handle("POST /v1/code", api.Sensitive(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})))
	var scopes []string
	lim := api.NewRateLimiter(api.RateLimits{PerIP: api.Rate{PerSecond: 100, Burst: 100}, SensitiveIP: api.Rate{PerSecond: 0.001, Burst: 1}})
	lim.Rejected = func(scope string) { scopes = append(scopes, scope) }
	h := api.Chain(rt, api.Stack{Limiter: lim})
	for range 2 {
		r := httptest.NewRequest("POST", "/v1/code", nil)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	if len(scopes) != 1 || scopes[0] != "ip_sensitive" {
		t.Errorf("rejections %v, want [ip_sensitive]", scopes)
	}
}
