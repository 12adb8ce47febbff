package soft

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadMasterKey checks the rules every command follows for the master
// key: the environment wins and never writes the file, a file beside it
// must agree, a first start creates the file 0600, and a key directory
// sealed under a key that is nowhere is refused without writing a new one.
func TestLoadMasterKey(t *testing.T) {
	keyA, keyB := bytes.Repeat([]byte{1}, MasterKeySize), bytes.Repeat([]byte{2}, MasterKeySize)
	b64 := base64.StdEncoding.EncodeToString
	for _, tc := range []struct {
		name    string
		env     string
		file    []byte // nil: no master.key
		sealed  bool   // the key directory holds master.check
		want    []byte // nil: a fresh key, written to the file
		wantErr error
		errText string
	}{
		{name: "first start", want: nil},
		{name: "file", file: keyA, sealed: true, want: keyA},
		{name: "env", env: b64(keyA), sealed: true, want: keyA},
		{name: "env on first start", env: b64(keyA), want: keyA},
		{name: "env and same file", env: b64(keyA), file: keyA, sealed: true, want: keyA},
		{name: "env and other file", env: b64(keyA), file: keyB, sealed: true, wantErr: ErrMasterKeyConflict},
		{name: "bad env", env: "c2hvcnQ=", errText: "SIGNET_MASTER_KEY"},
		{name: "neither, keys sealed", sealed: true, wantErr: ErrNoMasterKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file, keyDir := filepath.Join(dir, "master.key"), filepath.Join(dir, "keys")
			if tc.file != nil {
				if err := os.WriteFile(file, []byte(b64(tc.file)+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tc.sealed {
				if err := os.MkdirAll(keyDir, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(keyDir, CheckHandle), []byte("check\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := LoadMasterKey(file, tc.env, keyDir, rand.Reader)
			_, statErr := os.Stat(file)
			if tc.file == nil && tc.want != nil && statErr == nil {
				t.Error("master.key written although the key came from the environment")
			}
			switch {
			case tc.wantErr != nil || tc.errText != "":
				if err == nil || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) || !bytes.Contains([]byte(err.Error()), []byte(tc.errText)) {
					t.Fatalf("err = %v, want %v %q", err, tc.wantErr, tc.errText)
				}
				if tc.file == nil && statErr == nil {
					t.Error("master.key written by a failed load")
				}
			case err != nil:
				t.Fatal(err)
			case tc.want == nil:
				st, err := os.Stat(file)
				if err != nil || st.Mode().Perm() != 0o600 {
					t.Fatalf("first start: master.key %v, %v; want mode 0600", st, err)
				}
				again, err := LoadMasterKey(file, "", keyDir, rand.Reader)
				if err != nil || !bytes.Equal(again, got) {
					t.Fatalf("reload: %v, same key %v", err, bytes.Equal(again, got))
				}
			case !bytes.Equal(got, tc.want):
				t.Fatal("wrong key")
			}
		})
	}
}

// TestLoadMasterKeyVault: the rules of LoadMasterKey for a vault: without
// the environment or the file, a key is created only while the vault is
// empty; a vault holding a sealed key or the check value refuses a new
// one.
func TestLoadMasterKeyVault(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		put    string // handle stored before loading; "" for none
		create bool
	}{
		{name: "empty vault", create: true},
		{name: "check value", put: CheckHandle},
		{name: "sealed key", put: handlePrefix + strings.Repeat("ab", 16)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			v, err := NewDirVault(filepath.Join(dir, "keys"))
			if err != nil {
				t.Fatal(err)
			}
			if tc.put != "" {
				if err := v.Put(ctx, tc.put, []byte("x")); err != nil {
					t.Fatal(err)
				}
			}
			file := filepath.Join(dir, "master.key")
			k, err := LoadMasterKeyVault(ctx, file, "", v, rand.Reader)
			_, statErr := os.Stat(file)
			if tc.create {
				if err != nil || len(k) != MasterKeySize || statErr != nil {
					t.Fatalf("first start: %d-byte key, %v; file: %v", len(k), err, statErr)
				}
				return
			}
			if !errors.Is(err, ErrNoMasterKey) || statErr == nil {
				t.Fatalf("err = %v (file written: %v), want ErrNoMasterKey and no file", err, statErr == nil)
			}
		})
	}
}

// TestConfigStorage: a backend has a key directory or a vault, not both
// and not neither.
func TestConfigStorage(t *testing.T) {
	mk := make([]byte, MasterKeySize)
	v, err := NewDirVault(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []Config{{MasterKey: mk}, {Dir: t.TempDir(), Vault: v, MasterKey: mk}} {
		if _, err := New(c); err == nil {
			t.Errorf("New(dir %q, vault %v) succeeded", c.Dir, c.Vault != nil)
		}
	}
	if _, err := New(Config{Vault: v, MasterKey: mk}); err != nil {
		t.Fatal(err)
	}
}
