package server

import (
	"context"
	"errors"
	"fmt"

	"github.com/signet-pki/signet/internal/api"
)

// checks are the readiness conditions: the service database answers, the
// key manager can read the TLS key, and the audit log accepts writes.
func (s *Server) checks() []api.Check {
	return []api.Check{
		{Name: "database", Func: func(ctx context.Context) error {
			var one int
			return s.stores.pool.Writer().QueryRowContext(ctx, "SELECT 1 FROM schema_migrations LIMIT 1").Scan(&one)
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
	conn, err := s.audit.probe.Conn(ctx)
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
