package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
)

// OpenDB opens (creating if needed, mode 0600, as its -wal and -shm files)
// the SQLite database at path the way every Signet schema uses it: WAL,
// synchronous=FULL (a commit is durable when it returns), foreign keys on,
// secure_delete on (deleted rows are overwritten with zeros, so that a
// deleted secret, such as a shredded data key, does not linger in the
// file's free space; the write-ahead log holds a page's older images until
// it is checkpointed and reused), a 10 s busy timeout, IMMEDIATE write
// transactions, and one connection,
// so that writers queue in the process instead of spinning on SQLite's
// lock. The caller applies its migrations
// with [Migrate] and closes the database.
func OpenDB(ctx context.Context, path string) (*sql.DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: invalid database path %q", path)
	}
	if err := CreatePrivate(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "secure_delete(ON)")
	q.Set("_txlock", "immediate")
	return open(ctx, path, q, 1)
}

// open opens path with the DSN parameters q through conns connections,
// kept open for the handle's life, and checks that it answers.
func open(ctx context.Context, path string, q url.Values, conns int) (*sql.DB, error) {
	db, err := sql.Open(DriverName, "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

// OpenReadDB opens conns read-only connections to the existing database at
// path, which a handle from [OpenDB] writes. In WAL mode readers neither
// wait for the writer nor block it, and a read transaction begun after a
// commit returned sees that commit, so reads that need no write lock go
// through this pool instead of queueing behind the single writer
// connection. Its transactions are DEFERRED (plain BEGIN) and every
// connection has query_only set, so a write through it fails.
func OpenReadDB(ctx context.Context, path string, conns int) (*sql.DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlite: invalid database path %q", path)
	}
	if conns < 1 {
		return nil, fmt.Errorf("sqlite: %d read connections", conns)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "secure_delete(ON)")
	q.Set("_query_only", "1")
	return open(ctx, path, q, conns)
}

// OpenPool opens the database at path as a store that owns it uses it:
// the writer ([OpenDB]) with migrations applied, readConns read-only
// connections ([OpenReadDB]), and the [Pool] over both, which closes them.
func OpenPool(ctx context.Context, path string, migrations []Migration, readConns int) (*Pool, error) {
	db, err := OpenDB(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := Migrate(ctx, db, migrations); err != nil {
		db.Close()
		return nil, err
	}
	rd, err := OpenReadDB(ctx, path, readConns)
	if err != nil {
		db.Close()
		return nil, err
	}
	p := NewPool(db, rd)
	p.owned = true
	return p, nil
}
