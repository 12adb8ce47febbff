package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/signet-pki/signet/internal/sqldb"
)

// TestMigrate checks that migrations apply once, in order, in sets that
// share a database, and that a renamed history or a newer schema is
// refused.
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "m.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	service := []sqldb.Migration{
		{Version: 100, Name: "widgets", SQL: "CREATE TABLE widgets (id INTEGER PRIMARY KEY)"},
		{Version: 101, Name: "widget names", SQL: "ALTER TABLE widgets ADD COLUMN name TEXT"},
	}
	for i := 0; i < 2; i++ { // the second run must be a no-op
		if err := sqldb.Migrate(ctx, s.w, service); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	var n int
	if err := s.w.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != 3 {
		t.Fatalf("schema_migrations has %d rows, %v; want 3", n, err)
	}
	if _, err := s.w.ExecContext(ctx, "INSERT INTO widgets (id, name) VALUES (1, 'a')"); err != nil {
		t.Fatalf("migrated table: %v", err)
	}
	tests := []struct {
		name string
		ms   []sqldb.Migration
		want error
	}{
		{"renamed", []sqldb.Migration{{Version: 100, Name: "gadgets", SQL: "SELECT 1"}}, nil},
		{"skips an applied version", []sqldb.Migration{service[0], {Version: 103, Name: "x", SQL: "SELECT 1"}}, sqldb.ErrSchemaTooNew},
		{"not increasing", []sqldb.Migration{service[1], service[0]}, nil},
		{"older release", service[:1], sqldb.ErrSchemaTooNew},
		{"broken SQL", append(service[:2:2], sqldb.Migration{Version: 102, Name: "bad", SQL: "CREATE TABLE"}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := sqldb.Migrate(ctx, s.w, tt.ms)
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Migrate = %v, want an error (%v)", err, tt.want)
			}
		})
	}
	if err := s.w.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != 3 {
		t.Fatalf("a failed migration left %d rows, %v; want 3", n, err)
	}
	// The audit log's own block is untouched by the service's.
	s2, err := Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	s2.Close()
}
