package postgres

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/storetest"
	"github.com/signet-pki/signet/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// openTemp migrates a fresh database and opens it as the application role.
// It returns the store and the owner URL, which tests use to play the
// malicious DBA.
func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	ctx := context.Background()
	owner, app := pgtest.NewDatabase(t)
	if err := Migrate(ctx, owner, pgtest.AppRole); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	s, err := Open(ctx, app)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, owner
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) auditlog.Storage {
		s, _ := openTemp(t)
		return s
	})
}

func TestLocking(t *testing.T) {
	storetest.RunLocking(t, func(t *testing.T) auditlog.LockingStorage {
		s, _ := openTemp(t)
		return s
	})
}

// TestOpenUnmigrated checks that the application role cannot use a
// database that was not migrated, and that Migrate is idempotent.
func TestOpenUnmigrated(t *testing.T) {
	ctx := context.Background()
	owner, app := pgtest.NewDatabase(t)
	if _, err := Open(ctx, app); !errors.Is(err, ErrNotMigrated) {
		t.Fatalf("Open before Migrate: %v, want ErrNotMigrated", err)
	}
	for i := 0; i < 2; i++ {
		if err := Migrate(ctx, owner, pgtest.AppRole); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	// A version from a newer release of the same block.
	conn, err := pgx.Connect(ctx, owner)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, 'future')", Migrations[len(Migrations)-1].Version+1); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, app); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open with a newer schema: %v, want ErrSchemaTooNew", err)
	}
	if err := Migrate(ctx, owner, pgtest.AppRole); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Migrate with a newer schema: %v, want ErrSchemaTooNew", err)
	}
}

// TestWriters: two nodes, each with its own pool and log, append to one
// database at once.
func TestWriters(t *testing.T) {
	storetest.RunWriters(t, func(t *testing.T, n int) []auditlog.Storage {
		ctx := context.Background()
		owner, app := pgtest.NewDatabase(t)
		if err := Migrate(ctx, owner, pgtest.AppRole); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		out := make([]auditlog.Storage, n)
		for i := range out {
			s, err := Open(ctx, app)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			out[i] = s
		}
		return out
	})
}
