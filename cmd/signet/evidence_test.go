package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/evidence"
	"github.com/signet-pki/signet/internal/apiclient"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/internal/workflow"
)

// TestEvidenceCommand downloads an envelope's bundle from a running
// server with an API key from the environment, waiting for the audit
// log's checkpoint as the server asks; the file is whole and owner-only,
// and a refused download leaves no file.
func TestEvidenceCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	var terminal bytes.Buffer
	srv, err := server.New(ctx, server.Config{DataDir: data, Listen: "127.0.0.1:0", PKIListen: "127.0.0.1:0"},
		server.WithTerminal(&terminal), server.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	defer func() { stop(); <-done }()
	rootPath := datadir.File(data, datadir.RootCert)
	rootPEM, err := os.ReadFile(rootPath)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(rootPEM)
	base := "https://" + srv.Addr().String()
	c := &apiclient.Client{Base: base, HTTP: &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}}
	admin := c.WithAuth("Bearer " + bootstrapKeyRE().FindString(terminal.String()))
	ten, err := admin.CreateTenant(ctx, "Evidence CLI")
	if err != nil {
		t.Fatal(err)
	}
	key, err := admin.CreateKey(ctx, ten.ID, "support", []string{authz.RoleSender}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sender := c.WithAuth("Bearer " + key)
	var sample bytes.Buffer
	if err := pdf.WriteSample(&sample, pdf.SampleOptions{Pages: 1, Title: "CLI evidence"}); err != nil {
		t.Fatal(err)
	}
	doc, err := sender.Upload(ctx, "cli.pdf", sample.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	e, err := sender.CreateEnvelope(ctx, workflow.CreateRequest{Subject: "CLI", Documents: []string{doc.ID},
		Recipients: []workflow.RecipientInput{{Role: workflow.RoleSigner, Name: "Erin CLI", Email: "erin@cli.example", Order: 1}}})
	if err != nil {
		t.Fatal(err)
	}

	call := func(apiKey string, args ...string) (string, error) {
		var out, errb bytes.Buffer
		env := &environment{stdout: &out, stderr: &errb, getenv: func(k string) string {
			if k == apiKeyEnv {
				return apiKey
			}
			return ""
		}}
		err := cmdEvidence(args, env)
		return out.String(), err
	}
	out := filepath.Join(dir, "bundle.zip")
	stdout, err := call(key, e.ID, "--out", out, "--server", base, "--trust", rootPath, "--wait", "1m")
	if err != nil {
		t.Fatalf("signet evidence: %v", err)
	}
	if !strings.Contains(stdout, out) {
		t.Errorf("output does not name the file: %q", stdout)
	}
	st, err := os.Stat(out)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("bundle: %v %v", st, err)
	}
	zr, err := zip.OpenReader(out)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	rc, err := zr.Open(evidence.PathManifest)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	var m evidence.Manifest
	if err := json.Unmarshal(b, &m); err != nil || m.EnvelopeID != e.ID || len(m.Files) == 0 {
		t.Errorf("manifest: %v %+v", err, m)
	}

	for name, tc := range map[string]struct {
		key  string
		args []string
		code int
	}{
		"no key":        {"", []string{e.ID, "--out", filepath.Join(dir, "a.zip"), "--server", base, "--trust", rootPath}, exitUsage},
		"no envelope":   {key, []string{"env_none", "--out", filepath.Join(dir, "b.zip"), "--server", base, "--trust", rootPath}, exitFailed},
		"existing file": {key, []string{e.ID, "--out", out, "--server", base, "--trust", rootPath}, exitUsage},
		"no out":        {key, []string{e.ID, "--server", base}, exitUsage},
	} {
		_, err := call(tc.key, tc.args...)
		if exitCode(err) != tc.code {
			t.Errorf("%s: exit %d (%v), want %d", name, exitCode(err), err, tc.code)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*.zip*"))
	if len(left) != 1 {
		t.Errorf("files left: %v (want only bundle.zip)", left)
	}
}
