package datadir_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/soft"
)

// open opens a data directory under a fresh temporary directory and
// closes it at the end of the test.
func open(t *testing.T, path string, o datadir.Options) *datadir.Dir {
	t.Helper()
	d, err := datadir.Open(path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// entries lists what path holds, relative to it, with each entry's mode.
func entries(t *testing.T, path string) map[string]fs.FileMode {
	t.Helper()
	out := map[string]fs.FileMode{}
	err := filepath.WalkDir(path, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(path, p)
		out[filepath.ToSlash(rel)] = info.Mode()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOpenersOpenOnlyWhatTheyUse: Open creates nothing; the key manager
// creates the key store and the audit log it records to, and nothing of
// the service database or the PKI; every directory is 0700 and every file
// 0600 under a umask that would leave them open.
func TestOpenersOpenOnlyWhatTheyUse(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "data")
	d := open(t, path, datadir.Options{})
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open created %s: %v", path, err)
	}
	ctx := context.Background()
	m, err := d.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(ctx, keys.CreateRequest{Purpose: keys.PurposeDocumentSigning, Algorithm: keys.ECDSAP256}); err != nil {
		t.Fatal(err)
	}
	got := entries(t, path)
	for _, want := range []string{datadir.KeysDB, datadir.KeysDir, datadir.MasterKey, datadir.AuditDB, datadir.AuditMaster} {
		if _, ok := got[want]; !ok {
			t.Errorf("Keys did not create %s (have %v)", want, got)
		}
	}
	for _, not := range []string{datadir.ServiceDB, datadir.PKIDB, datadir.PKIDir, datadir.BlobsDir, datadir.CheckpointsDir} {
		if _, ok := got[not]; ok {
			t.Errorf("Keys created %s", not)
		}
	}
	if _, err := d.ServiceDB(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CAStore(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Blobs(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Checkpoints(); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteRootCert([]byte{0x30, 0x00}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CheckpointSigner(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	got = entries(t, path)
	for _, want := range []string{datadir.ServiceDB, datadir.PKIDB, datadir.BlobsDir, datadir.CheckpointsDir, datadir.RootCert, datadir.AuditPub} {
		if _, ok := got[want]; !ok {
			t.Errorf("no %s after the openers (have %v)", want, got)
		}
	}
	for name, mode := range got {
		want := fs.FileMode(0o600)
		if mode.IsDir() {
			want = 0o700
		}
		if mode.Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", name, mode.Perm(), want)
		}
	}
}

// TestReopen: a data directory closed and opened again holds the same
// keys, and its checkpoint verifier keys stay the same.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data")
	ctx := context.Background()
	var id string
	var pub []byte
	for i := range 2 {
		d := open(t, path, datadir.Options{})
		m, err := d.Keys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			k, err := m.Create(ctx, keys.CreateRequest{Purpose: keys.PurposeDocumentSigning, Algorithm: keys.ECDSAP256})
			if err != nil {
				t.Fatal(err)
			}
			id = k.ID
		} else if _, err := m.Get(ctx, id); err != nil {
			t.Fatalf("key %s after reopening: %v", id, err)
		}
		if _, err := d.CheckpointSigner(ctx); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(d.File(datadir.AuditPub))
		if err != nil {
			t.Fatal(err)
		}
		if i == 1 && string(b) != string(pub) {
			t.Errorf("audit.pub changed on reopening:\n%s\n%s", pub, b)
		}
		pub = b
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if err := d.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if _, err := d.AuditLog(ctx); err == nil {
			t.Error("AuditLog after Close succeeded")
		}
	}
}

// TestSecrets: the master key follows soft.LoadMasterKey's rules, and a
// failure to load a secret is an ErrSecret that names the file.
func TestSecrets(t *testing.T) {
	ctx := context.Background()
	const other = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, path string) datadir.Options
		cause   error
		names   string
	}{
		{"master key file readable by others", func(t *testing.T, path string) datadir.Options {
			write(t, filepath.Join(path, datadir.MasterKey), 0o644)
			return datadir.Options{}
		}, soft.ErrKeyFileMode, datadir.MasterKey},
		{"master key in the environment and another in the file", func(t *testing.T, path string) datadir.Options {
			write(t, filepath.Join(path, datadir.MasterKey), 0o600)
			return datadir.Options{MasterKey: other}
		}, soft.ErrMasterKeyConflict, datadir.MasterKey},
		{"audit secret readable by others", func(t *testing.T, path string) datadir.Options {
			write(t, filepath.Join(path, datadir.AuditMaster), 0o640)
			return datadir.Options{}
		}, soft.ErrKeyFileMode, datadir.AuditMaster},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "data")
			d := open(t, path, tc.prepare(t, path))
			_, err := d.Keys(ctx)
			if !errors.Is(err, datadir.ErrSecret) || !errors.Is(err, tc.cause) {
				t.Fatalf("Keys: %v; want ErrSecret and %v", err, tc.cause)
			}
			if !strings.Contains(err.Error(), filepath.Join(path, tc.names)) {
				t.Errorf("error %q does not name %s", err, tc.names)
			}
		})
	}

	// The key from the environment alone: no key file is written, and the
	// keys sealed under it open again only with it.
	path := filepath.Join(t.TempDir(), "data")
	d := open(t, path, datadir.Options{MasterKey: other})
	m, err := d.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(ctx, keys.CreateRequest{Purpose: keys.PurposeDocumentSigning, Algorithm: keys.ECDSAP256}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := os.Stat(filepath.Join(path, datadir.MasterKey)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("master key file written although the key came from the environment: %v", err)
	}
	d = open(t, path, datadir.Options{})
	if _, err := d.Keys(ctx); !errors.Is(err, datadir.ErrSecret) || !errors.Is(err, soft.ErrNoMasterKey) {
		t.Errorf("Keys without the master key: %v; want ErrSecret and ErrNoMasterKey", err)
	}
}

