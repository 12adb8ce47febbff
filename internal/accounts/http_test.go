package accounts_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/secretscan"
)

// things is a tiny tenant-scoped handler: objects belong to the tenant of
// the principal that created them; the gate checks the actions its
// fragment declares.
type things struct {
	mu sync.Mutex
	m  map[string]string // id -> tenant
	n  int
}

func (th *things) register(mux api.Mux, _ *env) []byte {
	mux.HandleFunc("POST /v1/things", func(w http.ResponseWriter, r *http.Request) {
		p, _ := api.PrincipalFrom(r.Context())
		th.mu.Lock()
		th.n++
		id := "th" + strings.Repeat("x", th.n)
		th.m[id] = p.Tenant
		th.mu.Unlock()
		api.WriteJSON(w, http.StatusCreated, map[string]string{"id": id})
	})
	mux.HandleFunc("GET /v1/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		p, _ := api.PrincipalFrom(r.Context())
		th.mu.Lock()
		owner, ok := th.m[r.PathValue("id")]
		th.mu.Unlock()
		if !ok || owner != p.Tenant {
			api.WriteProblem(w, r, api.ErrNotFound)
			return
		}
		api.WriteJSON(w, http.StatusOK, map[string]any{"id": r.PathValue("id"), "actions": p.Actions})
	})
	return []byte(`{"paths": {
		"/v1/things": {"post": {"operationId": "createThing", "x-signet-action": "document.upload", "responses": {"201": {"description": "Created."}}}},
		"/v1/things/{id}": {"get": {"operationId": "getThing", "x-signet-action": "document.read",
			"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
			"responses": {"200": {"description": "The thing."}}}}}}`)
}

