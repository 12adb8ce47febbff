package server_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/secretscan"
)

// doIdem is r.do with an Idempotency-Key.
func (r *running) doIdem(path, secret, key string, body any) resp {
	r.t.Helper()
	return r.doSession(path, "Bearer "+secret, key, body)
}

// doSession posts body to path with the Authorization header
// authorization and an Idempotency-Key.
func (r *running) doSession(path, authorization, key string, body any) resp {
	r.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		r.t.Fatal(err)
	}
	req, err := http.NewRequest("POST", r.base+path, bytes.NewReader(b))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", authorization)
	req.Header.Set("Idempotency-Key", key)
	res, err := r.client.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: out}
}

// accessLogNames reports whether the access log line of request id names
// the API key keyID of tenant.
func accessLogNames(t *testing.T, logs, id, keyID, tenant string) bool {
	t.Helper()
	for _, l := range strings.Split(logs, "\n") {
		var line map[string]any
		if json.Unmarshal([]byte(l), &line) != nil || line["msg"] != "request" || line["request_id"] != id {
			continue
		}
		return line["principal"] == keyID && line["principal_kind"] == "api_key" && line["tenant"] == tenant
	}
	return false
}

// TestAPIKeySecretNotAtRest: an API key created with an Idempotency-Key
// through the HTTPS server is shown once; no file under the data directory
// (databases with their -wal and -shm files included) holds its secret in
// any encoding, while the server runs or after it stops; a repeat of the
// request is answered with a "secret-shown-once" problem, not the secret.
func TestAPIKeySecretNotAtRest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, dir, nil)
	admin := r.bootstrapKey()
	res := r.do("POST", "/v1/tenants", admin, map[string]string{"name": "Acme"})
	if res.status != http.StatusCreated {
		t.Fatalf("create tenant: %d %s", res.status, res.body)
	}
	var tn struct{ ID string }
	_ = json.Unmarshal(res.body, &tn)
	body := map[string]any{"name": "ci", "roles": []string{"sender"}, "actions": []string{"envelope.read"}}
	res = r.doIdem("/v1/tenants/"+tn.ID+"/api-keys", admin, "create-ci-key", body)
	if res.status != http.StatusCreated {
		t.Fatalf("create key: %d %s", res.status, res.body)
	}
	var k struct{ ID, Secret string }
	if err := json.Unmarshal(res.body, &k); err != nil || !strings.HasPrefix(k.Secret, "sk_") {
		t.Fatalf("no secret in %s", res.body)
	}
	// The key works, and the access log names it by its id.
	res = r.do("GET", "/v1/envelopes", k.Secret, nil)
	if res.status != http.StatusOK {
		t.Fatalf("the new key lists envelopes: %d %s", res.status, res.body)
	}
	if !accessLogNames(t, r.logs.String(), res.header.Get("X-Request-Id"), k.ID, tn.ID) {
		t.Errorf("no access log line names key %s", k.ID)
	}
	res = r.doIdem("/v1/tenants/"+tn.ID+"/api-keys", admin, "create-ci-key", body)
	if res.status != http.StatusConflict || !strings.Contains(string(res.body), "https://signet.dev/problems/secret-shown-once") || strings.Contains(string(res.body), k.Secret) {
		t.Errorf("repeat: %d %s", res.status, res.body)
	}
	if n := secretscan.Check(t, dir, k.Secret); n < 5 {
		t.Fatalf("read only %d files", n)
	}
	r.stop()
	secretscan.Check(t, dir, k.Secret)
	if strings.Contains(r.logs.String(), k.Secret) {
		t.Error("the secret reached the logs")
	}
}

// TestIdempotentBodySealed: a response kept for replay under an
// Idempotency-Key is stored sealed (its body names the tenant here; an
// envelope's would name its recipients) and replays as it was sent.
func TestIdempotentBodySealed(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, dir, nil)
	admin := r.bootstrapKey()
	name := "marker-tenant-3f9a1c"
	first := r.doIdem("/v1/tenants", admin, "create-acme", map[string]string{"name": name})
	if first.status != http.StatusCreated || !strings.Contains(string(first.body), name) {
		t.Fatalf("create tenant: %d %s", first.status, first.body)
	}
	again := r.doIdem("/v1/tenants", admin, "create-acme", map[string]string{"name": name})
	if again.status != http.StatusCreated || !bytes.Equal(again.body, first.body) || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s", again.status, again.body)
	}
	r.stop()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "signet.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	rows, err := db.QueryContext(t.Context(), "SELECT body FROM api_idempotency WHERE done = 1")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		n++
		if bytes.Contains(b, []byte(name)) || bytes.Contains(b, []byte(`"name"`)) {
			t.Errorf("stored body in clear: %q", b)
		}
	}
	if n == 0 {
		t.Fatal("no stored response")
	}
}
