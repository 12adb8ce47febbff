//go:build cgo

package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/atrest"
	"github.com/signet-pki/signet/keys/pkcs11"
	"github.com/signet-pki/signet/keys/pkcs11/softhsmtest"
)

// The SoftHSM2 token of the e2e tests, and the environment variable the
// configuration names for its PIN.
const (
	hsmToken  = "signet-e2e"
	hsmPINEnv = "SIGNET_E2E_PKCS11_PIN"
)

// withHSM configures the token hsmToken with new tenant keys in it.
func withHSM(c *server.Config) {
	c.PKCS11 = &server.PKCS11Config{Module: softhsmtest.Module, TokenLabel: hsmToken, PINEnv: hsmPINEnv, MaxSessions: 4}
	c.KeysAtRest = server.KeysAtRestConfig{Backend: server.BackendPKCS11}
}

// hsmSecrets reads the token's PIN from the (test's) environment.
var hsmSecrets = server.WithSecrets(func(name string) string {
	if name == hsmPINEnv {
		return softhsmtest.PIN
	}
	return ""
})

// startHSM starts a server whose tenant keys are made in the SoftHSM2
// token hsmToken, the PIN given through the environment lookup.
func startHSM(t *testing.T) *instance {
	t.Helper()
	softhsmtest.Tokens(t, hsmToken)
	in := newInstance(t)
	in.configure = withHSM
	in.options = []server.Option{hsmSecrets}
	return in.launch()
}

// kekOf is a tenant's key-encryption key as key custody records it.
type kekOf struct {
	id, backend, purpose, algorithm string
	handles                         []string
}

// tenantKEK reads the key-encryption key of tenant from the data
// directory's databases (read-only, beside the running server).
func tenantKEK(t *testing.T, dir, tenant string) kekOf {
	t.Helper()
	ctx := context.Background()
	open := func(name string) *sql.DB {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, name)+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	var k kekOf
	if err := open(datadir.ServiceDB).QueryRowContext(ctx, `SELECT kek_id FROM atrest_tenants WHERE tenant = ?`, tenant).Scan(&k.id); err != nil {
		t.Fatalf("tenant %s has no key-encryption key: %v", tenant, err)
	}
	db := open(datadir.KeysDB)
	if err := db.QueryRowContext(ctx, `SELECT backend, purpose, algorithm FROM keys WHERE id = ?`, k.id).Scan(&k.backend, &k.purpose, &k.algorithm); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, `SELECT handle FROM key_versions WHERE key_id = ? ORDER BY number`, k.id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			t.Fatal(err)
		}
		k.handles = append(k.handles, h)
	}
	if len(k.handles) == 0 {
		t.Fatalf("key %s has no versions", k.id)
	}
	return k
}

// tokenSecretKey lists the token's secret key with CKA_ID handle
// (pkcs11-tool's description, "" when there is none).
func tokenSecretKey(t *testing.T, handle string) string {
	t.Helper()
	out, err := softhsmtest.Tool(hsmToken, "--list-objects", "--type", "secrkey", "--id", handle)
	if err != nil {
		t.Fatalf("pkcs11-tool: %v\n%s", err, out)
	}
	return string(out)
}