func TestAuthentication(t *testing.T) {
	th := &things{m: map[string]string{}}
	e := newEnv(t, envOptions{extra: th.register})
	ta := e.tenant("Acme")
	reader, _ := e.key(ta, "document.read")
	writer, _ := e.key(ta, "document.upload", "document.read")
	revoked, revokedID := e.key(ta, "document.read")
	if err := e.svc.DisableKey(t.Context(), ta, revokedID, e.clock.Now()); err != nil {
		t.Fatal(err)
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
		{"platform administrator inside a tenant", "Bearer " + e.admin, 403, "forbidden"},
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
	t.Run("action the key is not bound to", func(t *testing.T) {
		r := e.do("POST", "/v1/things", reader, map[string]string{})
		checkProblem(t, r, 403, "forbidden", "/v1/things")
	})
	t.Run("tenant key cannot create tenants", func(t *testing.T) {
		r := e.do("POST", "/v1/tenants", writer, map[string]string{"name": "x"})
		checkProblem(t, r, 403, "forbidden", "/v1/tenants")
	})
}

func TestTenantIsolation(t *testing.T) {
	th := &things{m: map[string]string{}}
	e := newEnv(t, envOptions{extra: th.register})
	ta, tb := e.tenant("A"), e.tenant("B")
	ka, kaID := e.key(ta, "document.read", "document.upload")
	kb, kbID := e.key(tb, "document.read", "document.upload")
	adminA := e.user(ta, "u-admin-a", "tenant-admin", "sender")

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
		{"A revokes B's key", "DELETE", "/v1/api-keys/" + kbID, adminA, nil, 404},
		{"A rotates B's key", "POST", "/v1/api-keys/" + kbID + "/rotate", adminA, map[string]any{}, 404},
		{"A provisions a key in B", "POST", "/v1/tenants/" + tb + "/api-keys", adminA, map[string]any{"name": "x", "roles": []string{"sender"}}, 403},
		{"A names B's tenant", "POST", "/v1/api-keys", adminA, map[string]any{"name": "x", "roles": []string{"sender"}, "tenant": tb}, 422},
		{"A creates its own key", "POST", "/v1/api-keys", adminA, map[string]any{"name": "x", "roles": []string{"sender"}, "actions": []string{"document.read"}}, 201},
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
	e.do("GET", "/v1/api-keys", adminA, nil).json(t, &list)
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
	if k, _ := e.store.Key(t.Context(), tb, kbID); k.RevokedAt != nil || k.ReplacedBy != "" {
		t.Errorf("B's key changed: %+v", k)
	}
}

// TestProvisioning: the platform administrator provisions a tenant's
// service account key through /v1/tenants/{id}/api-keys, with roles and
// actions (by default the roles' actions), no owner; requests with
// fields that no longer exist ("scopes", "tenant") are refused by strict
// JSON; /v1/api-keys is not the platform administrator's.
func TestProvisioning(t *testing.T) {
	e := newEnv(t, envOptions{})
	ta := e.tenant("A")
	adminA := e.user(ta, "u-admin-a", "tenant-admin")
	path := "/v1/tenants/" + ta + "/api-keys"
	r := e.do("POST", path, e.admin, map[string]any{"name": "ci", "roles": []string{"approver"}, "allowed_ips": []string{"192.0.2.7/24"}})
	if r.status != 201 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("provision: %d %s", r.status, r.body)
	}
	var k struct {
		accounts.APIKey
		Secret string `json:"secret"`
	}
	r.json(t, &k)
	if k.Tenant != ta || k.Owner != "" || !slices.Equal(k.Roles, []string{"approver"}) ||
		!slices.Equal(k.Actions, []string{"document.read", "envelope.read", "envelope.approve"}) ||
		!slices.Equal(k.AllowedIPs, []string{"192.0.2.0/24"}) || !strings.HasPrefix(k.Secret, accounts.KeyPrefix) {
		t.Fatalf("provisioned %s", r.body)
	}
	for _, tc := range []struct {
		name, method, path, secret string
		body                       any
		status                     int
		slug                       string
	}{
		{"scopes", "POST", path, e.admin, `{"name":"x","scopes":["documents:read"]}`, 422, "unknown-field"},
		{"tenant field", "POST", path, e.admin, `{"name":"x","roles":["sender"],"tenant":"` + ta + `"}`, 422, "unknown-field"},
		{"unknown tenant", "POST", "/v1/tenants/t-none/api-keys", e.admin, map[string]any{"name": "x", "roles": []string{"sender"}}, 404, "not-found"},
		{"no action", "POST", path, e.admin, map[string]any{"name": "x"}, 422, "invalid-action"},
		{"custom role without actions", "POST", path, e.admin, map[string]any{"name": "x", "roles": []string{"ops-bot"}}, 422, "invalid-action"},
		{"recipient action", "POST", path, e.admin, map[string]any{"name": "x", "actions": []string{"envelope.sign"}}, 422, "invalid-action"},
		{"bad role", "POST", path, e.admin, map[string]any{"name": "x", "roles": []string{"Admin!"}}, 422, "invalid-role"},
		{"too far an expiry", "POST", path, e.admin, map[string]any{"name": "x", "roles": []string{"sender"}, "expires_at": e.clock.Now().Add(366 * 24 * time.Hour)}, 422, "invalid-field"},
		{"tenant user provisions", "POST", path, adminA, map[string]any{"name": "x", "roles": []string{"sender"}}, 403, "forbidden"},
		{"platform on the tenant route", "POST", "/v1/api-keys", e.admin, map[string]any{"name": "x", "roles": []string{"sender"}}, 403, "forbidden"},
		{"platform lists tenant keys", "GET", "/v1/api-keys", e.admin, nil, 403, "forbidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.secret, tc.body)
			checkProblem(t, r, tc.status, tc.slug, tc.path)
		})
	}
	// A custom role with explicit actions is accepted (whether the tenant
	// defines it is the authorizer's question).
	if r := e.do("POST", path, e.admin, map[string]any{"name": "x", "roles": []string{"ops-bot"}, "actions": []string{"envelope.read"}}); r.status != 201 {
		t.Fatalf("custom role: %d %s", r.status, r.body)
	}
}

