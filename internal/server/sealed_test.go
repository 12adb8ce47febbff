package server_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/secretscan"
	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/internal/workflow"
)

func marker(what string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return "marker-" + what + "-" + hex.EncodeToString(b)
}

// markedEnvelope uploads a document named by a marker and sends an
// envelope with a marker in each free-text field; it returns the
// envelope's id, the document's and the markers.
func (r *running) markedEnvelope(key string) (string, string, []string) {
	r.t.Helper()
	name := marker("document") + ".pdf"
	var doc bytes.Buffer
	if err := pdf.WriteSample(&doc, pdf.SampleOptions{Pages: 1, Title: "Sealed"}); err != nil {
		r.t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", r.base+"/v1/documents?name="+url.QueryEscape(name), &doc)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/pdf")
	res, err := r.client.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var d workflow.Document
	if res.StatusCode != http.StatusCreated || json.Unmarshal(body, &d) != nil {
		r.t.Fatalf("upload: %d %s", res.StatusCode, body)
	}
	ms := []string{name, marker("subject"), marker("message"), marker("alice"), marker("alice") + "@example.com"}
	out := r.do("POST", "/v1/envelopes", key, map[string]any{"subject": ms[1], "message": ms[2], "documents": []string{d.ID},
		"recipients": []map[string]any{{"role": "signer", "name": ms[3], "email": ms[4], "routing_order": 1}}})
	var env workflow.Envelope
	if out.status != http.StatusCreated || json.Unmarshal(out.body, &env) != nil {
		r.t.Fatalf("create envelope: %d %s", out.status, out.body)
	}
	if out = r.do("POST", "/v1/envelopes/"+env.ID+"/send", key, nil); out.status != http.StatusOK {
		r.t.Fatalf("send: %d %s", out.status, out.body)
	}
	return env.ID, d.ID, ms
}

// atRest copies the service database (with its WAL) and the outbox of
// dir into a directory of their own, for secretscan.Check.
func atRest(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	names, _ := filepath.Glob(filepath.Join(dir, "signet.db*"))
	mails, _ := filepath.Glob(filepath.Join(dir, "outbox", "*"))
	if len(names) == 0 || len(mails) == 0 {
		t.Fatalf("database files %v, outbox %v", names, mails)
	}
	for i, n := range append(names, mails...) {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, filepath.Base(n)+"."+hex.EncodeToString([]byte{byte(i)})), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestSealedFieldsAtRest: a server converts the workflow rows that an
// earlier version, without keys at rest, stored in clear, stores new ones sealed, and
// serves them all; afterwards signet.db and the outbox hold none of the
// planted markers (documents' names, subjects, messages, recipients'
// names and addresses).
func TestSealedFieldsAtRest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, dir, nil, server.WithoutKeysAtRest())
	admin := r.bootstrapKey()
	res := r.do("POST", "/v1/tenants", admin, map[string]string{"name": "Acme"})
	var tn struct{ ID string }
	if res.status != http.StatusCreated || json.Unmarshal(res.body, &tn) != nil {
		t.Fatalf("create tenant: %d %s", res.status, res.body)
	}
	res = r.do("POST", "/v1/tenants/"+tn.ID+"/api-keys", admin, map[string]any{"name": "sender", "roles": []string{"sender"}})
	var key struct{ Secret string }
	if res.status != http.StatusCreated || json.Unmarshal(res.body, &key) != nil {
		t.Fatalf("create key: %d %s", res.status, res.body)
	}
	oldEnv, oldDoc, ms := r.markedEnvelope(key.Secret)
	r.stop()

	r = start(t, dir, nil)
	newEnv, newDoc, more := r.markedEnvelope(key.Secret)
	for _, c := range []struct {
		env, doc string
		ms       []string
	}{{oldEnv, oldDoc, ms}, {newEnv, newDoc, more}} {
		e := r.do("GET", "/v1/envelopes/"+c.env, key.Secret, nil)
		d := r.do("GET", "/v1/documents/"+c.doc, key.Secret, nil)
		if e.status != http.StatusOK || d.status != http.StatusOK {
			t.Fatalf("read back: %d %s; %d %s", e.status, e.body, d.status, d.body)
		}
		for _, m := range c.ms {
			if !strings.Contains(string(e.body)+string(d.body), m) {
				t.Errorf("the API does not return %q", m)
			}
		}
	}
	r.stop()
	secretscan.Check(t, atRest(t, dir), append(ms, more...)...)
}
