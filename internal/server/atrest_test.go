package server_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// TestKeysAtRestOpened: the server opens the keys at rest, whose tables
// (versions 1200–1209) are in the service database beside the others.
func TestKeysAtRestOpened(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	start(t, dir, nil)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "signet.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT count(*) FROM schema_migrations WHERE version BETWEEN 1200 AND 1209`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("keys-at-rest migrations in signet.db: %d, %v", n, err)
	}
	for _, table := range []string{"atrest_data_keys", "atrest_tenants"} {
		if err := db.QueryRowContext(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			t.Fatalf("table %s: %v", table, err)
		}
	}
}
