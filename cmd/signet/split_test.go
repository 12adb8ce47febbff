package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/apiclient"
	"github.com/signet-pki/signet/internal/mail/mailtest"
	"github.com/signet-pki/signet/internal/pgtest"
	"github.com/signet-pki/signet/internal/workflow"
)

// TestSplitOnPostgres runs a split deployment as two processes on one
// PostgreSQL database: `signet serve --role signer` with the master key,
// `signet keys export-service-key` on its host, `signet serve --role api`
// with the service key and no master key; an envelope completes and its
// document verifies.
func TestSplitOnPostgres(t *testing.T) {
	ctx := context.Background()
	owner, app := pgtest.NewDatabase(t)
	mk := make([]byte, 32)
	rand.Read(mk)
	signerEnv := processEnv("SIGNET_MASTER_KEY="+base64.StdEncoding.EncodeToString(mk),
		databaseURLEnv+"="+app, databaseAdminURLEnv+"="+owner)
	root := t.TempDir()
	signerAddr := freeAddr(t)
	signerCfg := filepath.Join(root, "signer.json")
	writeJSON(t, signerCfg, map[string]any{"signer": map[string]any{"listen": signerAddr}})
	signerData := filepath.Join(root, "signer")
	sig := exec.Command(signetBinary(t), "serve", "--role", "signer", "--data", signerData, "--config", signerCfg)
	sig.Env = signerEnv
	sigErr := &lockedBuffer{}
	sig.Stderr = sigErr
	if err := sig.Start(); err != nil {
		t.Fatal(err)
	}
	sigDone := make(chan error, 1)
	go func() { sigDone <- sig.Wait() }()
	t.Cleanup(func() {
		sig.Process.Kill()
		<-sigDone
	})
	for deadline := time.Now().Add(60 * time.Second); ; {
		if c, err := net.Dial("tcp", signerAddr); err == nil {
			c.Close()
			break
		}
		select {
		case err := <-sigDone:
			t.Fatalf("the signer exited: %v\n%s", err, sigErr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the signer does not listen\n%s", sigErr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	keyFile := filepath.Join(root, "service.key")
	export := exec.Command(signetBinary(t), "keys", "export-service-key", "--data", signerData, "--out", keyFile)
	export.Env = signerEnv
	if out, err := export.CombinedOutput(); err != nil {
		t.Fatalf("export-service-key: %v\n%s", err, out)
	}
	serviceKey, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}

	box, err := mailtest.New(mailtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { box.Close() })
	apiEnv := processEnv(databaseURLEnv+"="+app, databaseAdminURLEnv+"="+owner, "SIGNET_SERVICE_KEY="+strings.TrimSpace(string(serviceKey)))
	for _, kv := range apiEnv {
		if strings.HasPrefix(kv, "SIGNET_MASTER_KEY=") || strings.Contains(kv, base64.StdEncoding.EncodeToString(mk)) {
			t.Fatal("the api role's environment holds the master key")
		}
	}
	apiDir := filepath.Join(root, "api")
	if err := os.MkdirAll(apiDir, 0o700); err != nil {
		t.Fatal(err)
	}
	apiCfg := filepath.Join(apiDir, "signet.json")
	writeJSON(t, apiCfg, map[string]any{
		"pki_listen": freeAddr(t), "rate_limits": map[string]any{},
		"smtp":   map[string]any{"addr": box.Addr(), "from": "signet@split.invalid"},
		"signer": map[string]any{"url": "https://" + signerAddr},
	})
	p := startServe(t, apiEnv, filepath.Join(apiDir, "data"), freeAddr(t), "--role", "api", "--config", apiCfg)
	n := &node{serveProc: p, api: &apiclient.Client{Base: "https://" + p.addr, HTTP: p.client}}
	n.api.HTTP.Timeout = time.Minute

	admin := n.api.WithAuth("Bearer " + p.key)
	tn, err := admin.CreateTenant(ctx, "Split on PostgreSQL")
	if err != nil {
		t.Fatal(err)
	}
	secret, err := admin.CreateKey(ctx, tn.ID, "sender", []string{"sender"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sender := n.api.WithAuth("Bearer " + secret)
	doc, err := sender.Upload(ctx, "split.pdf", clusterPDF(t, "Split"))
	if err != nil {
		t.Fatal(err)
	}
	env, err := sender.CreateEnvelope(ctx, workflow.CreateRequest{Subject: "Split", Documents: []string{doc.ID},
		Recipients: []workflow.RecipientInput{{Role: workflow.RoleSigner, Name: "Ada", Email: "ada@example.com", Order: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sender.Send(ctx, env.ID); err != nil {
		t.Fatal(err)
	}
	mb := &apiclient.Mailbox{Inbox: box.Sent()}
	link, err := mb.Link(ctx, "ada@example.com", 1)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := mb.Authenticate(ctx, n.api, "ada@example.com", link)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Consent(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Sign(ctx); err != nil {
		t.Fatal(err)
	}
	done := waitStatus(t, sender, env.ID, workflow.StatusCompleted)
	signed, err := sender.Content(ctx, env.ID, done.Documents[0].DocumentID)
	if err != nil {
		t.Fatal(err)
	}
	checkSigned(t, signed, n, 2) // the recipient's and the completion seal
	for _, name := range []string{"master.key", "keys"} {
		if _, err := os.Stat(filepath.Join(apiDir, "data", name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the api role's data directory holds %s (%v)", name, err)
		}
	}
	if strings.Contains(sigErr.String(), "ada@example.com") || strings.Contains(sigErr.String(), secret) {
		t.Errorf("the signer's log holds recipient data or a credential:\n%s", sigErr.String())
	}
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
