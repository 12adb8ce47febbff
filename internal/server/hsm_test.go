//go:build cgo

package server_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/keys/pkcs11/softhsmtest"
)

// hsmToken is the SoftHSM2 token of this package's tests.
const hsmToken = "signet-server"

// pkcs11Config is a configuration over hsmToken with new tenant keys in
// it, the PIN in $SIGNET_TEST_PIN.
func pkcs11Config(dir string) server.Config {
	return server.Config{Listen: "127.0.0.1:0", PKIListen: "127.0.0.1:0", DataDir: dir,
		PKCS11:     &server.PKCS11Config{Module: softhsmtest.Module, TokenLabel: hsmToken, PINEnv: "SIGNET_TEST_PIN", MaxSessions: 2},
		KeysAtRest: server.KeysAtRestConfig{Backend: server.BackendPKCS11}}
}

// TestPKCS11StartRefused: a server whose token cannot be used fails to
// start with one line naming the cause and never the PIN, before it
// creates anything in its data directory or binds a port.
func TestPKCS11StartRefused(t *testing.T) {
	softhsmtest.Tokens(t, hsmToken)
	const wrongPIN = "9999-not-the-pin"
	tests := []struct {
		name string
		mod  func(*server.Config)
		pin  string
		want string
	}{
		{"PIN unset", nil, "", "$SIGNET_TEST_PIN is unset or empty"},
		{"wrong PIN", nil, wrongPIN, "wrong PIN"},
		{"token not found", func(c *server.Config) { c.PKCS11.TokenLabel = "no-such-token" }, softhsmtest.PIN, `no initialized token labelled "no-such-token"`},
		{"module missing", func(c *server.Config) { c.PKCS11.Module = "/nonexistent/libp11.so" }, softhsmtest.PIN, "/nonexistent/libp11.so"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			cfg := pkcs11Config(dir)
			if tc.mod != nil {
				tc.mod(&cfg)
			}
			secrets := func(name string) string {
				if name == "SIGNET_TEST_PIN" {
					return tc.pin
				}
				return ""
			}
			srv, err := server.New(context.Background(), cfg, server.WithSecrets(secrets),
				server.WithLogger(slog.New(slog.DiscardHandler)), server.WithTerminal(io.Discard))
			if err == nil {
				srv.Shutdown(context.Background())
				t.Fatal("the server started")
			}
			msg := err.Error()
			t.Logf("refused: %s", msg)
			if !strings.Contains(msg, tc.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line containing %q", msg, tc.want)
			}
			if strings.Contains(msg, softhsmtest.PIN) || strings.Contains(msg, wrongPIN) {
				t.Errorf("the error reveals the PIN: %q", msg)
			}
			if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the failed start created the data directory (%v)", err)
			}
		})
	}
}

// TestPKCS11SignerStartRefused: the signer role opens its token before
// anything else, and fails with one line when it cannot.
func TestPKCS11SignerStartRefused(t *testing.T) {
	softhsmtest.Tokens(t, hsmToken)
	dir := filepath.Join(t.TempDir(), "signer")
	cfg := pkcs11Config(dir)
	cfg.Role, cfg.Signer = server.RoleSigner, &server.SignerConfig{Listen: "127.0.0.1:0"}
	_, err := server.NewSigner(context.Background(), cfg, server.WithLogger(slog.New(slog.DiscardHandler)),
		server.WithSecrets(func(string) string { return "0000-wrong" }))
	if err == nil || !strings.Contains(err.Error(), "wrong PIN") || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "0000-wrong") {
		t.Fatalf("signer start: %v; want one line naming the wrong PIN, not the PIN", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the failed start created the data directory (%v)", err)
	}
}

// TestPKCS11APIRoleNeedsTheSignersToken: an api role that wants tenant
// keys in a token refuses to start when its signer serves none.
func TestPKCS11APIRoleNeedsTheSignersToken(t *testing.T) {
	signerDir := filepath.Join(t.TempDir(), "signer")
	url := startSigner(t, signerDir)
	cfg := server.Config{Listen: "127.0.0.1:0", PKIListen: "127.0.0.1:0", DataDir: filepath.Join(t.TempDir(), "api"),
		Role: server.RoleAPI, Signer: &server.SignerConfig{URL: url}, KeysAtRest: server.KeysAtRestConfig{Backend: server.BackendPKCS11}}
	srv, err := server.New(context.Background(), cfg, server.WithServiceKey(serviceKey(t, signerDir)),
		server.WithLogger(slog.New(slog.DiscardHandler)), server.WithTerminal(io.Discard))
	if err == nil {
		srv.Shutdown(context.Background())
		t.Fatal("the api role started")
	}
	if want := "serves 0 PKCS#11 tokens"; !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("api role start: %v; want one line containing %q", err, want)
	}
}
