package server_test

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/signet-pki/signet/internal/accounts"
)

func TestFirstStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, dir, nil)
	admin := r.bootstrapKey()

	files := []struct {
		name string
		mode fs.FileMode // 0 means only existence
		dir  bool
	}{
		{"signet.db", 0, false},
		{"audit.db", 0, false},
		{"keys.db", 0, false},
		{"pki.db", 0, false},
		{"master.key", 0o600, false},
		{"audit.master", 0o600, false},
		{"pki/root.pem", 0, false},
		{"blobs", 0o700, true},
		{".", 0o700, true},
	}
	for _, f := range files {
		fi, err := os.Stat(filepath.Join(dir, f.name))
		if err != nil {
			t.Errorf("%s: %v", f.name, err)
			continue
		}
		if fi.IsDir() != f.dir {
			t.Errorf("%s: dir=%v", f.name, fi.IsDir())
		}
		if f.mode != 0 && fi.Mode().Perm() != f.mode {
			t.Errorf("%s: mode %v, want %v", f.name, fi.Mode().Perm(), f.mode)
		}
	}
	// The TLS chain verifies against root.pem (done by the client).
	if res := r.do("GET", "/healthz", "", nil); res.status != 200 {
		t.Fatalf("healthz %d", res.status)
	}
	if res := r.do("GET", "/readyz", "", nil); res.status != 200 {
		t.Fatalf("readyz %d %s", res.status, res.body)
	}
	// The admin creates a tenant (which gets an issuing CA) and a key.
	res := r.do("POST", "/v1/tenants", admin, map[string]string{"name": "Acme"})
	if res.status != http.StatusCreated {
		t.Fatalf("create tenant: %d %s", res.status, res.body)
	}
	var tenant accounts.Tenant
	if err := json.Unmarshal(res.body, &tenant); err != nil {
		t.Fatal(err)
	}
	res = r.do("POST", "/v1/tenants/"+tenant.ID+"/api-keys", admin, map[string]any{"name": "ci", "roles": []string{"sender"}, "actions": []string{"envelope.read"}})
	if res.status != http.StatusCreated {
		t.Fatalf("create key: %d %s", res.status, res.body)
	}
	var created struct{ Secret string }
	json.Unmarshal(res.body, &created)
	if res := r.do("GET", "/v1/envelopes", created.Secret, nil); res.status != 200 {
		t.Fatalf("tenant key: %d %s", res.status, res.body)
	}
	// The key acts only within its actions.
	if res := r.do("POST", "/v1/envelopes", created.Secret, map[string]any{}); res.status != http.StatusForbidden {
		t.Fatalf("tenant key beyond its actions: %d %s", res.status, res.body)
	}
	// The tenant's issuing CA certificate is published.
	pres, err := http.Get("http://" + r.srv.PKIAddr().String() + "/ca/" + tenant.ID + ".crt")
	if err != nil {
		t.Fatal(err)
	}
	pres.Body.Close()
	if pres.StatusCode != 200 || pres.Header.Get("Content-Type") != "application/pkix-cert" {
		t.Fatalf("tenant CA certificate: %d", pres.StatusCode)
	}

	// Secrets never reach the log.
	r.stop()
	if logs := r.logs.String(); contains(logs, admin) || contains(logs, created.Secret) || keyRE.MatchString(logs) {
		t.Fatal("an API key reached the log")
	}

	// A restart prints nothing and keeps the keys, tenants and CAs.
	r2 := start(t, dir, nil)
	if r2.terminal.String() != "" {
		t.Fatalf("second start printed %q", r2.terminal.String())
	}
	if res := r2.do("GET", "/v1/tenants", admin, nil); res.status != 200 || !contains(string(res.body), tenant.ID) {
		t.Fatalf("after restart: %d %s", res.status, res.body)
	}
	pres, err = http.Get("http://" + r2.srv.PKIAddr().String() + "/ca/" + tenant.ID + ".crt")
	if err != nil {
		t.Fatal(err)
	}
	pres.Body.Close()
	if pres.StatusCode != 200 {
		t.Fatalf("tenant CA after restart: %d", pres.StatusCode)
	}
}
