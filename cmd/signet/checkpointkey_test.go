package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/server"
)

// serveOnce starts the service over data, lets it run and shuts it down
// gracefully (which publishes a checkpoint).
func serveOnce(t *testing.T, data string) {
	t.Helper()
	srv, err := server.New(context.Background(), server.Config{DataDir: data, Listen: "127.0.0.1:0", PKIListen: "127.0.0.1:0"},
		server.WithTerminal(io.Discard), server.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	stop()
	<-done
}

// TestCheckpointKeyInKeyStore: a service data directory's checkpoints are
// signed by the key store's audit-checkpoint key (no key file on disk);
// after `signet keys rotate` of that key, the next start signs with the new
// version, audit.pub lists both, and `signet audit verify` accepts every
// checkpoint; after `signet keys revoke`, a new key takes over and the old
// one's checkpoints still verify; `signet audit append` signs with the key
// store's key too.
func TestCheckpointKeyInKeyStore(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	serveOnce(t, data)
	if _, err := os.Stat(filepath.Join(data, "audit.key")); !os.IsNotExist(err) {
		t.Fatalf("a checkpoint key file exists: %v", err)
	}
	c := &keysCLI{t: t, data: data}
	var id string
	for _, line := range strings.Split(c.mustKeys("list"), "\n") {
		if strings.Contains(line, "audit-checkpoint") {
			id = strings.Fields(line)[0]
		}
	}
	if id == "" {
		t.Fatalf("no audit-checkpoint key in the key store:\n%s", c.mustKeys("list"))
	}
	if show := c.mustKeys("show", id); !strings.Contains(show, "ed25519") {
		t.Fatalf("checkpoint key:\n%s", show)
	}
	pub1, err := os.ReadFile(filepath.Join(data, "audit.pub"))
	if err != nil || bytes.Count(pub1, []byte("\n")) != 1 {
		t.Fatalf("audit.pub = %q, %v; want one verifier key", pub1, err)
	}
	verify := func() string {
		t.Helper()
		code, out, errb := signetRun(t, "audit", "verify", "--data", data)
		if code != 0 {
			t.Fatalf("audit verify: exit %d: %s%s", code, out, errb)
		}
		return out
	}
	verify()

	c.mustKeys("rotate", id)
	serveOnce(t, data)
	pub2, err := os.ReadFile(filepath.Join(data, "audit.pub"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(pub2)), "\n")
	if len(lines) != 2 || lines[1] != strings.TrimSpace(string(pub1)) {
		t.Fatalf("audit.pub after rotation = %q; want the new key, then the old one", pub2)
	}
	verify()

	// With only the new key, the checkpoints signed before the rotation
	// are refused: the old key's line is what accepts them.
	if err := os.WriteFile(filepath.Join(data, "audit.pub"), []byte(lines[0]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := signetRun(t, "audit", "verify", "--data", data); code != 1 {
		t.Fatalf("audit verify without the retired key: exit %d, want 1", code)
	}
	if err := os.WriteFile(filepath.Join(data, "audit.pub"), pub2, 0o644); err != nil {
		t.Fatal(err)
	}

	// A revoked checkpoint key is replaced by a new key at the next start;
	// the checkpoints of the revoked key's versions still verify.
	c.mustKeys("revoke", id, "--reason", "keyCompromise")
	serveOnce(t, data)
	pub3, err := os.ReadFile(filepath.Join(data, "audit.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSpace(string(pub3)), "\n"); len(got) != 3 || got[1] != lines[0] || got[2] != lines[1] {
		t.Fatalf("audit.pub after revocation = %q; want a new key, then both versions of the revoked one", pub3)
	}
	verify()

	if code, out, errb := signetRun(t, "audit", "append", "--data", data, "--type", "admin.policy_changed"); code != 0 {
		t.Fatalf("audit append: exit %d: %s%s", code, out, errb)
	}
	if _, err := os.Stat(filepath.Join(data, "audit.key")); !os.IsNotExist(err) {
		t.Fatalf("audit append created a checkpoint key file: %v", err)
	}
	verify()
	if code, _, errb := signetRun(t, "audit", "append", "--data", data, "--type", "admin.policy_changed", "--origin", "elsewhere"); code != 2 {
		t.Fatalf("audit append with another origin: exit %d (%s), want 2", code, errb)
	}
}

// TestCheckpointKeyFileImported: a data directory whose checkpoints an
// earlier version signed with the note key file audit.key: the next start
// moves that very key into the key store (audit.pub unchanged), removes
// the file, and every checkpoint, before and after, verifies.
func TestCheckpointKeyFileImported(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	// A log with checkpoints signed by a key file, as earlier versions
	// kept it.
	if code, out, errb := signetRun(t, "audit", "append", "--data", data, "--type", "admin.policy_changed"); code != 0 {
		t.Fatalf("audit append: exit %d: %s%s", code, out, errb)
	}
	keyFile := filepath.Join(data, "audit.key")
	if _, err := os.Stat(keyFile); err != nil {
		t.Fatalf("no key file to start from: %v", err)
	}
	pubBefore, err := os.ReadFile(filepath.Join(data, "audit.pub"))
	if err != nil {
		t.Fatal(err)
	}
	keyBytes, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}

	serveOnce(t, data)
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Fatalf("the key file is still there: %v", err)
	}
	pubAfter, err := os.ReadFile(filepath.Join(data, "audit.pub"))
	if err != nil || !bytes.Equal(pubAfter, pubBefore) {
		t.Fatalf("audit.pub changed: %q → %q (%v)", pubBefore, pubAfter, err)
	}
	c := &keysCLI{t: t, data: data}
	if list := c.mustKeys("list"); strings.Count(list, "audit-checkpoint") != 1 {
		t.Fatalf("key store after the import:\n%s", list)
	}
	if code, out, errb := signetRun(t, "audit", "verify", "--data", data); code != 0 {
		t.Fatalf("audit verify: exit %d: %s%s", code, out, errb)
	}
	// An import interrupted before the file was removed: the next start
	// finds the key already in the store, imports nothing, removes the
	// file.
	if err := os.WriteFile(keyFile, keyBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	serveOnce(t, data)
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Fatalf("the restored key file is still there: %v", err)
	}
	if list := c.mustKeys("list"); strings.Count(list, "audit-checkpoint") != 1 {
		t.Fatalf("key store after an interrupted import:\n%s", list)
	}
}
