package accounts_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/api"
)

// things is a tiny tenant-scoped handler: objects belong to the tenant of
// the principal that created them.
type things struct {
	mu sync.Mutex
	m  map[string]string // id -> tenant
	n  int
}

func (th *things) register(mux api.Mux, _ *env) {
	mux.Handle("POST /v1/things", api.RequireScope(api.ScopeDocumentsWrite)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := api.PrincipalFrom(r.Context())
		th.mu.Lock()
		th.n++
		id := "th" + strings.Repeat("x", th.n)
		th.m[id] = p.Tenant
		th.mu.Unlock()
		api.WriteJSON(w, http.StatusCreated, map[string]string{"id": id})
	})))
	mux.Handle("GET /v1/things/{id}", api.RequireScope(api.ScopeDocumentsRead)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := api.PrincipalFrom(r.Context())
		th.mu.Lock()
		owner, ok := th.m[r.PathValue("id")]
		th.mu.Unlock()
		if !ok || owner != p.Tenant {
			api.WriteProblem(w, r, api.ErrNotFound)
			return
		}
		api.WriteJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id")})
	})))
}

func TestAuthentication(t *testing.T) {
	th := &things{m: map[string]string{}}
	e := newEnv(t, envOptions{extra: th.register})
	ta := e.tenant("Acme")
	reader, _ := e.key(ta, api.ScopeDocumentsRead)
	writer, _ := e.key(ta, api.ScopeDocumentsWrite, api.ScopeDocumentsRead)
	revoked, revokedID := e.key(ta, api.ScopeDocumentsRead)
	if r := e.do("DELETE", "/v1/api-keys/"+revokedID+"?tenant="+ta, e.admin, nil); r.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	created := e.do("POST", "/v1/things", writer, map[string]string{})
	if created.status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	var obj struct{ ID string }
	created.json(t, &obj)
	path := "/v1/things/" + obj.ID
	// A well-formed secret that was never issued.
	unknown := accounts.KeyPrefix + strings.Repeat("A", 43)

	tests := []struct {
		name   string
		header string
		status int
		slug   string
	}{
		{"no key", "", 401, "unauthorized"},
		{"not bearer", "Basic " + reader, 401, "unauthorized"},
		{"malformed", "Bearer sk_short", 401, "unauthorized"},
		{"unknown key", "Bearer " + unknown, 401, "unauthorized"},
		{"revoked key", "Bearer " + revoked, 401, "unauthorized"},
		{"admin lacks tenant scope", "Bearer " + e.admin, 403, "insufficient-scope"},
		{"reader", "Bearer " + reader, 200, ""},
		{"lowercase scheme", "bearer " + reader, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", path, "", nil, "Authorization: "+tc.header)
			if tc.slug == "" {
				if r.status != tc.status {
					t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
				}
				return
			}
			checkProblem(t, r, tc.status, tc.slug, path)
			if tc.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	t.Run("out of scope", func(t *testing.T) {
		r := e.do("POST", "/v1/things", reader, map[string]string{})
		checkProblem(t, r, 403, "insufficient-scope", "/v1/things")
	})
	t.Run("tenant key cannot create tenants", func(t *testing.T) {
		r := e.do("POST", "/v1/tenants", writer, map[string]string{"name": "x"})
		checkProblem(t, r, 403, "insufficient-scope", "/v1/tenants")
	})
}

func TestTenantIsolation(t *testing.T) {
	th := &things{m: map[string]string{}}
	e := newEnv(t, envOptions{extra: th.register})
	ta, tb := e.tenant("A"), e.tenant("B")
	ka, kaID := e.key(ta, api.ScopeDocumentsRead, api.ScopeDocumentsWrite, api.ScopeAPIKeysRead, api.ScopeAPIKeysWrite)
	kb, kbID := e.key(tb, api.ScopeDocumentsRead, api.ScopeDocumentsWrite, api.ScopeAPIKeysRead, api.ScopeAPIKeysWrite)

	var a, b struct{ ID string }
	e.do("POST", "/v1/things", ka, map[string]string{}).json(t, &a)
	e.do("POST", "/v1/things", kb, map[string]string{}).json(t, &b)

	tests := []struct {
		name, method, path, secret string
		body                       any
		status                     int
	}{
		{"A reads A", "GET", "/v1/things/" + a.ID, ka, nil, 200},
		{"A reads B", "GET", "/v1/things/" + b.ID, ka, nil, 404},
		{"B reads A", "GET", "/v1/things/" + a.ID, kb, nil, 404},
		{"A revokes B's key", "DELETE", "/v1/api-keys/" + kbID, ka, nil, 404},
		{"A lists B's keys", "GET", "/v1/api-keys?tenant=" + tb, ka, nil, 403},
		{"A creates a key in B", "POST", "/v1/api-keys", ka, map[string]any{"name": "x", "scopes": []string{api.ScopeDocumentsRead}, "tenant": tb}, 403},
		{"A grants a scope it lacks", "POST", "/v1/api-keys", ka, map[string]any{"name": "x", "scopes": []string{api.ScopeEnvelopesSend}}, 403},
		{"A grants admin", "POST", "/v1/api-keys", ka, map[string]any{"name": "x", "scopes": []string{api.ScopeAdmin}}, 422},
		{"A creates its own key", "POST", "/v1/api-keys", ka, map[string]any{"name": "x", "scopes": []string{api.ScopeDocumentsRead}}, 201},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.secret, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
		})
	}
	// A's listing holds only A's keys.
	var list struct {
		Keys []accounts.APIKey `json:"api_keys"`
	}
	e.do("GET", "/v1/api-keys", ka, nil).json(t, &list)
	if len(list.Keys) != 2 {
		t.Fatalf("A sees %d keys, want 2", len(list.Keys))
	}
	seen := false
	for _, k := range list.Keys {
		if k.Tenant != ta || k.ID == kbID {
			t.Errorf("A sees key %s of tenant %s", k.ID, k.Tenant)
		}
		seen = seen || k.ID == kaID
	}
	if !seen {
		t.Errorf("A's listing lacks its key %s", kaID)
	}
}

