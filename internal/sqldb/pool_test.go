package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func newPool(t *testing.T) *Pool {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "pool.db")
	db, err := OpenDB(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE parent (id INTEGER PRIMARY KEY);
		CREATE TABLE child (id INTEGER PRIMARY KEY,
			parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
		CREATE TABLE item (name TEXT PRIMARY KEY) STRICT`); err != nil {
		t.Fatal(err)
	}
	rd, err := OpenReadDB(ctx, path, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return NewPool(db, rd)
}

func insert(name string) func(*sql.Tx) error {
	return func(tx *sql.Tx) error {
		_, err := tx.Exec("INSERT INTO item (name) VALUES (?)", name)
		return err
	}
}

func items(t *testing.T, p *Pool) map[string]bool {
	t.Helper()
	rows, err := p.Reader().Query("SELECT name FROM item")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[n] = true
	}
	return out
}

// holdWriter starts a Tx that blocks until the returned function is
// called, so that the calls made meanwhile queue into one group.
func holdWriter(t *testing.T, p *Pool) (release func() error) {
	t.Helper()
	started, unblock := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- p.Tx(context.Background(), func(tx *sql.Tx) error {
			close(started)
			<-unblock
			return insert("holder")(tx)
		})
	}()
	<-started
	return func() error { close(unblock); return <-done }
}

// waitQueued waits until n calls are queued behind the holder.
func waitQueued(t *testing.T, p *Pool, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		p.mu.Lock()
		q := len(p.queue)
		p.mu.Unlock()
		if q >= n {
			return
		}
	}
	t.Fatalf("fewer than %d calls queued", n)
}

func TestPoolConcurrentWrites(t *testing.T) {
	p := newPool(t)
	const n = 200
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- p.Tx(context.Background(), insert(fmt.Sprint(i))) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := items(t, p)
	if len(got) != n {
		t.Fatalf("%d rows, want %d", len(got), n)
	}
}

// TestPoolGroupOutcomes puts a success, a constraint failure, an error, a
// panic and a cancelled call into one group: each gets its own outcome and
// only the successes are stored.
func TestPoolGroupOutcomes(t *testing.T) {
	p := newPool(t)
	if err := p.Tx(context.Background(), insert("dup")); err != nil {
		t.Fatal(err)
	}
	release := holdWriter(t, p)
	cancelled, cancel := context.WithCancel(context.Background())
	type result struct {
		name  string
		err   error
		panic any
	}
	calls := []struct {
		name string
		ctx  context.Context
		fn   func(*sql.Tx) error
	}{
		{"ok1", context.Background(), insert("ok1")},
		{"dup", context.Background(), insert("dup")},
		{"half", context.Background(), func(tx *sql.Tx) error {
			if err := insert("half")(tx); err != nil {
				return err
			}
			return errors.New("changed my mind")
		}},
		{"panics", context.Background(), func(tx *sql.Tx) error {
			_ = insert("panics")(tx)
			panic("boom")
		}},
		{"cancelled", cancelled, insert("cancelled")},
		{"ok2", context.Background(), insert("ok2")},
	}
	results := make(chan result, len(calls))
	for _, c := range calls {
		go func() {
			r := result{name: c.name}
			defer func() {
				r.panic = recover()
				results <- r
			}()
			r.err = p.Tx(c.ctx, c.fn)
		}()
		waitQueued(t, p, 1)
	}
	waitQueued(t, p, len(calls))
	cancel()
	if err := release(); err != nil {
		t.Fatal(err)
	}
	got := map[string]result{}
	for range calls {
		r := <-results
		got[r.name] = r
	}
	for name, want := range map[string]string{
		"ok1": "", "ok2": "", "dup": "UNIQUE constraint failed", "half": "changed my mind",
		"panics": "panic", "cancelled": context.Canceled.Error(),
	} {
		r := got[name]
		switch {
		case want == "panic":
			if r.panic != "boom" {
				t.Errorf("%s: panic %v, want boom re-raised in the caller", name, r.panic)
			}
		case want == "":
			if r.err != nil || r.panic != nil {
				t.Errorf("%s: %v %v, want success", name, r.err, r.panic)
			}
		case r.err == nil || !strings.Contains(r.err.Error(), want):
			t.Errorf("%s: error %v, want %q", name, r.err, want)
		}
	}
	rows := items(t, p)
	for _, name := range []string{"holder", "dup", "ok1", "ok2"} {
		if !rows[name] {
			t.Errorf("row %s missing", name)
		}
	}
	for _, name := range []string{"half", "panics", "cancelled"} {
		if rows[name] {
			t.Errorf("row %s stored by a failed call", name)
		}
	}
}

// TestPoolCommitFailure makes the shared COMMIT fail (a deferred foreign
// key): every call of the group gets the error, nothing of the group is
// stored, and the pool keeps working.
func TestPoolCommitFailure(t *testing.T) {
	p := newPool(t)
	release := holdWriter(t, p)
	errs := make(chan error, 2)
	go func() { errs <- p.Tx(context.Background(), insert("innocent")) }()
	waitQueued(t, p, 1)
	go func() {
		errs <- p.Tx(context.Background(), func(tx *sql.Tx) error {
			_, err := tx.Exec("INSERT INTO child (id, parent) VALUES (1, 42)")
			return err
		})
	}()
	waitQueued(t, p, 2)
	if err := release(); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := <-errs; err == nil || !strings.Contains(err.Error(), "commit") {
			t.Errorf("error %v, want the commit's", err)
		}
	}
	if items(t, p)["innocent"] {
		t.Error("a call of the failed group was stored")
	}
	if err := p.Tx(context.Background(), insert("after")); err != nil {
		t.Fatalf("pool unusable after a failed commit: %v", err)
	}
	if !items(t, p)["after"] {
		t.Error("write after a failed commit missing")
	}
}

func TestReadDBRefusesWrites(t *testing.T) {
	p := newPool(t)
	if _, err := p.Reader().Exec("INSERT INTO item (name) VALUES ('x')"); err == nil {
		t.Fatal("write through the read-only pool succeeded")
	}
	if err := p.View(context.Background(), insert("y")); err == nil {
		t.Fatal("write in View succeeded")
	}
}
