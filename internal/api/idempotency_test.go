package api_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/api"
)

// counter is a handler that counts its runs and echoes a run number;
// POST /v1/fail answers 500, POST /v1/block waits for release.
type counter struct {
	runs    atomic.Int64
	entered chan struct{}
	release chan struct{}
}

func (c *counter) register(mux api.Mux, _ *env) {
	mux.HandleFunc("POST /v1/count", func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := api.DecodeJSON(w, r, &body); err != nil {
			api.WriteProblem(w, r, err)
			return
		}
		n := c.runs.Add(1)
		w.Header().Set("Location", fmt.Sprintf("/v1/count/%d", n))
		api.WriteJSON(w, http.StatusCreated, map[string]any{"run": n})
	})
	mux.HandleFunc("POST /v1/fail", func(w http.ResponseWriter, r *http.Request) {
		c.runs.Add(1)
		api.WriteProblem(w, r, fmt.Errorf("boom"))
	})
	mux.HandleFunc("POST /v1/block", func(w http.ResponseWriter, r *http.Request) {
		c.runs.Add(1)
		c.entered <- struct{}{}
		<-c.release
		api.WriteJSON(w, http.StatusOK, map[string]string{})
	})
}

func TestIdempotency(t *testing.T) {
	c := &counter{entered: make(chan struct{}), release: make(chan struct{})}
	e := newEnv(t, envOptions{extra: c.register})
	ta := e.tenant("A")
	k1, _ := e.key(ta, "document.read")
	k2, _ := e.key(ta, "document.read")

	type step struct {
		secret, path, key, body string
		advance                 time.Duration
		status                  int
		slug                    string // problem type, if a problem
		replayed                bool
		runs                    int64 // handler runs after the step
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"replay", []step{
			{secret: k1, path: "/v1/count", key: "a", body: `{"x":1}`, status: 201, runs: 1},
			{secret: k1, path: "/v1/count", key: "a", body: `{"x":1}`, status: 201, replayed: true, runs: 1},
		}},
		{"different body", []step{
			{secret: k1, path: "/v1/count", key: "b", body: `{"x":1}`, status: 201, runs: 1},
			{secret: k1, path: "/v1/count", key: "b", body: `{"x":2}`, status: 422, slug: "idempotency-key-reused", runs: 1},
		}},
		{"different path", []step{
			{secret: k1, path: "/v1/count", key: "c", body: `{}`, status: 201, runs: 1},
			{secret: k1, path: "/v1/fail", key: "c", body: `{}`, status: 422, slug: "idempotency-key-reused", runs: 1},
		}},
		{"per principal", []step{
			{secret: k1, path: "/v1/count", key: "d", body: `{}`, status: 201, runs: 1},
			{secret: k2, path: "/v1/count", key: "d", body: `{}`, status: 201, runs: 2},
		}},
		{"expiry", []step{
			{secret: k1, path: "/v1/count", key: "e", body: `{}`, status: 201, runs: 1},
			{secret: k1, path: "/v1/count", key: "e", body: `{}`, advance: 23 * time.Hour, status: 201, replayed: true, runs: 1},
			{secret: k1, path: "/v1/count", key: "e", body: `{"new":true}`, advance: 2 * time.Hour, status: 201, runs: 2},
		}},
		{"5xx not stored", []step{
			{secret: k1, path: "/v1/fail", key: "f", body: `{}`, status: 500, slug: "internal", runs: 1},
			{secret: k1, path: "/v1/fail", key: "f", body: `{}`, status: 500, slug: "internal", runs: 2},
		}},
		{"4xx stored", []step{
			{secret: k1, path: "/v1/count", key: "g", body: `{"x":`, status: 400, slug: "malformed-json", runs: 0},
			{secret: k1, path: "/v1/count", key: "g", body: `{"x":`, status: 400, replayed: true, runs: 0},
		}},
		{"no key, no dedup", []step{
			{secret: k1, path: "/v1/count", body: `{}`, status: 201, runs: 1},
			{secret: k1, path: "/v1/count", body: `{}`, status: 201, runs: 2},
		}},
		{"bad key", []step{
			{secret: k1, path: "/v1/count", key: "a b", body: `{}`, status: 400, slug: "invalid-idempotency-key", runs: 0},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c.runs.Store(0)
			var first resp
			for i, s := range tc.steps {
				e.clock.Advance(s.advance)
				var hdr []string
				if s.key != "" {
					hdr = append(hdr, "Idempotency-Key: "+strings.ReplaceAll(tc.name, " ", "-")+"-"+s.key)
				}
				r := e.do("POST", s.path, s.secret, s.body, hdr...)
				if r.status != s.status {
					t.Fatalf("step %d: status %d, want %d: %s", i, r.status, s.status, r.body)
				}
				if s.slug != "" {
					checkProblem(t, r, s.status, s.slug, s.path)
				}
				if got := r.header.Get("Idempotent-Replayed") == "true"; got != s.replayed {
					t.Errorf("step %d: replayed %v, want %v", i, got, s.replayed)
				}
				if s.replayed && (string(r.body) != string(first.body) || r.header.Get("Location") != first.header.Get("Location")) {
					t.Errorf("step %d: replay %q %q differs from %q %q", i, r.body, r.header.Get("Location"), first.body, first.header.Get("Location"))
				}
				if n := c.runs.Load(); n != s.runs {
					t.Errorf("step %d: handler ran %d times, want %d", i, n, s.runs)
				}
				if i == 0 {
					first = r
				}
			}
		})
	}

	t.Run("in flight", func(t *testing.T) {
		done := make(chan resp)
		go func() { done <- e.do("POST", "/v1/block", k1, `{}`, "Idempotency-Key: inflight") }()
		<-c.entered
		r := e.do("POST", "/v1/block", k1, `{}`, "Idempotency-Key: inflight")
		checkProblem(t, r, 409, "idempotency-key-in-flight", "/v1/block")
		r = e.do("POST", "/v1/block", k1, `{"other":1}`, "Idempotency-Key: inflight")
		checkProblem(t, r, 422, "idempotency-key-reused", "/v1/block")
		close(c.release)
		if r := <-done; r.status != 200 {
			t.Fatalf("first request: %d %s", r.status, r.body)
		}
		r = e.do("POST", "/v1/block", k1, `{}`, "Idempotency-Key: inflight")
		if r.status != 200 || r.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("after completion: %d replayed=%q", r.status, r.header.Get("Idempotent-Replayed"))
		}
	})
}

