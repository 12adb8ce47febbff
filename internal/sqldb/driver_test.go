package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

func openCached(t *testing.T, conns int) *sql.DB {
	t.Helper()
	db, err := sql.Open(DriverName, "file:"+filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(conns)
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL);
		INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three')`); err != nil {
		t.Fatal(err)
	}
	return db
}

// TestStmtCacheNestedQuery runs a query while the same query's rows are
// open on the same connection: each must see its own rows.
func TestStmtCacheNestedQuery(t *testing.T) {
	db := openCached(t, 1)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = "SELECT k, v FROM t WHERE k >= ? ORDER BY k"
	outer, err := tx.Query(q, 1)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var k int
		var v string
		if err := outer.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		inner, err := tx.Query(q, k)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for inner.Next() {
			n++
		}
		inner.Close()
		got = append(got, fmt.Sprintf("%s:%d", v, n))
	}
	outer.Close()
	if want := "[one:3 two:2 three:1]"; fmt.Sprint(got) != want {
		t.Fatalf("nested queries = %v, want %s", got, want)
	}
}

// TestStmtCacheManyStatements goes past the cache's bound and keeps
// answering correctly, with a script (several statements) among them.
func TestStmtCacheManyStatements(t *testing.T) {
	db := openCached(t, 1)
	for i := range maxCachedStmts + 50 {
		var v string
		q := fmt.Sprintf("SELECT v FROM t WHERE k = ? AND %d = %d", i, i)
		if err := db.QueryRow(q, 1+i%3).Scan(&v); err != nil {
			t.Fatal(err)
		}
		if want := []string{"one", "two", "three"}[i%3]; v != want {
			t.Fatalf("statement %d read %q, want %q", i, v, want)
		}
	}
	for range 2 {
		if _, err := db.Exec("UPDATE t SET v = v || '+' WHERE k = 1; UPDATE t SET v = v || '+' WHERE k = 2"); err != nil {
			t.Fatal(err)
		}
	}
	var a, b string
	if err := db.QueryRow("SELECT (SELECT v FROM t WHERE k = 1), (SELECT v FROM t WHERE k = 2)").Scan(&a, &b); err != nil {
		t.Fatal(err)
	}
	if a != "one++" || b != "two++" {
		t.Fatalf("script ran as %q, %q; want both statements twice", a, b)
	}
}

// TestStmtCacheConcurrent uses cached statements from many goroutines
// over several connections (run with -race).
func TestStmtCacheConcurrent(t *testing.T) {
	db := openCached(t, 4)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 64 {
		wg.Go(func() {
			for i := range 50 {
				var v string
				if err := db.QueryRowContext(context.Background(), "SELECT v FROM t WHERE k = ?", 1+(g+i)%3).Scan(&v); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
