package sqldb

import (
	"fmt"
	"os"
)

// CreatePrivate makes sure the database file at path exists with mode
// 0600 before SQLite opens it. SQLite creates a database's -wal, -shm and
// -journal files with the database file's own permissions, so that one
// mode covers all of them whatever the process umask. Files of an earlier
// version with a wider mode are narrowed to their owner's permissions.
func CreatePrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		st, err := os.Lstat(p)
		if err != nil || !st.Mode().IsRegular() || st.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(p, st.Mode().Perm()&0o700); err != nil {
			return fmt.Errorf("sqlite: %w", err)
		}
	}
	return nil
}