// TestIdempotencySecretShownOnce: a response carrying a secret shown once
// ([api.WriteSecretJSON]) is not replayed; a repeat of the request is
// refused with a problem that says so, and the stored record holds no copy
// of the response.
func TestIdempotencySecretShownOnce(t *testing.T) {
	var runs atomic.Int64
	e := newEnv(t, envOptions{extra: func(mux api.Mux, _ *env) {
		mux.HandleFunc("POST /v1/secrets", func(w http.ResponseWriter, r *http.Request) {
			var body map[string]any
			if err := api.DecodeJSON(w, r, &body); err != nil {
				api.WriteProblem(w, r, err)
				return
			}
			n := runs.Add(1)
			api.WriteSecretJSON(w, r, http.StatusCreated, map[string]any{"id": n, "secret": fmt.Sprintf("sk_secret-number-%d", n)})
		})
	}})
	ta := e.tenant("A")
	k, keyID := e.key(ta, "document.upload")
	body := map[string]any{"name": "ci"}
	first := e.do("POST", "/v1/secrets", k, body, "Idempotency-Key: new-key")
	if first.status != 201 {
		t.Fatalf("create: %d %s", first.status, first.body)
	}
	var got struct {
		Secret string `json:"secret"`
	}
	first.json(t, &got)
	if got.Secret == "" || first.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("first answer %s, Cache-Control %q", first.body, first.header.Get("Cache-Control"))
	}
	for range 2 {
		r := e.do("POST", "/v1/secrets", k, body, "Idempotency-Key: new-key")
		checkProblem(t, r, 409, "secret-shown-once", "/v1/secrets")
		if strings.Contains(string(r.body), got.Secret) || r.header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("repeat answered %s %v", r.body, r.header)
		}
		var p api.Problem
		r.json(t, &p)
		if !strings.Contains(p.Detail, "201") || !strings.Contains(p.Detail, "shown only once") {
			t.Errorf("detail %q", p.Detail)
		}
	}
	// A different request under the key is still a reuse.
	body["name"] = "other"
	r := e.do("POST", "/v1/secrets", k, body, "Idempotency-Key: new-key")
	checkProblem(t, r, 422, "idempotency-key-reused", "/v1/secrets")
	if n := runs.Load(); n != 1 {
		t.Fatalf("handler ran %d times, want 1", n)
	}
	// The store holds the marker only.
	now := e.clock.Now()
	rec, err := e.idem.Reserve(t.Context(), api.IdempotencyRecord{Principal: "api_key:" + keyID, Key: "new-key", ExpiresAt: now.Add(time.Hour)}, now, now)
	if err != nil || rec == nil {
		t.Fatalf("reserve: %v %v", rec, err)
	}
	if !rec.Done || !rec.Secret || rec.Status != 201 || len(rec.Body) != 0 || len(rec.Header) != 0 {
		t.Fatalf("stored record %+v", rec)
	}
}

