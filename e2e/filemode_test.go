package e2e

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/internal/workflow"
)

// TestDataDirectoryModes runs a whole signing flow, then a restart with
// e-mail to the outbox, under a umask that would leave files 0644, and
// walks the data directory while the server runs (with the databases'
// -wal and -shm files) and after it stops: every directory is 0700 and
// every file 0600, except the write-once checkpoint copies, 0400.
func TestDataDirectoryModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	in := start(t, nil)
	ctx := context.Background()
	sender, _ := in.sender("Acme")
	e, err := envelope(ctx, sender, "Offer letter", samplePDF(t, "Offer letter", 0), "alice@example.com", "bob@example.com")
	if err != nil {
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
	seen := checkModes(t, in.dir)
	for _, want := range []string{"signet.db-wal", "signet.db-shm", "audit.db-wal", "master.key", "audit.pub", "pki/root.pem"} {
		if !seen[want] {
			t.Errorf("%s not found while the server runs: the walk misses files", want)
		}
	}

	// Without SMTP, recipient e-mail goes to DATA/outbox.
	key := sender.Authorization
	in.down()
	in.configure = func(c *server.Config) { c.SMTP = server.SMTPConfig{} }
	in.up()
	sender = in.client.WithAuth(key)
	if _, err := envelope(ctx, sender, "Spooled", samplePDF(t, "Spooled", 0), "carol@example.com"); err != nil {
		t.Fatal(err)
	}
	outbox := filepath.Join(in.dir, "outbox")
	for deadline := time.Now().Add(60 * time.Second); ; {
		if entries, _ := os.ReadDir(outbox); len(entries) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no e-mail in the outbox")
		}
		time.Sleep(100 * time.Millisecond)
	}
	checkModes(t, in.dir)
	in.down()
	// Shutdown publishes a last checkpoint and its write-once copy.
	seen = checkModes(t, in.dir)
	if !seen["checkpoints/checkpoints.log"] {
		t.Error("no checkpoint copies after shutdown: the walk misses files")
	}
}

// checkModes walks dir and reports every entry whose mode is not 0700 (a
// directory), 0400 (a checkpoint copy) or 0600 (any other file). It
// returns the paths seen, relative to dir.
func checkModes(t *testing.T, dir string) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		seen[rel] = true
		want := fs.FileMode(0o600)
		switch {
		case info.IsDir():
			want = 0o700
		case filepath.Dir(rel) == "checkpoints" && strings.HasSuffix(rel, ".checkpoint"):
			want = 0o400
		case !info.Mode().IsRegular():
			t.Errorf("%s: %v is not a regular file", rel, info.Mode())
			return nil
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s: mode %04o, want %04o", rel, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return seen
}
