package backup

import (
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"
)

// ManifestName is the name of a backup archive's last entry, the
// manifest. It begins with "." so that no file of a data directory (whose
// dot-names a backup leaves out) can take it.
const ManifestName = ".signet-backup-manifest.json"

// maxManifestSize bounds the manifest that a reader accepts (about a
// million entries).
const maxManifestSize = 256 << 20

// Entry types of a manifest.
const (
	typeDir      = "dir"
	typeFile     = "file"
	typeDatabase = "database"
	// typeTable is a part of a PostgreSQL table's rows.
	typeTable = "table"
)

// manifest is the last entry of a backup archive.
type manifest struct {
	Format  int       `json:"format"`
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
	Entries []entry   `json:"entries"`
	// Postgres describes the database of a PostgreSQL deployment, whose
	// tables the backup holds (nil for a data directory of SQLite files).
	Postgres *pgSnapshot `json:"postgres,omitempty"`
}

// entry is one file, database snapshot or directory of a backup.
type entry struct {
	Path   string `json:"path"`
	Type   string `json:"type"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256,omitempty"`
	Mode   uint32 `json:"mode"`
}

func (m *manifest) marshal() ([]byte, error) { return json.MarshalIndent(m, "", " ") }

func parseManifest(b []byte) (*manifest, error) {
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", ErrCorrupt, err)
	}
	if m.Format != FormatVersion {
		return nil, fmt.Errorf("%w: manifest of format %d", ErrCorrupt, m.Format)
	}
	return &m, nil
}

// checkPath reports whether p is a path an archive entry may have: local,
// clean, slash-separated, with no component beginning with "." and not
// the master key.
func checkPath(p string) error {
	if p == "" || p != path.Clean(p) || path.IsAbs(p) || strings.Contains(p, `\`) || strings.ContainsRune(p, 0) {
		return fmt.Errorf("%w: entry with an unsafe path %q", ErrCorrupt, p)
	}
	for _, c := range strings.Split(p, "/") {
		if strings.HasPrefix(c, ".") {
			return fmt.Errorf("%w: entry with an unsafe path %q", ErrCorrupt, p)
		}
	}
	if p == masterKeyName {
		return fmt.Errorf("%w: the backup holds a master key, which no Signet backup does", ErrCorrupt)
	}
	return nil
}
