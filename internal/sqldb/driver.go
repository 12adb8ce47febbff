package sqldb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	msqlite "modernc.org/sqlite"
)

// DriverName is the database/sql driver Signet opens its SQLite databases
// with: modernc.org/sqlite with a per-connection cache of prepared
// statements. Without it every statement is parsed and planned anew; a
// recipient signature runs a few dozen of the same statements.
const DriverName = "signet-sqlite"

func init() {
	sql.Register(DriverName, &cachingDriver{})
}

// maxCachedStmts bounds the statements a connection keeps prepared;
// statements beyond it are prepared for one use.
const maxCachedStmts = 256

type cachingDriver struct{ d msqlite.Driver }

func (d *cachingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.d.Open(name)
	if err != nil {
		return nil, err
	}
	for _, ok := range []bool{
		implements[driver.ConnBeginTx](c), implements[driver.ConnPrepareContext](c),
		implements[driver.ExecerContext](c), implements[driver.QueryerContext](c),
		implements[driver.Pinger](c), implements[driver.SessionResetter](c), implements[driver.Validator](c),
	} {
		if !ok {
			c.Close()
			return nil, errors.New("sqlite: driver connection lacks an interface the statement cache forwards")
		}
	}
	return &cachingConn{Conn: c, stmts: map[string]*cachedStmt{}}, nil
}

func implements[T any](c driver.Conn) bool {
	_, ok := c.(T)
	return ok
}

// cachingConn is a driver connection that keeps its statements prepared.
// database/sql uses a connection from one goroutine at a time, so the
// cache needs no lock.
type cachingConn struct {
	driver.Conn
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	driver.Stmt
	// busy is set while the statement's rows are open: running the same
	// query meanwhile (a nested query) gets a statement of its own.
	busy bool
}

var (
	_ driver.ConnBeginTx        = (*cachingConn)(nil)
	_ driver.ConnPrepareContext = (*cachingConn)(nil)
	_ driver.ExecerContext      = (*cachingConn)(nil)
	_ driver.QueryerContext     = (*cachingConn)(nil)
	_ driver.Pinger             = (*cachingConn)(nil)
	_ driver.SessionResetter    = (*cachingConn)(nil)
	_ driver.Validator          = (*cachingConn)(nil)
)

// stmt returns a prepared statement for query and the function that
// gives it back.
func (c *cachingConn) stmt(ctx context.Context, query string) (driver.Stmt, func() error, error) {
	if s := c.stmts[query]; s != nil && !s.busy {
		s.busy = true
		return s.Stmt, func() error { s.busy = false; return nil }, nil
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, nil, err
	}
	if _, ok := c.stmts[query]; ok || len(c.stmts) >= maxCachedStmts {
		return st, st.Close, nil
	}
	s := &cachedStmt{Stmt: st, busy: true}
	c.stmts[query] = s
	return st, func() error { s.busy = false; return nil }, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	st, release, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := st.(driver.StmtExecContext).ExecContext(ctx, args)
	return res, errors.Join(err, release())
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	st, release, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	rows, err := st.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, errors.Join(err, release())
	}
	return &releasingRows{Rows: rows, release: release}, nil
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *cachingConn) Ping(ctx context.Context) error {
	return c.Conn.(driver.Pinger).Ping(ctx)
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

func (c *cachingConn) IsValid() bool { return c.Conn.(driver.Validator).IsValid() }

func (c *cachingConn) Close() error {
	var errs []error
	for _, s := range c.stmts {
		errs = append(errs, s.Close())
	}
	c.stmts = nil
	return errors.Join(append(errs, c.Conn.Close())...)
}

// releasingRows gives its statement back to the cache when closed.
type releasingRows struct {
	driver.Rows
	release func() error
	closed  bool
}

func (r *releasingRows) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	return errors.Join(r.Rows.Close(), r.release())
}
