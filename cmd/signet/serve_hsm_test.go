//go:build cgo

package main

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/apiclient"
)

// pkcs11ServeConfig writes a configuration whose tenant keys are in the
// token labelled token, the PIN in $SIGNET_PKCS11_PIN.
func pkcs11ServeConfig(t *testing.T, dir, token string) string {
	return writeFile(t, dir, "signet.json", `{"pki_listen":"127.0.0.1:0",`+
		`"pkcs11":{"module":"`+hsmModule+`","token_label":"`+token+`","pin_env":"`+envPKCS11PIN+`","max_sessions":2},"keys_at_rest":{"backend":"pkcs11"}}`)
}

// TestServePKCS11: signet serve reads the PIN from the environment
// variable the configuration names and makes the key-encryption key of a
// tenant's first document in the token; signet keys rotate-kek and
// rewrap, given the same configuration, rotate it in the token.
func TestServePKCS11(t *testing.T) {
	newHSM(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	p := startServe(t, processEnv(envPKCS11PIN+"="+hsmPIN), data, freeAddr(t), "--config", pkcs11ServeConfig(t, dir, hsmToken))
	ctx := context.Background()
	c := &apiclient.Client{Base: "https://" + p.addr, HTTP: p.client}
	admin := c.WithAuth("Bearer " + p.key)
	tn, err := admin.CreateTenant(ctx, "Acme")
	if err != nil {
		t.Fatal(err)
	}
	secret, err := admin.CreateKey(ctx, tn.ID, "sender", []string{"sender"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(sample("classic.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.WithAuth("Bearer "+secret).Upload(ctx, "classic.pdf", doc); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "keys.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT tenant, backend FROM keys WHERE purpose = 'data-key-wrapping'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var tenant, backend string
		if err := rows.Scan(&tenant, &backend); err != nil {
			t.Fatal(err)
		}
		n++
		if backend != "pkcs11:"+hsmToken {
			t.Errorf("the key-encryption key of %q is in %q; want pkcs11:%s", tenant, backend, hsmToken)
		}
	}
	if n == 0 {
		t.Fatal("no key-encryption key was made")
	}
	if strings.Contains(p.stderr.String(), hsmPIN) {
		t.Error("the server's log holds the PIN")
	}
	p.stop()

	// The key commands reach the token through the same configuration:
	// the tenant's key rotates in the token and its data keys re-wrap.
	cfg := filepath.Join(dir, "signet.json")
	t.Setenv(envPKCS11PIN, "")
	if code, _, stderr := signetRun(t, "keys", "rotate-kek", "--config", cfg, "--data", data, "--tenant", tn.ID); code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "is unset or empty") {
		t.Fatalf("rotate-kek without the PIN: exit %d, %q; want 1 and one line", code, stderr)
	}
	t.Setenv(envPKCS11PIN, hsmPIN)
	if code, stdout, stderr := signetRun(t, "keys", "rotate-kek", "--config", cfg, "--data", data, "--tenant", tn.ID); code != 0 {
		t.Fatalf("rotate-kek: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr := signetRun(t, "keys", "rewrap", "--config", cfg, "--data", data)
	if code != 0 || strings.HasPrefix(stdout, "re-wrapped 0 ") || !strings.HasPrefix(stdout, "re-wrapped ") {
		t.Fatalf("rewrap: exit %d\n%s%s", code, stdout, stderr)
	}
	var handle string
	if err := db.QueryRowContext(ctx, `SELECT v.handle FROM key_versions v JOIN keys k ON k.id = v.key_id WHERE k.tenant = ? AND k.purpose = 'data-key-wrapping' AND v.number = 2`, tn.ID).Scan(&handle); err != nil {
		t.Fatalf("the tenant's key has no version 2: %v", err)
	}
	out, err := exec.Command("pkcs11-tool", "--module", hsmModule, "--token-label", hsmToken, "--login", "--pin", hsmPIN, "--list-objects", "--type", "secrkey", "--id", handle).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "never extractable") {
		t.Fatalf("version 2 of the tenant's key in the token: %v\n%s", err, out)
	}
}

// TestServePKCS11Failures: a token signet serve cannot use stops it with
// one line naming the cause, never the PIN.
func TestServePKCS11Failures(t *testing.T) {
	newHSM(t)
	for _, tc := range []struct {
		name, token string
		env         []string
		want        string
	}{
		{"PIN unset", hsmToken, nil, "$" + envPKCS11PIN + " is unset or empty"},
		{"wrong PIN", hsmToken, []string{envPKCS11PIN + "=0000-wrong-pin"}, "wrong PIN"},
		{"token not found", "no-such-token", []string{envPKCS11PIN + "=" + hsmPIN}, `no initialized token labelled "no-such-token"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			line := runServeFailing(t, processEnv(tc.env...), "--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0", "--config", pkcs11ServeConfig(t, dir, tc.token))
			if !strings.Contains(line, tc.want) || strings.Contains(line, hsmPIN) || strings.Contains(line, "0000-wrong-pin") {
				t.Errorf("error line %q: want %q and no PIN", line, tc.want)
			}
		})
	}
}
