package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/mail/mailtest"
	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/keys/soft"
)

// startSplit starts a signer over its own data directory (the master key
// and the sealed keys only) and an api role over another, holding the
// exported service key and no key backend credential; the api role is
// the returned instance.
func startSplit(t *testing.T, signerLog *syncBuffer) (*instance, string) {
	t.Helper()
	return startSplitWith(t, signerLog, nil, nil, nil)
}

// startSplitWith is startSplit with the signer's configuration changed by
// signerMod and started with signerOpts, and the api role's configuration
// changed by apiMod at each start.
func startSplitWith(t *testing.T, signerLog *syncBuffer, signerMod func(*server.Config), signerOpts []server.Option, apiMod func(*server.Config)) (*instance, string) {
	t.Helper()
	if os.Getenv(soft.MasterKeyEnv) != "" {
		t.Fatalf("%s is set in the test's environment", soft.MasterKeyEnv)
	}
	signerDir := filepath.Join(t.TempDir(), "signer")
	scfg := server.Config{DataDir: signerDir, Role: server.RoleSigner, Signer: &server.SignerConfig{Listen: "127.0.0.1:0"}}
	if signerMod != nil {
		signerMod(&scfg)
	}
	sig, err := server.NewSigner(context.Background(), scfg, append([]server.Option{server.WithLogger(slog.New(slog.NewJSONHandler(signerLog, nil)))}, signerOpts...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sig.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("signer shutdown: %v", err)
		}
	})
	// The operator exports the service key on the signer's host and
	// copies it to the api role's data directory.
	apiDir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(apiDir, 0o700); err != nil {
		t.Fatal(err)
	}
	d, err := datadir.Open(signerDir, datadir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.ExportServiceKey(context.Background(), filepath.Join(apiDir, datadir.ServiceKeyFile)); err != nil {
		t.Fatal(err)
	}
	d.Close()

	box, err := mailtest.New(mailtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { box.Close() })
	url := "https://" + sig.Addr().String()
	in := &instance{t: t, dir: apiDir, listen: freeAddr(t), pki: freeAddr(t), mailbox: box, configure: func(c *server.Config) {
		c.Role = server.RoleAPI
		c.Signer = &server.SignerConfig{URL: url}
		if apiMod != nil {
			apiMod(c)
		}
	}}
	in.up()
	t.Cleanup(in.down)
	return in, signerDir
}

// TestSplitFullFlow: with the api role and the signer in separate
// processes' roles over separate data directories, an envelope completes
// exactly as in one process (pades.Verify at B-LTA, pdfsig, qpdf); the
// api role's directory and configuration hold no key backend credential
// and no key, the signer's nothing but the keys.
func TestSplitFullFlow(t *testing.T) {
	signerLog := &syncBuffer{}
	in, signerDir := startSplit(t, signerLog)
	ctx := context.Background()
	sender, _ := in.sender("Split")
	const title = "Split deployment offer"
	e, err := envelope(ctx, sender, title, samplePDF(t, title, 0), "alice@example.com", "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"alice@example.com", "bob@example.com"} {
		if _, err := in.signAs(ctx, who, 1); err != nil {
			t.Fatal(err)
		}
	}
	got, err := sender.Envelope(ctx, e.ID)
	if err != nil || got.Status != workflow.StatusCompleted {
		t.Fatalf("envelope = %s, %v; want completed", got.Status, err)
	}
	b, err := sender.Content(ctx, e.ID, e.Documents[0].DocumentID)
	if err != nil {
		t.Fatal(err)
	}
	in.checkPDF(t, b, 3, true)

	// The api role: no master key, no sealed keys; its configuration
	// names no credential.
	for _, name := range []string{datadir.MasterKey, datadir.KeysDir} {
		if _, err := os.Stat(filepath.Join(in.dir, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the api role's data directory holds %s (%v)", name, err)
		}
	}
	var cfg server.Config
	in.configure(&cfg)
	js, _ := json.Marshal(cfg)
	for _, word := range []string{"master", "pin", "pkcs11", "service_key", "secret"} {
		if strings.Contains(strings.ToLower(string(js)), word) {
			t.Errorf("the api role's configuration mentions %q: %s", word, js)
		}
	}
	// The signer: the master key and the sealed keys, no database, no
	// audit log, no documents.
	for _, name := range []string{datadir.ServiceDB, datadir.AuditDB, datadir.KeysDB, datadir.BlobsDir, datadir.PKIDB} {
		if _, err := os.Stat(filepath.Join(signerDir, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the signer's data directory holds %s (%v)", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(signerDir, datadir.MasterKey)); err != nil {
		t.Errorf("the signer has no master key: %v", err)
	}
	if logs := signerLog.String(); strings.Contains(logs, title) || strings.Contains(logs, "alice@example.com") {
		t.Errorf("the signer's log holds document or recipient data:\n%s", logs)
	}
}