// TestHSMTenantKeys: with a PKCS#11 token configured, a tenant's
// key-encryption key is made in the token (its metadata names the token's
// backend; the token holds it sensitive and never extractable); a whole
// envelope completes and its document is sealed on disk; after a restart
// everything reads back; deleting the tenant destroys the key in the
// token, after which the tenant's documents cannot be opened.
func TestHSMTenantKeys(t *testing.T) {
	in := startHSM(t)
	ctx := context.Background()
	tenant, sha, kek := hsmTenantLifetime(t, in)

	// The documents can no longer be opened through the keys at rest.
	hsm, err := pkcs11.Open(ctx, pkcs11.Config{Module: softhsmtest.Module, TokenLabel: hsmToken, PIN: softhsmtest.PIN, MaxSessions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer hsm.Close()
	dir, err := datadir.Open(in.dir, datadir.Options{Backends: []keys.Backend{hsm}, AtRestBackend: hsm.Name()})
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	ar, err := dir.AtRest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ar.ObjectKEK(ctx, tenant, "content:"+sha, false); !errors.Is(err, atrest.ErrNoKey) {
		t.Errorf("the deleted tenant's document key: %v; want atrest.ErrNoKey", err)
	}
	if m, err := dir.Keys(ctx); err != nil {
		t.Fatal(err)
	} else if k, err := m.Get(ctx, kek.id); err != nil || k.Versions[0].State != keys.StateDestroyed {
		t.Errorf("the deleted tenant's KEK in custody: %+v, %v; want destroyed", k, err)
	}
}

// TestHSMSplitTenantKeys: in a split deployment the signer holds the
// token (its configuration names the PIN's variable) and the api role
// reaches it through the key RPC with no credential of its own; tenant
// keys are made, used and destroyed in the token exactly as in one
// process.
func TestHSMSplitTenantKeys(t *testing.T) {
	softhsmtest.Tokens(t, hsmToken)
	in, _ := startSplitWith(t, &syncBuffer{}, withHSM, []server.Option{hsmSecrets}, func(c *server.Config) {
		c.KeysAtRest = server.KeysAtRestConfig{Backend: server.BackendPKCS11}
	})
	hsmTenantLifetime(t, in)
	var cfg server.Config
	in.configure(&cfg)
	js, _ := json.Marshal(cfg)
	for _, word := range []string{"pin", "module", softhsmtest.PIN, "master", "secret"} {
		if strings.Contains(strings.ToLower(string(js)), strings.ToLower(word)) {
			t.Errorf("the api role's configuration mentions %q: %s", word, js)
		}
	}
}

// hsmTenantLifetime runs a tenant's life on a server whose tenant keys
// are in the token: its KEK is made in the token (its metadata names
// the token's backend; the token holds it sensitive and never
// extractable); a whole envelope completes and its document is sealed on
// disk; after a restart everything reads back; deleting the tenant
// destroys the KEK in the token, so that nothing it wrapped can be
// unwrapped. It returns the tenant, the original document's SHA-256 and
// the KEK, with the server stopped.
func hsmTenantLifetime(t *testing.T, in *instance) (string, string, kekOf) {
	t.Helper()
	ctx := context.Background()
	sender, tenant := in.sender("Acme HSM")
	text := marker(t, "TEXT")
	original := samplePDF(t, "HSM offer "+text, 0)
	d, err := sender.Upload(ctx, "offer.pdf", original)
	if err != nil {
		t.Fatal(err)
	}
	e, err := sender.CreateEnvelope(ctx, workflow.CreateRequest{Subject: "HSM offer", Documents: []string{d.ID}, Recipients: []workflow.RecipientInput{
		{Role: workflow.RoleSigner, Name: "Alice", Email: "alice@example.com", Order: 1},
		{Role: workflow.RoleSigner, Name: "Bob", Email: "bob@example.com", Order: 2},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if e, err = sender.Send(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"alice@example.com", "bob@example.com"} {
		if _, err := in.signAs(ctx, who, 1); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := sender.Envelope(ctx, e.ID); err != nil || got.Status != workflow.StatusCompleted {
		t.Fatalf("envelope = %s, %v; want completed", got.Status, err)
	}
	signed, err := sender.Content(ctx, e.ID, d.ID)
	if err != nil || !bytes.Contains(signed, []byte(text)) {
		t.Fatalf("the signed document does not read back (%v)", err)
	}
	in.checkPDF(t, signed, 3, false)

	// The tenant's key-encryption key is in the token.
	kek := tenantKEK(t, in.dir, tenant)
	if kek.backend != "pkcs11:"+hsmToken || kek.purpose != string(keys.PurposeDataKeyWrapping) || kek.algorithm != string(keys.AES256) {
		t.Fatalf("the tenant's KEK is %+v; want a data-key-wrapping aes-256 key in pkcs11:%s", kek, hsmToken)
	}
	for i, h := range kek.handles {
		obj := tokenSecretKey(t, h)
		for _, want := range []string{"AES length 32", "label:      " + kek.id + "/v", "Usage:      encrypt, decrypt\n", "Access:     sensitive, always sensitive, never extractable, local"} {
			if !strings.Contains(obj, want) {
				t.Errorf("version %d of the KEK in the token lacks %q:\n%s", i+1, want, obj)
			}
		}
	}

	// Every blob on disk is sealed: the dataseal header, no PDF.
	blobs := 0
	err = filepath.WalkDir(filepath.Join(in.dir, datadir.BlobsDir), func(path string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		blobs++
		if len(b) == 0 || b[0] != 0xD5 || bytes.Contains(b, []byte("%PDF")) || bytes.Contains(b, []byte(text)) {
			t.Errorf("blob %s is not sealed (starts %q)", path, b[:min(len(b), 8)])
		}
		return nil
	})
	if err != nil || blobs < 2 {
		t.Fatalf("blobs: %d found, %v; want the original and the signed version", blobs, err)
	}

	// A restart reads everything back through the token.
	key := sender.Authorization
	in.down()
	in.up()
	sender = in.client.WithAuth(key)
	if got, err := sender.Envelope(ctx, e.ID); err != nil || got.Status != workflow.StatusCompleted || got.Subject != "HSM offer" || got.Recipients[1].Email != "bob@example.com" {
		t.Fatalf("after the restart the envelope reads %+v, %v", got, err)
	}
	if again, err := sender.Content(ctx, e.ID, d.ID); err != nil || !bytes.Equal(again, signed) {
		t.Fatalf("after the restart the document reads back %d bytes, %v; want the signed document", len(again), err)
	}

	// Deleting the tenant destroys its key in the token: what it wrapped
	// cannot be unwrapped, even with the token's PIN.
	admin := in.client.WithAuth("Bearer " + in.admin)
	if status, err := admin.Do(ctx, http.MethodDelete, "/v1/tenants/"+tenant, nil, "", nil); err != nil || status != http.StatusNoContent {
		t.Fatalf("DELETE /v1/tenants/%s: %d, %v", tenant, status, err)
	}
	for _, h := range kek.handles {
		if obj := tokenSecretKey(t, h); strings.Contains(obj, kek.id) {
			t.Errorf("the token still holds the deleted tenant's KEK:\n%s", obj)
		}
	}
	in.down()
	hsm, err := pkcs11.Open(ctx, pkcs11.Config{Module: softhsmtest.Module, TokenLabel: hsmToken, PIN: softhsmtest.PIN, MaxSessions: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer hsm.Close()
	for _, h := range kek.handles {
		if _, err := hsm.Unwrap(ctx, h, make([]byte, 60), nil); !errors.Is(err, keys.ErrKeyNotFound) {
			t.Errorf("unwrap with the destroyed KEK %s: %v; want keys.ErrKeyNotFound", h, err)
		}
	}
	return tenant, d.SHA256, kek
}