// TestTenantAdministration: a tenant's own administrator (a user holding
// tenant-admin, stepped up) creates, lists, rotates and revokes its
// tenant's keys; the key is owned by the user; nobody binds a key to an
// action they do not hold; a service account cannot administer keys
// (apikey.admin needs a step-up it cannot make); a key with apikey.read
// lists keys.
func TestTenantAdministration(t *testing.T) {
	e := newEnv(t, envOptions{})
	ta := e.tenant("A")
	admin := e.user(ta, "u-admin", "tenant-admin", "sender")
	plain := e.user(ta, "u-plain", "approver")
	r := e.do("POST", "/v1/api-keys", admin, map[string]any{"name": "ci", "roles": []string{"sender"}, "actions": []string{"document.upload", "envelope.send"}})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var k struct {
		accounts.APIKey
		Secret string `json:"secret"`
	}
	r.json(t, &k)
	if k.Owner != "u-admin" || !slices.Equal(k.Actions, []string{"document.upload", "envelope.send"}) {
		t.Fatalf("created %s", r.body)
	}
	keyAdmin, _ := e.keyWith(ta, map[string]any{"name": "automation", "roles": []string{"tenant-admin"}, "actions": []string{"apikey.read", "apikey.admin"}})
	for _, tc := range []struct {
		name, method, path, secret string
		body                       any
		status                     int
	}{
		{"binds an action it lacks", "POST", "/v1/api-keys", admin, map[string]any{"name": "x", "roles": []string{"auditor"}}, 403},
		{"user without apikey.admin", "POST", "/v1/api-keys", plain, map[string]any{"name": "x", "roles": []string{"approver"}}, 403},
		{"service account creates", "POST", "/v1/api-keys", keyAdmin, map[string]any{"name": "x", "roles": []string{"sender"}}, 403},
		{"service account revokes", "DELETE", "/v1/api-keys/" + k.ID, keyAdmin, nil, 403},
		{"service account rotates", "POST", "/v1/api-keys/" + k.ID + "/rotate", keyAdmin, map[string]any{}, 403},
		{"service account lists", "GET", "/v1/api-keys", keyAdmin, nil, 200},
		{"user without apikey.read lists", "GET", "/v1/api-keys", plain, nil, 403},
		{"overlap too long", "POST", "/v1/api-keys/" + k.ID + "/rotate", admin, map[string]any{"overlap_seconds": 604801}, 422},
		{"unknown rotation field", "POST", "/v1/api-keys/" + k.ID + "/rotate", admin, map[string]any{"overlap": 1}, 422},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(tc.method, tc.path, tc.secret, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
		})
	}
	// Rotation: the new secret is shown once; both work in the overlap.
	r = e.do("POST", "/v1/api-keys/"+k.ID+"/rotate", admin, map[string]any{"overlap_seconds": 60}, "Idempotency-Key: rot-1")
	if r.status != 201 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("rotate: %d %s", r.status, r.body)
	}
	var next struct {
		accounts.APIKey
		Secret string `json:"secret"`
	}
	r.json(t, &next)
	again := e.do("POST", "/v1/api-keys/"+k.ID+"/rotate", admin, map[string]any{"overlap_seconds": 60}, "Idempotency-Key: rot-1")
	checkProblem(t, again, 409, "secret-shown-once", "/v1/api-keys/"+k.ID+"/rotate")
	v := e.svc.Verifier()
	for _, s := range []string{k.Secret, next.Secret} {
		if _, err := v.VerifyCredential(t.Context(), s, addr("192.0.2.1")); err != nil {
			t.Fatalf("in the overlap: %v", err)
		}
	}
	e.clock.Advance(time.Minute)
	if _, err := v.VerifyCredential(t.Context(), k.Secret, addr("192.0.2.1")); err == nil {
		t.Fatal("the old secret works after the overlap")
	}
	if r := e.do("DELETE", "/v1/api-keys/"+next.ID, admin, nil); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if _, err := v.VerifyCredential(t.Context(), next.Secret, addr("192.0.2.1")); err == nil {
		t.Fatal("a revoked key works")
	}
}

