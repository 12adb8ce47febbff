package pgtest

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestNewDatabase checks that each database is fresh and that the
// application role is an ordinary role that cannot create databases or
// roles.
func TestNewDatabase(t *testing.T) {
	ctx := context.Background()
	owner1, app1 := NewDatabase(t)
	owner2, _ := NewDatabase(t)
	if owner1 == owner2 {
		t.Fatalf("two databases share a URL: %s", owner1)
	}
	oc, err := pgx.Connect(ctx, owner1)
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Close(ctx)
	if _, err := oc.Exec(ctx, "CREATE TABLE t (x int)"); err != nil {
		t.Fatal(err)
	}
	ac, err := pgx.Connect(ctx, app1)
	if err != nil {
		t.Fatal(err)
	}
	defer ac.Close(ctx)
	var user string
	var super bool
	if err := ac.QueryRow(ctx, "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&user, &super); err != nil {
		t.Fatal(err)
	}
	if user != AppRole || super {
		t.Fatalf("app connection is %s (superuser %v)", user, super)
	}
	for _, q := range []string{"SELECT * FROM t", "CREATE DATABASE x", "CREATE ROLE y"} {
		_, err := ac.Exec(ctx, q)
		if err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s as the app role: %v, want permission denied", q, err)
		}
	}
	c2, err := pgx.Connect(ctx, owner2)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close(ctx)
	if _, err := c2.Exec(ctx, "SELECT * FROM t"); err == nil {
		t.Fatalf("second database sees the first one's table")
	}
}
