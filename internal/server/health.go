package server

import (
	"context"
	"errors"

	"github.com/signet-pki/signet/internal/api"
)

// checks are the readiness conditions: the service database answers, the
// key manager can read the TLS key, the audit log accepts writes, and
// its appends and checkpoints are healthy (see [alert.Engine.AuditHealth]).
func (s *Server) checks() []api.Check {
	return []api.Check{
		{Name: "database", Func: func(ctx context.Context) error {
			return s.stores.Ping(ctx)
		}},
		{Name: "key-backend", Func: func(ctx context.Context) error {
			_, err := s.pki.sealOrTLSKey(ctx)
			return err
		}},
		{Name: "audit-log", Func: s.auditWritable},
		{Name: "audit-health", Func: s.auditHealth},
	}
}

// auditWritable reports whether an append could succeed now.
func (s *Server) auditWritable(ctx context.Context) error {
	if s.closed.Load() {
		return errors.New("server: audit log closed")
	}
	return s.audit.writable(ctx)
}
