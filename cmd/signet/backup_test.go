package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/apiclient"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/mail/mailtest"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/pades"
)

// apiFor returns an API client of the server p, trusting the root of its
// data directory.
func apiFor(t *testing.T, p *serveProc) (*apiclient.Client, *x509.CertPool) {
	t.Helper()
	pool := x509.NewCertPool()
	b, err := os.ReadFile(filepath.Join(p.data, "pki", "root.pem"))
	if err != nil || !pool.AppendCertsFromPEM(b) {
		t.Fatalf("root.pem: %v", err)
	}
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}}}
	return &apiclient.Client{Base: "https://" + p.addr, HTTP: hc}, pool
}

// TestBackupWhileServing backs up a data directory while `signet serve`
// runs on it, in the middle of an envelope (one signer of two has
// signed), restores the backup into a new directory and serves it: the
// restored service serves the same envelope and document, byte for byte,
// its audit log verifies, and the second signer finishes the envelope on
// it with the link the first server e-mailed.
func TestBackupWhileServing(t *testing.T) {
	dir := t.TempDir()
	a, restored := filepath.Join(dir, "a"), filepath.Join(dir, "restored")
	listen, pkiListen := freeAddr(t), freeAddr(t)
	// The e-mails go to one SMTP mailbox, which both servers use (the
	// outbox of a server without SMTP is sealed).
	box, err := mailtest.New(mailtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { box.Close() })
	cfgJSON, _ := json.Marshal(map[string]any{
		"smtp":        map[string]any{"addr": box.Addr(), "from": "signet@backup.invalid"},
		"rate_limits": map[string]any{},
	})
	cfg := writeFile(t, dir, "signet.json", string(cfgJSON))
	p := startServe(t, processEnv(), a, listen, "--pki-listen", pkiListen, "--config", cfg)
	api, sender, doc := senderWithDocument(t, p)
	ctx := context.Background()
	signers := []string{"alice@example.com", "bob@example.com"}
	req := workflow.CreateRequest{Subject: "Backup agreement", Message: "Please sign.", Documents: []string{doc.ID}}
	for i, s := range signers {
		req.Recipients = append(req.Recipients, workflow.RecipientInput{Role: workflow.RoleSigner, Name: s, Email: s, Order: i + 1})
	}
	e, err := sender.CreateEnvelope(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sender.Send(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	mbA := &apiclient.Mailbox{Inbox: box.Sent()}
	sign := func(api *apiclient.Client, mb *apiclient.Mailbox, email, link string) bool {
		t.Helper()
		rc, err := mb.Authenticate(ctx, api, email, link)
		if err != nil {
			t.Fatalf("%s: %v", email, err)
		}
		if _, err := rc.View(ctx); err != nil {
			t.Fatal(err)
		}
		if err := rc.Consent(ctx); err != nil {
			t.Fatal(err)
		}
		res, err := rc.Sign(ctx)
		if err != nil {
			t.Fatalf("%s: sign: %v", email, err)
		}
		return res.Completed
	}
	link, err := mbA.Link(ctx, signers[0], 1)
	if err != nil {
		t.Fatal(err)
	}
	sign(api, mbA, signers[0], link)
	halfSigned, err := sender.Content(ctx, e.ID, doc.ID)
	if err != nil {
		t.Fatal(err)
	}

	// The backup, while the server runs.
	key, out := filepath.Join(dir, "backup.key"), filepath.Join(dir, "a.backup")
	if code, stdout, stderr := signetRun(t, "backup", "keygen", "--out", key); code != 0 || !strings.Contains(stdout, "key id") {
		t.Fatalf("backup keygen: exit %d\n%s%s", code, stdout, stderr)
	}
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if code, stdout, stderr := signetRun(t, "backup", "create", "--data", a, "--out", out, "--key-file", key); code != 0 {
		t.Fatalf("backup create: exit %d\n%s%s", code, stdout, stderr)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	p.stop()

	code, stdout, stderr := signetRun(t, "backup", "verify", out, "--key-file", key)
	if code != 0 || !strings.Contains(stdout, "backup OK") || !strings.Contains(stdout, "verified") {
		t.Fatalf("backup verify: exit %d\n%s%s", code, stdout, stderr)
	}
	t.Logf("backup verify:\n%s", stdout)
	if code, stdout, stderr := signetRun(t, "backup", "restore", out, "--data", restored, "--key-file", key, "--master-key", filepath.Join(a, "master.key")); code != 0 {
		t.Fatalf("backup restore: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := signetRun(t, "audit", "verify", "--data", restored); code != 0 || !strings.Contains(stdout, "audit log OK") {
		t.Fatalf("audit verify of the restored directory: exit %d\n%s%s", code, stdout, stderr)
	}

	// The restored service, on the same addresses.
	p2 := startServe(t, processEnv(), restored, listen, "--pki-listen", pkiListen, "--config", cfg)
	if p2.key != "" {
		t.Error("the restored service printed a new bootstrap key")
	}
	api2, roots := apiFor(t, p2)
	sender2 := api2.WithAuth(sender.Authorization)
	got, err := sender2.Content(ctx, e.ID, doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, halfSigned) {
		t.Fatal("the restored service serves other bytes than the original")
	}
	e2, err := sender2.Envelope(ctx, e.ID)
	if err != nil || e2.Subject != "Backup agreement" || len(e2.Recipients) != 2 {
		t.Fatalf("restored envelope: %+v %v", e2, err)
	}
	// The second signer finishes on the restored service, with the link
	// the first server e-mailed.
	link2, err := mbA.Link(ctx, signers[1], 1)
	if err != nil {
		t.Fatal(err)
	}
	if !sign(api2, mbA, signers[1], link2) {
		t.Fatal("the envelope did not complete on the restored service")
	}
	final, err := sender2.Content(ctx, e.ID, doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := pades.Verify(bytes.NewReader(final), int64(len(final)), pades.VerifyOptions{Roots: roots})
	if err != nil || !rep.Valid {
		t.Fatalf("the completed document does not verify: %v", err)
	}
	p2.stop()
	if code, stdout, stderr := signetRun(t, "audit", "verify", "--data", restored); code != 0 {
		t.Fatalf("audit verify after more events: exit %d\n%s%s", code, stdout, stderr)
	}
}

// TestBackupCLIRefusals runs each way the backup commands refuse their
// input and checks the exit code and the one error line.
func TestBackupCLIRefusals(t *testing.T) {
	dir := t.TempDir()
	qs := filepath.Join(dir, "qs")
	if code, stdout, stderr := signetRun(t, "quickstart", "--dir", qs); code != 0 {
		t.Fatalf("quickstart: exit %d\n%s%s", code, stdout, stderr)
	}
	data := filepath.Join(qs, "data")
	key, other := filepath.Join(dir, "k"), filepath.Join(dir, "other.key")
	for _, k := range []string{key, other} {
		if code, _, stderr := signetRun(t, "backup", "keygen", "--out", k); code != 0 {
			t.Fatal(stderr)
		}
	}
	good := filepath.Join(dir, "good.backup")
	if code, _, stderr := signetRun(t, "backup", "create", "--data", data, "--out", good, "--key-file", key); code != 0 {
		t.Fatal(stderr)
	}
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	variant := func(name string, f func([]byte) []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, f(bytes.Clone(b)), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flipped := variant("flipped.backup", func(c []byte) []byte { c[len(c)*2/3] ^= 0x10; return c })
	truncated := variant("truncated.backup", func(c []byte) []byte { return c[:len(c)-100] })
	notBackup := variant("not.backup", func([]byte) []byte { return []byte("%PDF-1.7\n") })
	openKey := filepath.Join(dir, "open.key")
	kb, _ := os.ReadFile(key)
	if err := os.WriteFile(openKey, kb, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, dir, "pg.json", `{"database_url":"postgres://signet@127.0.0.1:1/signet"}`)
	nonEmpty := filepath.Join(dir, "busy")
	if err := os.MkdirAll(nonEmpty, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, nonEmpty, "signet.db", "x")
	mk := filepath.Join(data, "master.key")

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"verify flipped", []string{"backup", "verify", flipped, "--key-file", key}, 1, "corrupt, truncated or altered"},
		{"verify truncated", []string{"backup", "verify", truncated, "--key-file", key}, 1, "corrupt, truncated or altered"},
		{"verify not a backup", []string{"backup", "verify", notBackup, "--key-file", key}, 1, "not a Signet backup"},
		{"verify wrong key", []string{"backup", "verify", good, "--key-file", other}, 1, "wrong backup key"},
		{"verify no key", []string{"backup", "verify", good}, 2, "no backup key"},
		{"key file readable by others", []string{"backup", "verify", good, "--key-file", openKey}, 2, "want 0600"},
		{"restore flipped", []string{"backup", "restore", flipped, "--data", filepath.Join(dir, "r1"), "--key-file", key, "--master-key", mk}, 1, "corrupt"},
		{"restore truncated", []string{"backup", "restore", truncated, "--data", filepath.Join(dir, "r2"), "--key-file", key, "--master-key", mk}, 1, "corrupt"},
		{"restore without master key", []string{"backup", "restore", good, "--data", filepath.Join(dir, "r3"), "--key-file", key}, 1, "--master-key"},
		{"restore into a directory with data", []string{"backup", "restore", good, "--data", nonEmpty, "--key-file", key, "--master-key", mk}, 2, "not empty"},
		{"create over an existing file", []string{"backup", "create", "--data", data, "--out", good, "--key-file", key}, 2, "exists"},
		{"create inside the data directory", []string{"backup", "create", "--data", data, "--out", filepath.Join(data, "x.backup"), "--key-file", key}, 2, "inside the data directory"},
		{"create of a PostgreSQL deployment", []string{"backup", "create", "--config", cfg, "--data", data, "--out", filepath.Join(dir, "pg.backup"), "--key-file", key}, 1, "backup: database"},
		{"create of no data directory", []string{"backup", "create", "--data", filepath.Join(dir, "none"), "--out", filepath.Join(dir, "none.backup"), "--key-file", key}, 1, "data directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := signetRun(t, tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.want)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "signet: ") {
				t.Errorf("stderr is not one line \"signet: ...\": %q", stderr)
			}
			if strings.Contains(stdout, "backup OK") || strings.Contains(stdout, "restored") {
				t.Errorf("stdout claims success: %q", stdout)
			}
		})
	}
	for _, r := range []string{"r1", "r2", "r3"} {
		if _, err := os.Stat(filepath.Join(dir, r)); err == nil {
			t.Errorf("a refused restore left %s behind", r)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
	if _, err := os.Stat(filepath.Join(dir, "pg.backup")); err == nil {
		t.Error("a refused create wrote its file")
	}
	// Documents in a bucket: the backup says it does not hold them.
	s3cfg := writeFile(t, dir, "s3.json", `{"documents_s3":{"endpoint":"https://s3.example.invalid","bucket":"signet-docs","access_key_env":"S3_AK","secret_key_env":"S3_SK"}}`)
	if code, stdout, stderr := signetRun(t, "backup", "create", "--config", s3cfg, "--data", data, "--out", filepath.Join(dir, "s3.backup"), "--key-file", key); code != 0 || !strings.Contains(stdout, `S3 bucket "signet-docs"`) {
		t.Errorf("create with documents in S3: exit %d\n%s%s", code, stdout, stderr)
	}
	// The key from the environment instead of a file.
	t.Setenv(backupKeyEnv, strings.TrimSpace(string(kb)))
	if code, stdout, stderr := signetRun(t, "backup", "verify", good); code != 0 || !strings.Contains(stdout, "backup OK") {
		t.Errorf("verify with %s: exit %d\n%s%s", backupKeyEnv, code, stdout, stderr)
	}
}

// senderWithDocument creates a tenant on the node p serves and a sender
// key of it, and uploads a sample agreement as that sender.
func senderWithDocument(t *testing.T, p *serveProc) (api, sender *apiclient.Client, doc workflow.Document) {
	t.Helper()
	api, _ = apiFor(t, p)
	ctx := context.Background()
	tenant, err := api.WithAuth("Bearer "+p.key).CreateTenant(ctx, "Backup Inc.")
	if err != nil {
		t.Fatal(err)
	}
	secret, err := api.WithAuth("Bearer "+p.key).CreateKey(ctx, tenant.ID, "backup test", []string{authz.RoleSender}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sender = api.WithAuth("Bearer " + secret)
	var sample bytes.Buffer
	if err := pdf.WriteSample(&sample, pdf.SampleOptions{Pages: 1, Title: "Backup test agreement"}); err != nil {
		t.Fatal(err)
	}
	if doc, err = sender.Upload(ctx, "agreement.pdf", sample.Bytes()); err != nil {
		t.Fatal(err)
	}
	return api, sender, doc
}
