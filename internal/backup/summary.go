package backup

import (
	"strings"
	"time"

	"github.com/signet-pki/signet/internal/datadir"
)

// Summary describes a backup: what [Create] wrote, or what [Verify] and
// [Restore] found and checked.
type Summary struct {
	// ID names the backup; KeyID its key ([KeyID]).
	ID, KeyID string
	// Created is when the backup was made.
	Created time.Time
	// Entries counts the files, database snapshots and directories.
	Entries int
	// Databases lists the database snapshots, by path.
	Databases []string
	// Blobs counts the files under blobs/, BlobBytes their size.
	Blobs     int
	BlobBytes int64
	// AuditLogBytes is the size of the audit log's snapshot (audit.db).
	AuditLogBytes int64
	// AuditEvents and Checkpoints are the audit log's events and
	// checkpoints, as verified (Verify and Restore only).
	AuditEvents int64
	Checkpoints int
	// Bytes is the total size of the files and snapshots.
	Bytes int64
	// Tables and Rows count a PostgreSQL deployment's tables and their
	// rows (0 for a data directory of SQLite files); SchemaVersion is the
	// highest migration version of its schema.
	Tables        int
	Rows          int64
	SchemaVersion int
}

// summarize counts what the manifest m lists.
func summarize(m *manifest) *Summary {
	s := &Summary{ID: m.ID, Created: m.Created, Entries: len(m.Entries)}
	if pg := m.Postgres; pg != nil {
		s.Tables = len(pg.Tables)
		for _, t := range pg.Tables {
			s.Rows += t.Rows
		}
		for _, mg := range pg.Migrations {
			s.SchemaVersion = max(s.SchemaVersion, mg.Version)
		}
	}
	for _, e := range m.Entries {
		s.Bytes += e.Size
		switch {
		case e.Type == typeDatabase:
			s.Databases = append(s.Databases, e.Path)
			if e.Path == datadir.AuditDB {
				s.AuditLogBytes = e.Size
			}
		case e.Type == typeFile && strings.HasPrefix(e.Path, datadir.BlobsDir+"/"):
			s.Blobs++
			s.BlobBytes += e.Size
		}
	}
	return s
}