// TestTokenExchange: POST /v1/tokens authenticates the API key of its
// Authorization header itself and answers a bearer token living at most
// 15 minutes, shown once, optionally narrowed; the token authenticates
// its key's service account with those actions until it expires; a token
// is not exchanged for another, and a refused key gets the same 401 as
// elsewhere.
func TestTokenExchange(t *testing.T) {
	th := &things{m: map[string]string{}}
	e := newEnv(t, envOptions{extra: th.register})
	ta := e.tenant("A")
	key, _ := e.key(ta, "document.read", "document.upload")
	r := e.do("POST", "/v1/tokens", key, map[string]any{"actions": []string{"document.read"}}, "Idempotency-Key: tok-1")
	if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("exchange: %d %s", r.status, r.body)
	}
	var tok struct {
		AccessToken string   `json:"access_token"`
		TokenType   string   `json:"token_type"`
		ExpiresIn   int      `json:"expires_in"`
		Actions     []string `json:"actions"`
	}
	r.json(t, &tok)
	if !strings.HasPrefix(tok.AccessToken, accounts.TokenPrefix) || tok.TokenType != "Bearer" || tok.ExpiresIn != 900 || !slices.Equal(tok.Actions, []string{"document.read"}) {
		t.Fatalf("token %s", r.body)
	}
	again := e.do("POST", "/v1/tokens", key, map[string]any{"actions": []string{"document.read"}}, "Idempotency-Key: tok-1")
	if strings.Contains(string(again.body), tok.AccessToken) {
		t.Fatal("the token was replayed")
	}
	var obj struct{ ID string }
	e.do("POST", "/v1/things", key, map[string]string{}).json(t, &obj)
	got := e.do("GET", "/v1/things/"+obj.ID, tok.AccessToken, nil)
	var seen struct{ Actions []string }
	got.json(t, &seen)
	if got.status != 200 || !slices.Equal(seen.Actions, []string{"document.read"}) {
		t.Fatalf("read with the token: %d %s", got.status, got.body)
	}
	// Narrowed: the token is refused an action its key holds.
	if r := e.do("POST", "/v1/things", tok.AccessToken, map[string]string{}); r.status != 403 {
		t.Fatalf("upload with a read-only token: %d %s", r.status, r.body)
	}
	for _, tc := range []struct {
		name, header string
		body         any
		status       int
		slug         string
	}{
		{"token for a token", "Bearer " + tok.AccessToken, map[string]any{}, 401, "unauthorized"},
		{"no credential", "", map[string]any{}, 401, "unauthorized"},
		{"unknown key", "Bearer " + accounts.KeyPrefix + strings.Repeat("A", 43), map[string]any{}, 401, "unauthorized"},
		{"too long", "Bearer " + key, map[string]any{"expires_in": 901}, 422, "invalid-field"},
		{"action not held", "Bearer " + key, map[string]any{"actions": []string{"envelope.send"}}, 422, "invalid-action"},
		{"unknown field", "Bearer " + key, map[string]any{"scope": "x"}, 422, "unknown-field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/v1/tokens", "", tc.body, "Authorization: "+tc.header)
			checkProblem(t, r, tc.status, tc.slug, "/v1/tokens")
		})
	}
	e.clock.Advance(15 * time.Minute)
	if r := e.do("GET", "/v1/things/"+obj.ID, tok.AccessToken, nil); r.status != 401 {
		t.Fatalf("an expired token: %d %s", r.status, r.body)
	}
	// A key holds at most MaxLiveTokens live tokens.
	for i := range accounts.MaxLiveTokens {
		if r := e.do("POST", "/v1/tokens", key, map[string]any{}); r.status != 200 {
			t.Fatalf("token %d: %d %s", i, r.status, r.body)
		}
	}
	checkProblem(t, e.do("POST", "/v1/tokens", key, map[string]any{}), 429, "rate-limited", "/v1/tokens")
}

