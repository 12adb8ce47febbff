package soft_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/signet-pki/signet/keys/soft"
	"github.com/signet-pki/signet/keys/soft/vaulttest"
)

// TestDirVault runs the vault suite on a key directory.
func TestDirVault(t *testing.T) {
	vaulttest.Run(t, func(t *testing.T) soft.Vault {
		v, err := soft.NewDirVault(filepath.Join(t.TempDir(), "keys"))
		if err != nil {
			t.Fatal(err)
		}
		return v
	})
}

// TestDirVaultLayout: the directory keeps today's layout: the directory
// 0700, each sealed key DIR/<handle>.key and the check value
// DIR/master.check, both 0600, with no temporary file left behind; a
// handle that is not a soft handle names no file.
func TestDirVaultLayout(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "keys")
	v, err := soft.NewDirVault(dir)
	if err != nil {
		t.Fatal(err)
	}
	h := vaulttest.Handle(t)
	for name, data := range map[string][]byte{h: []byte("sealed"), soft.CheckHandle: []byte("check\n")} {
		if err := v.Put(ctx, name, data); err != nil {
			t.Fatal(err)
		}
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("directory: %v, %v; want mode 0700", st, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		info, err := e.Info()
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want mode 0600", e.Name(), info, err)
		}
	}
	if want := []string{"master.check", h + ".key"}; len(names) != 2 || names[0] != want[0] || names[1] != want[1] {
		t.Fatalf("directory holds %q, want %q", names, want)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, h+".key")); !bytes.Equal(b, []byte("sealed")) {
		t.Fatalf("%s.key holds %q", h, b)
	}
	for _, bad := range []string{"../x", "soft-../../etc/passwd", "master", h + "/x", ""} {
		if err := v.Put(ctx, bad, []byte("x")); err == nil {
			t.Errorf("Put(%q) succeeded", bad)
		}
	}
}