func write(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

// TestPKIFilesLock: one pki command at a time holds a data directory's
// PKI files; the next one is refused with ErrInUse until the first closes.
func TestPKIFilesLock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data")
	first := open(t, path, datadir.Options{})
	p, err := first.PKIFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.SetBaseURL("http://pki.example"); got != "http://pki.example" {
		t.Errorf("SetBaseURL = %q", got)
	}
	if got := p.SetBaseURL("http://other.example"); got != "http://pki.example" {
		t.Errorf("SetBaseURL replaced the base URL: %q", got)
	}
	second := open(t, path, datadir.Options{})
	if _, err := second.PKIFiles(ctx); !errors.Is(err, datadir.ErrInUse) {
		t.Fatalf("second PKIFiles: %v; want ErrInUse", err)
	}
	second.Close()
	first.Close()
	third := open(t, path, datadir.Options{})
	if _, err := third.PKIFiles(ctx); err != nil {
		t.Fatalf("PKIFiles after the first closed: %v", err)
	}
	q, err := third.PKIFiles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := q.Certificate(ctx, "ca/root"); c != nil || err != nil {
		t.Errorf("certificate of a role never set: %v, %v", c, err)
	}
	if _, _, ok := q.RoleKey("ca/root"); ok {
		t.Error("RoleKey of a role never created")
	}
}

// TestWriterLock: one process at a time appends to a data directory's
// audit log; a second opener is refused with ErrInUse until the first
// closes, while reading the audit store stays open to others.
func TestWriterLock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "data")
	first := open(t, path, datadir.Options{})
	if _, err := first.AuditLog(ctx); err != nil {
		t.Fatal(err)
	}
	second := open(t, path, datadir.Options{})
	if _, err := second.AuditLog(ctx); !errors.Is(err, datadir.ErrInUse) {
		t.Fatalf("second AuditLog: %v; want ErrInUse", err)
	}
	if _, err := second.Keys(ctx); !errors.Is(err, datadir.ErrInUse) {
		t.Fatalf("second Keys (records through the log): %v; want ErrInUse", err)
	}
	if _, err := second.AuditStore(ctx); err != nil {
		t.Fatalf("reading the audit store beside the writer: %v", err)
	}
	second.Close()
	first.Close()
	third := open(t, path, datadir.Options{})
	if _, err := third.AuditLog(ctx); err != nil {
		t.Fatalf("AuditLog after the first closed: %v", err)
	}
	third.Close()
}
