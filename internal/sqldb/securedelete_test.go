package sqldb

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestSecureDelete: a row deleted through the writer of OpenDB is
// overwritten: once the write-ahead log is checkpointed, its value is in
// none of the database's files, while a live row's value is. A migration
// that turns secure_delete off for its statements does not leave it off.
func TestSecureDelete(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "secure.db")
	db, err := OpenDB(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = Migrate(ctx, db, []Migration{{Version: 1, Name: "secrets", SQL: `
		PRAGMA secure_delete = OFF;
		CREATE TABLE secret (name TEXT PRIMARY KEY, value BLOB NOT NULL) STRICT;`}})
	if err != nil {
		t.Fatal(err)
	}
	var on int
	if err := db.QueryRowContext(ctx, "PRAGMA secure_delete").Scan(&on); err != nil || on != 1 {
		t.Fatalf("secure_delete after a migration = %d, %v", on, err)
	}
	rd, err := OpenReadDB(ctx, path, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if err := rd.QueryRowContext(ctx, "PRAGMA secure_delete").Scan(&on); err != nil || on != 1 {
		t.Fatalf("secure_delete of a reader = %d, %v", on, err)
	}
	p := NewPool(db, rd)
	gone := []byte("MARKER-deleted-2f1c9a7e5b")
	kept := []byte("MARKER-kept-8d3e6b0a4c")
	for name, v := range map[string][]byte{"gone": gone, "kept": kept} {
		if _, err := p.Exec(ctx, "INSERT INTO secret (name, value) VALUES (?, ?)", name, v); err != nil {
			t.Fatal(err)
		}
	}
	hold := func(marker []byte) bool {
		if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			t.Fatal(err)
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(b, marker) {
				return true
			}
		}
		return false
	}
	if !hold(gone) || !hold(kept) {
		t.Fatal("the markers are not in the file before the delete")
	}
	if _, err := p.Exec(ctx, "DELETE FROM secret WHERE name = 'gone'"); err != nil {
		t.Fatal(err)
	}
	if hold(gone) {
		t.Error("a deleted value is still in the database's files")
	}
	if !hold(kept) {
		t.Error("a live value is no longer in the file: the search finds nothing")
	}
}