func TestAPIKeysStoredHashed(t *testing.T) {
	e := newEnv(t, envOptions{})
	ta := e.tenant("A")
	secret, id := e.key(ta, "document.read")
	r := e.do("GET", "/v1/api-keys", e.user(ta, "u-admin", "tenant-admin"), nil)
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
	tok := e.do("POST", "/v1/tokens", secret, map[string]any{})
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	tok.json(t, &tr)
	if tr.AccessToken == "" {
		t.Fatalf("exchange: %s", tok.body)
	}
	rot := e.do("POST", "/v1/api-keys/"+id+"/rotate", e.user(ta, "u-admin2", "tenant-admin"), map[string]any{})
	var rk struct {
		Secret string `json:"secret"`
	}
	rot.json(t, &rk)
	if rk.Secret == "" {
		t.Fatalf("rotate: %s", rot.body)
	}
	for _, s := range []string{secret, e.admin, tr.AccessToken, rk.Secret} {
		if strings.Contains(e.logs.String(), s) {
			t.Fatal("a secret reached the logs")
		}
	}
	// Nothing at rest holds a secret: the database (with its WAL), in
	// any encoding.
	if n := secretscan.Check(t, e.dir, secret, e.admin, tr.AccessToken, rk.Secret); n == 0 {
		t.Fatal("no file scanned")
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
	body := map[string]any{"name": "ci", "roles": []string{"sender"}}
	path := "/v1/tenants/" + ta + "/api-keys"
	first := e.do("POST", path, e.admin, body, "Idempotency-Key: new-key")
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
		r := e.do("POST", path, e.admin, body, "Idempotency-Key: new-key")
		checkProblem(t, r, 409, "secret-shown-once", path)
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
	r := e.do("POST", path, e.admin, body, "Idempotency-Key: new-key")
	checkProblem(t, r, 422, "idempotency-key-reused", path)
	// One key was created.
	if ks, err := e.store.Keys(t.Context(), ta); err != nil || len(ks) != 1 || ks[0].ID != k.ID {
		t.Fatalf("keys: %+v %v", ks, err)
	}
	// The store holds the marker only.
	platform, err := e.store.Keys(t.Context(), "")
	if err != nil || len(platform) != 1 {
		t.Fatalf("platform keys %+v %v", platform, err)
	}
	now := e.clock.Now()
	rec, err := e.idem.Reserve(t.Context(), api.IdempotencyRecord{Principal: "api_key:" + platform[0].ID, Key: "new-key", ExpiresAt: now.Add(time.Hour)}, now, now)
	if err != nil || rec == nil {
		t.Fatalf("reserve: %v %v", rec, err)
	}
	if !rec.Done || !rec.Secret || rec.Status != 201 || len(rec.Body) != 0 || len(rec.Header) != 0 {
		t.Fatalf("stored record %+v", rec)
	}
}

// TestDeleteTenantHTTP: DELETE /v1/tenants/{id} is the platform
// administrator's (tenant.admin): a tenant's own administrator and its
// keys are refused; it answers 204 and calls the shredding hook, and
// again 204 (retrying the hook) for a deleted tenant; 404 for an unknown
// one. Afterwards the tenant's key and token get the 401 of an unknown
// credential, another tenant's key still works, the tenant is listed as
// deleted and gets no new key (409).
func TestDeleteTenantHTTP(t *testing.T) {
	th := &things{m: map[string]string{}}
	e := newEnv(t, envOptions{extra: th.register})
	sh := &shredder{}
	e.svc.ShredTenant = sh.shred
	ta, tb := e.tenant("A"), e.tenant("B")
	keyA, _ := e.key(ta, "document.upload")
	keyB, _ := e.key(tb, "document.upload")
	adminA := e.user(ta, "u-admin-a", "tenant-admin")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	e.do("POST", "/v1/tokens", keyA, map[string]any{}).json(t, &tok)
	if r := e.do("POST", "/v1/things", tok.AccessToken, map[string]string{}); r.status != 201 {
		t.Fatalf("token before deletion: %d %s", r.status, r.body)
	}
	path := "/v1/tenants/" + ta
	for _, tc := range []struct {
		name, path, secret string
		status             int
		slug               string
	}{
		{"tenant administrator", path, adminA, 403, "forbidden"},
		{"tenant key", path, keyA, 403, "forbidden"},
		{"no credential", path, "", 401, "unauthorized"},
		{"unknown tenant", "/v1/tenants/t-none", e.admin, 404, "not-found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkProblem(t, e.do("DELETE", tc.path, tc.secret, nil), tc.status, tc.slug, tc.path)
		})
	}
	if len(sh.called()) != 0 {
		t.Fatalf("refused deletions shredded %v", sh.called())
	}
	for i := range 2 {
		if r := e.do("DELETE", path, e.admin, nil); r.status != 204 || len(r.body) != 0 {
			t.Fatalf("DELETE #%d: %d %s", i+1, r.status, r.body)
		}
		if got := sh.called(); len(got) != i+1 || got[i] != ta {
			t.Fatalf("hook calls after DELETE #%d: %v", i+1, got)
		}
	}
	unknown := e.do("POST", "/v1/things", accounts.KeyPrefix+strings.Repeat("A", 43), map[string]string{})
	for name, c := range map[string]string{"key": keyA, "token": tok.AccessToken} {
		r := e.do("POST", "/v1/things", c, map[string]string{})
		checkProblem(t, r, 401, "unauthorized", "/v1/things")
		var got, want map[string]any
		r.json(t, &got)
		unknown.json(t, &want)
		if got["detail"] != want["detail"] || r.header.Get("WWW-Authenticate") != unknown.header.Get("WWW-Authenticate") {
			t.Errorf("the deleted tenant's %s is refused unlike an unknown one: %s vs %s", name, r.body, unknown.body)
		}
	}
	if r := e.do("POST", "/v1/things", keyB, map[string]string{}); r.status != 201 {
		t.Errorf("another tenant's key after the deletion: %d %s", r.status, r.body)
	}
	var list struct{ Tenants []accounts.Tenant }
	e.do("GET", "/v1/tenants", e.admin, nil).json(t, &list)
	for _, tn := range list.Tenants {
		if deleted := tn.DeletedAt != nil; deleted != (tn.ID == ta) {
			t.Errorf("tenant %s listed with deleted_at %v", tn.ID, tn.DeletedAt)
		}
	}
	pk := "/v1/tenants/" + ta + "/api-keys"
	checkProblem(t, e.do("POST", pk, e.admin, map[string]any{"name": "x", "roles": []string{"sender"}}), 409, "conflict", pk)
	// Both deletions are in the audit log, with the request that asked.
	n, err := e.events.Size(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	recs, err := e.events.Records(t.Context(), 0, n)
	if err != nil {
		t.Fatal(err)
	}
	deletions := 0
	for _, r := range recs {
		if r.Type != string(auditlog.TenantDeleted) {
			continue
		}
		deletions++
		var ev struct {
			Tenant  string `json:"tenant"`
			Request struct {
				ID string `json:"correlation_id"`
			} `json:"request"`
		}
		if err := json.Unmarshal(r.Leaf, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Tenant != ta || ev.Request.ID == "" {
			t.Errorf("tenant.deleted event %s", r.Leaf)
		}
	}
	if deletions != 2 {
		t.Errorf("%d tenant.deleted events, want 2", deletions)
	}
}
