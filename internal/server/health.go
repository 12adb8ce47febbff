package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	"github.com/signet-pki/signet/internal/api"
)

// openProbe opens a second handle on the audit database used only to
// check that it accepts writes: it takes the write lock (BEGIN IMMEDIATE)
// and rolls back, so it never changes the log. A short busy timeout makes
// a stuck writer show as not ready instead of hanging the probe.
func openProbe(path string) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(500)")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("server: audit probe: %w", err)
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// checks are the readiness conditions: the service database answers, the
// key manager can read the TLS key, and the audit log accepts writes.
func (s *Server) checks() []api.Check {
	return []api.Check{
		{Name: "database", Func: func(ctx context.Context) error {
			var one int
			return s.db.QueryRowContext(ctx, "SELECT 1 FROM schema_migrations LIMIT 1").Scan(&one)
		}},
		{Name: "key-backend", Func: func(ctx context.Context) error {
			_, err := s.pki.sealOrTLSKey(ctx)
			return err
		}},
		{Name: "audit-log", Func: s.auditWritable},
	}
}

// auditWritable reports whether an append could succeed now.
func (s *Server) auditWritable(ctx context.Context) error {
	if s.closed.Load() {
		return errors.New("server: audit log closed")
	}
	conn, err := s.auditProbe.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("server: audit log not writable: %w", err)
	}
	_, err = conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
	return err
}
