package main

import (
	"context"
	"io"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"
)

// TestCLIDataDirectoryModes creates a data directory with the key and PKI
// commands under a umask that would leave files 0644: every directory is
// 0700 and every file 0600.
func TestCLIDataDirectoryModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	if code, _, errb := signetRun(t, "keys", "create", "--data", dir, "--purpose", "document-signing"); code != 0 {
		t.Fatalf("keys create: exit %d: %s", code, errb)
	}
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}
	data, err := openPKIData(context.Background(), dir, env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openPKI(context.Background(), data, pkiOptions{BaseURL: "http://127.0.0.1:1", Tenants: []string{"acme"}}); err != nil {
		data.close()
		t.Fatal(err)
	}
	var seen []string
	check := func() {
		seen = nil
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			seen = append(seen, rel)
			want := fs.FileMode(0o600)
			if info.IsDir() {
				want = 0o700
			}
			if got := info.Mode().Perm(); got != want {
				t.Errorf("%s: mode %04o, want %04o", rel, got, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check() // with the databases open (-wal, -shm)
	data.close()
	check()
	if len(seen) < 10 {
		t.Errorf("only %d entries: %v", len(seen), seen)
	}
}
