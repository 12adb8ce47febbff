package server_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/keys/remote"
)

func TestSplitConfigValidate(t *testing.T) {
	signer := func(s server.SignerConfig) *server.SignerConfig { return &s }
	tests := []struct {
		name   string
		role   string
		signer *server.SignerConfig
		db     string
		want   string // "" means valid
	}{
		{"one process", "", nil, "", ""},
		{"api", server.RoleAPI, signer(server.SignerConfig{URL: "https://signer.internal:9443"}), "", ""},
		{"signer", server.RoleSigner, signer(server.SignerConfig{Listen: "0.0.0.0:9443"}), "", ""},
		{"signer section in one process", "", signer(server.SignerConfig{URL: "https://x:1"}), "", "neither"},
		{"unknown role", "frontend", nil, "", `role "frontend"`},
		{"api without url", server.RoleAPI, nil, "", "role api needs signer.url"},
		{"api with http url", server.RoleAPI, signer(server.SignerConfig{URL: "http://signer:9443"}), "", "not https"},
		{"api with a listen address", server.RoleAPI, signer(server.SignerConfig{URL: "https://s:1", Listen: "127.0.0.1:1"}), "", "signer.listen belongs"},
		{"api on PostgreSQL", server.RoleAPI, signer(server.SignerConfig{URL: "https://s:1"}), "postgres://signet@db/signet", ""},
		{"signer without listen", server.RoleSigner, signer(server.SignerConfig{}), "", "role signer needs signer.listen"},
		{"signer without section", server.RoleSigner, nil, "", "role signer needs signer.listen"},
		{"signer with a url", server.RoleSigner, signer(server.SignerConfig{Listen: "127.0.0.1:1", URL: "https://s:1"}), "", "signer.url belongs"},
		{"short validity", server.RoleSigner, signer(server.SignerConfig{Listen: "127.0.0.1:1", CertValidity: server.Duration(time.Second)}), "", "cert_validity"},
	}
	for _, tt := range tests {
		c := server.Config{Role: tt.role, Signer: tt.signer, DatabaseURL: tt.db}
		c.Defaults()
		err := c.Validate()
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line mentioning %q", tt.name, err, tt.want)
		}
	}
}

// startSigner starts the signer role over dir and returns its URL.
func startSigner(t *testing.T, dir string) string {
	t.Helper()
	s, err := server.NewSigner(context.Background(), server.Config{DataDir: dir, Role: server.RoleSigner,
		Signer: &server.SignerConfig{Listen: "127.0.0.1:0"}}, server.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("signer: %v", err)
		}
	})
	return "https://" + s.Addr().String()
}

// serviceKey exports the service key of the signer's directory.
func serviceKey(t *testing.T, signerDir string) string {
	t.Helper()
	d, err := datadir.Open(signerDir, datadir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	k, err := d.ServiceKey(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return k.Encode()
}

// The signer refuses at the handshake a client without a certificate,
// and one whose certificate another CA issued, even for the api role.
func TestSignerRefusesClientsWithoutItsCertificate(t *testing.T) {
	dir := t.TempDir()
	url := startSigner(t, dir)
	other, err := remote.NewTransportCA(nil)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := remote.NewKeyPair(func(pub crypto.PublicKey) (*x509.Certificate, error) {
		return other.Issue(pub, remote.RoleAPI, nil, 0)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		cert *tls.Certificate
	}{{"no certificate", nil}, {"another CA's api certificate", foreign}} {
		cfg := &tls.Config{MinVersion: tls.VersionTLS13, InsecureSkipVerify: true}
		if tt.cert != nil {
			cfg.Certificates = []tls.Certificate{*tt.cert}
		}
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 20 * time.Second}
		res, err := hc.Post(url+"/v1/info", "application/json", bytes.NewReader([]byte(`{}`)))
		if err == nil {
			res.Body.Close()
			t.Errorf("%s: answered %s, want a refused handshake", tt.name, res.Status)
		}
	}
	// The deployment's own api role gets in.
	k, err := datadir.ParseServiceKey(serviceKey(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	c, err := remote.Dial(context.Background(), remote.ClientConfig{URL: url, EnrolmentKey: k.EnrolmentKey()})
	if err != nil {
		t.Fatalf("the deployment's api role: %v", err)
	}
	c.Close()
}

// The api role runs on the signer's keys: it refuses a master key, it
// does not start with another deployment's service key, and with its own
// it serves HTTPS with a certificate whose key the signer holds, creates
// tenants (their CAs and seal keys made in the signer) and never writes a
// master key or a sealed key to its data directory.
func TestAPIRole(t *testing.T) {
	signerDir := t.TempDir()
	url := startSigner(t, signerDir)
	apiDir := filepath.Join(t.TempDir(), "api")
	split := func(c *server.Config) {
		c.Role = server.RoleAPI
		c.Signer = &server.SignerConfig{URL: url}
	}
	base := server.Config{Listen: "127.0.0.1:0", PKIListen: "127.0.0.1:0", DataDir: apiDir}
	split(&base)
	_, err := server.New(context.Background(), base, server.WithLogger(slog.New(slog.DiscardHandler)),
		server.WithMasterKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="))
	if err == nil || !strings.Contains(err.Error(), "role api: a master key is set") {
		t.Fatalf("api role with a master key: %v", err)
	}
	// A data directory shared with the signer (its master key within
	// reach) is refused.
	if err := os.MkdirAll(apiDir, 0o700); err != nil {
		t.Fatal(err)
	}
	mkFile := filepath.Join(apiDir, datadir.MasterKey)
	if err := os.WriteFile(mkFile, []byte("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = server.New(context.Background(), base, server.WithLogger(slog.New(slog.DiscardHandler)),
		server.WithServiceKey(serviceKey(t, signerDir)))
	if err == nil || !strings.Contains(err.Error(), "holds a master key") {
		t.Fatalf("api role over a directory with master.key: %v", err)
	}
	if err := os.Remove(mkFile); err != nil {
		t.Fatal(err)
	}
	_, err = server.New(context.Background(), base, server.WithLogger(slog.New(slog.DiscardHandler)),
		server.WithServiceKey(datadir.DeriveServiceKey(make([]byte, 32)).Encode()))
	if err == nil || !strings.Contains(err.Error(), "enrolment proof does not match") {
		t.Fatalf("api role with another deployment's service key: %v", err)
	}
	_, err = server.New(context.Background(), base, server.WithLogger(slog.New(slog.DiscardHandler)))
	if err == nil || !errors.Is(err, datadir.ErrSecret) || !strings.Contains(err.Error(), "export-service-key") {
		t.Fatalf("api role without a service key: %v", err)
	}

	r := start(t, apiDir, split, server.WithServiceKey(serviceKey(t, signerDir)))
	admin := r.bootstrapKey()
	if res := r.do("POST", "/v1/tenants", admin, map[string]string{"name": "Split"}); res.status != http.StatusCreated {
		t.Fatalf("tenant: %d %s", res.status, res.body)
	}
	for _, name := range []string{datadir.MasterKey, datadir.KeysDir} {
		if _, err := os.Stat(filepath.Join(apiDir, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the api role's data directory holds %s (%v)", name, err)
		}
	}
	// Every key the api role's manager made is sealed in the signer's
	// directory.
	sealed, err := os.ReadDir(filepath.Join(signerDir, datadir.KeysDir))
	if err != nil || len(sealed) == 0 {
		t.Fatalf("the signer holds no sealed keys: %v", err)
	}
}
