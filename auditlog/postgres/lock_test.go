package postgres

import (
	"testing"

	"github.com/signet-pki/signet/internal/pgdb"
)

// TestMigrationLockShared: the audit log's migrations and every other
// store's take the same advisory lock, so that all migrators of one
// database wait for each other.
func TestMigrationLockShared(t *testing.T) {
	if migrationLock != pgdb.MigrationLock {
		t.Fatalf("audit log migration lock %#x, pgdb's %#x", migrationLock, pgdb.MigrationLock)
	}
}
