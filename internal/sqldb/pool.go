package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// A Pool is one SQLite database as a service uses it: the single writer
// connection from [OpenDB], whose transactions it commits in groups, and
// read-only connections from [OpenReadDB] beside it.
//
// Group commit: write transactions that arrive while one is committing
// are run one after another inside a single SQLite transaction, each in
// its own SAVEPOINT, and committed together with one fsync. Each keeps its
// own outcome: a function that fails is rolled back to its savepoint
// alone; if the shared commit fails, every function of the group gets the
// error and none of their writes is stored. A caller's [Pool.Tx] returns
// only once its group is durable.
type Pool struct {
	db, rd *sql.DB
	owned  bool // Close closes db and rd ([OpenPool])

	mu      sync.Mutex
	queue   []*call
	leading bool
}

type call struct {
	ctx   context.Context
	fn    func(*sql.Tx) error
	err   error
	panic any
	done  chan struct{}
}

// maxGroup bounds the transactions committed together.
const maxGroup = 64

// NewPool returns a pool writing through db (one connection, as [OpenDB]
// opens it) and reading through rd ([OpenReadDB]); rd may be db.
func NewPool(db, rd *sql.DB) *Pool {
	if rd == nil {
		rd = db
	}
	return &Pool{db: db, rd: rd}
}

// Close closes the handles if the pool opened them ([OpenPool]).
func (p *Pool) Close() error {
	if !p.owned {
		return nil
	}
	var errs []error
	if p.rd != p.db {
		errs = append(errs, p.rd.Close())
	}
	return errors.Join(append(errs, p.db.Close())...)
}

// Writer returns the writer handle: for migrations, and for tests that
// count rows. Writes go through [Pool.Tx].
func (p *Pool) Writer() *sql.DB { return p.db }

// Reader returns the read-only handle, for single statements.
func (p *Pool) Reader() *sql.DB { return p.rd }

// Tx runs fn in a write transaction, possibly grouped with others (see
// [Pool]), and returns fn's error or the commit's. fn MUST touch only the
// database through tx, and MUST NOT call Tx itself: it runs on whichever
// goroutine commits the group. Its statements use its own ctx; a ctx done
// before fn starts fails the call without running it.
func (p *Pool) Tx(ctx context.Context, fn func(*sql.Tx) error) error {
	c := &call{ctx: ctx, fn: fn, done: make(chan struct{})}
	p.mu.Lock()
	p.queue = append(p.queue, c)
	lead := !p.leading
	p.leading = true
	p.mu.Unlock()
	if lead {
		p.lead()
	}
	<-c.done
	if c.panic != nil {
		panic(c.panic)
	}
	return c.err
}

// lead commits one group and hands leadership to a new goroutine if more
// calls are waiting, so that no caller commits other callers' groups
// indefinitely.
func (p *Pool) lead() {
	p.mu.Lock()
	n := min(len(p.queue), maxGroup)
	group := p.queue[:n:n]
	p.queue = p.queue[n:]
	p.mu.Unlock()
	p.commit(group)
	p.mu.Lock()
	more := len(p.queue) > 0
	if !more {
		p.leading = false
	}
	p.mu.Unlock()
	if more {
		go p.lead()
	}
	for _, c := range group {
		close(c.done)
	}
}

// commit runs group in one transaction and sets each call's outcome.
func (p *Pool) commit(group []*call) {
	// The transaction outlives any one caller's context: a cancelled
	// caller must not roll back the others.
	bg := context.Background()
	tx, err := p.db.BeginTx(bg, nil)
	if err != nil {
		fail(group, fmt.Errorf("sqlite: begin: %w", err))
		return
	}
	ok := 0
	for _, c := range group {
		if err := c.ctx.Err(); err != nil {
			c.err = err
			continue
		}
		if _, err := tx.ExecContext(bg, "SAVEPOINT grp"); err != nil {
			_ = tx.Rollback()
			fail(group, fmt.Errorf("sqlite: savepoint: %w", err))
			return
		}
		c.panic, c.err = run(c, tx)
		if c.err != nil || c.panic != nil {
			if _, err := tx.ExecContext(bg, "ROLLBACK TO grp"); err != nil {
				_ = tx.Rollback()
				fail(group, fmt.Errorf("sqlite: rollback to savepoint: %w", err))
				return
			}
		} else {
			ok++
		}
		if _, err := tx.ExecContext(bg, "RELEASE grp"); err != nil {
			_ = tx.Rollback()
			fail(group, fmt.Errorf("sqlite: release savepoint: %w", err))
			return
		}
	}
	if ok == 0 {
		_ = tx.Rollback()
		return
	}
	if err := tx.Commit(); err != nil {
		// A failed COMMIT (a deferred constraint, an I/O error) can leave
		// SQLite's transaction open on the connection that database/sql
		// now considers free; end it so that the next BEGIN works.
		_, _ = p.db.ExecContext(bg, "ROLLBACK")
		err = fmt.Errorf("sqlite: commit: %w", err)
		for _, c := range group {
			if c.err == nil && c.panic == nil {
				c.err = err
			}
		}
	}
}

// run calls c.fn, turning a panic into a value re-raised in the caller's
// goroutine.
func run(c *call, tx *sql.Tx) (pv any, err error) {
	defer func() {
		if v := recover(); v != nil {
			pv = v
		}
	}()
	return nil, c.fn(tx)
}

// fail gives every call of group that has not failed on its own err: the
// group's transaction was abandoned, so nothing of theirs is stored.
func fail(group []*call, err error) {
	for _, c := range group {
		if c.err == nil && c.panic == nil {
			c.err = err
		}
	}
}

// View runs fn in a read-only transaction of the reader: one consistent
// snapshot that includes every transaction committed before it began.
func (p *Pool) View(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := p.rd.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Exec runs one write statement as its own transaction through [Pool.Tx].
func (p *Pool) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := p.Tx(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = tx.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}