func TestAPIKeysStoredHashed(t *testing.T) {
	e := newEnv(t, envOptions{})
	ta := e.tenant("A")
	secret, id := e.key(ta, api.ScopeDocumentsRead)
	r := e.do("GET", "/v1/api-keys?tenant="+ta, e.admin, nil)
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), secret) || strings.Contains(string(r.body), secret[10:]) {
		t.Fatal("listing shows the secret")
	}
	k, err := e.store.KeyByHash(t.Context(), accounts.HashSecret(secret))
	if err != nil || k.ID != id {
		t.Fatalf("lookup by hash: %v %v", k.ID, err)
	}
	if strings.Contains(e.logs.String(), secret) || strings.Contains(e.logs.String(), e.admin) {
		t.Fatal("a secret reached the logs")
	}
}

// TestClientRequestIDRepeated: two requests with the same client
// X-Request-Id are audited under distinct correlation ids (the server's,
// as answered), each with the client's id beside it.
func TestClientRequestIDRepeated(t *testing.T) {
	e := newEnv(t, envOptions{})
	var answered []string
	for _, name := range []string{"A", "B"} {
		r := e.do("POST", "/v1/tenants", e.admin, map[string]string{"name": name}, api.HeaderRequestID+": retry-42")
		if r.status != 201 {
			t.Fatalf("create tenant: %d %s", r.status, r.body)
		}
		answered = append(answered, r.header.Get(api.HeaderRequestID))
	}
	n, err := e.events.Size(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	recs, err := e.events.Records(t.Context(), 0, n)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rec := range recs {
		if rec.Type != "tenant.created" {
			continue
		}
		var leaf struct {
			Request struct {
				CorrelationID   string `json:"correlation_id"`
				ClientRequestID string `json:"client_request_id"`
			} `json:"request"`
		}
		if err := json.Unmarshal(rec.Leaf, &leaf); err != nil {
			t.Fatal(err)
		}
		if leaf.Request.ClientRequestID != "retry-42" {
			t.Errorf("client_request_id %q in %s", leaf.Request.ClientRequestID, rec.Leaf)
		}
		got = append(got, leaf.Request.CorrelationID)
	}
	if !slices.Equal(got, answered) || got[0] == got[1] {
		t.Fatalf("audited correlation ids %q, answered %q", got, answered)
	}
}

// TestNewKeySecretShownOnce: the response carrying a secret (a new API
// key) is not replayed; a repeat of the request is refused with a problem
// that says so, and the stored record holds no copy of the response.
func TestNewKeySecretShownOnce(t *testing.T) {
	e := newEnv(t, envOptions{})
	ta := e.tenant("A")
	body := map[string]any{"name": "ci", "scopes": []string{api.ScopeDocumentsRead}, "tenant": ta}
	first := e.do("POST", "/v1/api-keys", e.admin, body, "Idempotency-Key: new-key")
	if first.status != 201 {
		t.Fatalf("create key: %d %s", first.status, first.body)
	}
	var k struct {
		ID     string `json:"id"`
		Secret string `json:"secret"`
	}
	first.json(t, &k)
	if k.Secret == "" || first.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("first answer %s, Cache-Control %q", first.body, first.header.Get("Cache-Control"))
	}
	for range 2 {
		r := e.do("POST", "/v1/api-keys", e.admin, body, "Idempotency-Key: new-key")
		checkProblem(t, r, 409, "secret-shown-once", "/v1/api-keys")
		if strings.Contains(string(r.body), k.Secret) || r.header.Get("Idempotent-Replayed") != "" {
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
	r := e.do("POST", "/v1/api-keys", e.admin, body, "Idempotency-Key: new-key")
	checkProblem(t, r, 422, "idempotency-key-reused", "/v1/api-keys")
	// One key was created, and it works.
	if r := e.do("GET", "/v1/api-keys?tenant="+ta, e.admin, nil); !strings.Contains(string(r.body), k.ID) || strings.Count(string(r.body), `"id"`) != 1 {
		t.Fatalf("keys: %s", r.body)
	}
	// The store holds the marker only.
	var platform struct {
		Keys []accounts.APIKey `json:"api_keys"`
	}
	e.do("GET", "/v1/api-keys", e.admin, nil).json(t, &platform)
	if len(platform.Keys) != 1 {
		t.Fatalf("platform keys %+v", platform.Keys)
	}
	now := e.clock.Now()
	rec, err := e.idem.Reserve(t.Context(), api.IdempotencyRecord{Principal: "api_key:" + platform.Keys[0].ID, Key: "new-key", ExpiresAt: now.Add(time.Hour)}, now, now)
	if err != nil || rec == nil {
		t.Fatalf("reserve: %v %v", rec, err)
	}
	if !rec.Done || !rec.Secret || rec.Status != 201 || len(rec.Body) != 0 || len(rec.Header) != 0 {
		t.Fatalf("stored record %+v", rec)
	}
}
