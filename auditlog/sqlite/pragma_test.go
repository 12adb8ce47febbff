package sqlite

import (
	"context"
	"testing"
)

// TestDurabilitySettings checks the settings that make a returned Append
// durable: WAL journal and synchronous=FULL (2) on the writer, and that
// the reader pool refuses writes.
func TestDurabilitySettings(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	defer s.Close()
	var mode string
	var sync int
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
	}
	for _, db := range []struct {
		name string
		q    querier
	}{{"writer", s.w}, {"reader", s.r}} {
		if err := db.q.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
			t.Fatalf("%s synchronous = %d, %v; want 2 (FULL)", db.name, sync, err)
		}
	}
	if _, err := s.r.ExecContext(ctx, "INSERT INTO checkpoints (size, note) VALUES (1, x'00')"); err == nil {
		t.Fatalf("the reader pool accepted a write")
	}
}
