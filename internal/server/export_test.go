package server

import (
	"context"

	"github.com/signet-pki/signet/internal/archive"
	"github.com/signet-pki/signet/internal/identity"
)

// IdentityStore returns the server's identity store, so that tests can
// set up users, grants and sessions without going through every login.
func (s *Server) IdentityStore() identity.Store { return s.stores.Identity }

// WithoutKeysAtRest makes the server store in clear what it otherwise
// seals under the tenants' keys, as versions before encryption at rest
// did, so that tests can make such a data directory.
func WithoutKeysAtRest() Option { return func(o *options) { o.clearAtRest = true } }

// PublishCheckpoint has the audit log's publisher sign a checkpoint of
// the log now, as its timer would within seconds.
func (s *Server) PublishCheckpoint(ctx context.Context) error {
	_, err := s.audit.publisher.Publish(ctx)
	return err
}

// RunArchiveOnce runs one archive renewal pass (see archive.Service.RunOnce).
func (s *Server) RunArchiveOnce(ctx context.Context) (archive.Result, error) {
	return s.archive.RunOnce(ctx)
}

// RotateTenantKEK rotates tenant's key-encryption key, as
// `signet keys rotate-kek` does.
func (s *Server) RotateTenantKEK(ctx context.Context, tenant string) error {
	_, err := s.atRest.RotateTenantKEK(ctx, tenant)
	return err
}
