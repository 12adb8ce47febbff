package sqldb

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestFileModes opens databases both ways under a umask that would give
// 0644 and checks that the database and its -wal and -shm files are 0600,
// and that an existing 0644 database of an earlier version is narrowed.
func TestFileModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	ctx := context.Background()
	dir := t.TempDir()
	preexisting := filepath.Join(dir, "old.db")
	if err := os.WriteFile(preexisting, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(preexisting, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		open func(path string) (func() error, error)
	}{
		{"OpenDB", func(p string) (func() error, error) {
			db, err := OpenDB(ctx, p)
			if err != nil {
				return nil, err
			}
			if _, err := db.ExecContext(ctx, "CREATE TABLE t (x); INSERT INTO t VALUES (1)"); err != nil {
				return nil, err
			}
			return db.Close, nil
		}},
	} {
		for _, path := range []string{filepath.Join(dir, tc.name+".db"), preexisting} {
			t.Run(tc.name+"/"+filepath.Base(path), func(t *testing.T) {
				closeDB, err := tc.open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer closeDB()
				for _, p := range []string{path, path + "-wal", path + "-shm"} {
					st, err := os.Stat(p)
					if err != nil {
						t.Fatal(err) // WAL mode: both exist while the database is open
					}
					if st.Mode().Perm() != 0o600 {
						t.Errorf("%s: mode %04o, want 0600", filepath.Base(p), st.Mode().Perm())
					}
				}
			})
		}
	}
}