// hashStore keeps the request hash of the last reservation.
type hashStore struct{ hash [32]byte }

func (s *hashStore) Reserve(_ context.Context, rec api.IdempotencyRecord, _, _ time.Time) (*api.IdempotencyRecord, error) {
	s.hash = rec.RequestHash
	return nil, nil
}
func (s *hashStore) Complete(context.Context, api.IdempotencyRecord) error { return nil }
func (s *hashStore) Release(context.Context, string, string) error         { return nil }

// TestIdempotencyHashKey: with a key, the stored request hash is an HMAC,
// so a reader of the records cannot confirm a guess of a body's secret
// with SHA-256 alone; two keys give two hashes of one request.
func TestIdempotencyHashKey(t *testing.T) {
	body := `{"access_code":"481516"}`
	hashOf := func(key []byte) [32]byte {
		st := &hashStore{}
		m := &api.Idempotency{Store: st, HashKey: key}
		h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusCreated) }))
		r := httptest.NewRequest("POST", "/v1/envelopes", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Idempotency-Key", "k1")
		r = r.WithContext(api.WithPrincipal(r.Context(), api.Principal{Kind: api.PrincipalAPIKey, ID: "k", Tenant: "t"}))
		h.ServeHTTP(httptest.NewRecorder(), r)
		return st.hash
	}
	unkeyed := sha256.New()
	for _, s := range []string{"POST", "/v1/envelopes", "application/json"} {
		unkeyed.Write([]byte(s))
		unkeyed.Write([]byte{0})
	}
	unkeyed.Write([]byte(body))
	var plain [32]byte
	unkeyed.Sum(plain[:0])
	if got := hashOf(nil); got != plain {
		t.Fatalf("without a key the hash is %x, want the SHA-256 %x", got, plain)
	}
	a, b := hashOf([]byte("key one, 32 bytes long..........")), hashOf([]byte("key two, 32 bytes long.........."))
	if a == plain || b == plain || a == b {
		t.Fatalf("keyed hashes %x, %x; plain %x: want three distinct values", a, b, plain)
	}
	if again := hashOf([]byte("key one, 32 bytes long..........")); again != a {
		t.Fatal("one key, one request: two hashes")
	}
}
