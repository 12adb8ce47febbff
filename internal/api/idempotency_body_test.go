package api_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/api"
)

// memIdem is an in-memory IdempotencyStore keyed by principal and key.
type memIdem struct {
	mu   sync.Mutex
	recs map[string]api.IdempotencyRecord
}

func (s *memIdem) Reserve(_ context.Context, rec api.IdempotencyRecord, _, _ time.Time) (*api.IdempotencyRecord, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.recs[rec.Principal+"\x00"+rec.Key]; ok {
		return &p, nil
	}
	if s.recs == nil {
		s.recs = map[string]api.IdempotencyRecord{}
	}
	s.recs[rec.Principal+"\x00"+rec.Key] = rec
	return nil, nil
}

func (s *memIdem) Complete(_ context.Context, rec api.IdempotencyRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs[rec.Principal+"\x00"+rec.Key] = rec
	return nil
}

func (s *memIdem) Release(_ context.Context, principal, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.recs, principal+"\x00"+key)
	return nil
}

// TestIdempotencyBodyKey: with a body key, a stored response body holds
// nothing of the response in clear and replays as it was sent; a body
// moved to another record does not open, and a body stored in clear
// before the key was set still replays.
func TestIdempotencyBodyKey(t *testing.T) {
	const marker = "marker-recipient-5b2e@example.com"
	st := &memIdem{}
	m := &api.Idempotency{Store: st, BodyKey: bytes.Repeat([]byte{9}, 32)}
	h := m.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.WriteJSON(w, http.StatusCreated, map[string]string{"email": marker, "path": r.URL.Path})
	}))
	do := func(key, path string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", path, strings.NewReader(`{}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Idempotency-Key", key)
		r = r.WithContext(api.WithPrincipal(r.Context(), api.Principal{Kind: api.PrincipalAPIKey, ID: "k", Tenant: "t"}))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	first := do("k1", "/v1/envelopes")
	if first.Code != http.StatusCreated || !strings.Contains(first.Body.String(), marker) {
		t.Fatalf("first: %d %s", first.Code, first.Body)
	}
	do("k2", "/v1/other")
	rec := st.recs["api_key:k\x00k1"]
	if len(rec.Body) == 0 || bytes.Contains(rec.Body, []byte(marker)) || bytes.Contains(rec.Body, []byte("email")) {
		t.Fatalf("stored body %q", rec.Body)
	}
	again := do("k1", "/v1/envelopes")
	if again.Code != http.StatusCreated || again.Body.String() != first.Body.String() || again.Header().Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s", again.Code, again.Body)
	}
	// k1's sealed body in k2's record does not open.
	other := st.recs["api_key:k\x00k2"]
	other.Body = rec.Body
	st.recs["api_key:k\x00k2"] = other
	if w := do("k2", "/v1/other"); w.Code != http.StatusServiceUnavailable || strings.Contains(w.Body.String(), marker) {
		t.Fatalf("moved body: %d %s", w.Code, w.Body)
	}
	// A body stored in clear (before the key) replays.
	other.Body = []byte(`{"clear":true}`)
	st.recs["api_key:k\x00k2"] = other
	if w := do("k2", "/v1/other"); w.Code != http.StatusCreated || w.Body.String() != `{"clear":true}` {
		t.Fatalf("clear body: %d %s", w.Code, w.Body)
	}
}
