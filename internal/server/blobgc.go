package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/signet-pki/signet/internal/workflow"
)

// collectBlobs deletes orphaned blobs (see [workflow.Service.CollectGarbage])
// at start and then every BlobGCInterval until ctx ends, sparing blobs
// younger than BlobGCGrace. Each deletion is logged by the blob's name (a
// SHA-256), never its content.
//
// The server runs it under a lease: on PostgreSQL one node collects at a
// time. The grace period must stay longer than any node's longest
// request, since a blob written by a request in flight on another node is
// not yet referenced.
func (s *Server) collectBlobs(ctx context.Context) {
	interval, grace := time.Duration(s.cfg.BlobGCInterval), time.Duration(s.cfg.BlobGCGrace)
	t := time.NewTicker(interval)
	defer t.Stop()
	bs := loggedDeletes{BlobCollector: s.stores.Blobs, logger: s.logger}
	for {
		n, err := s.workflow.CollectGarbage(ctx, bs, grace)
		switch {
		case err != nil && ctx.Err() == nil:
			s.logger.WarnContext(ctx, "blob garbage collection failed", "error", err, "collected", n)
		case n > 0:
			s.logger.InfoContext(ctx, "orphaned blobs collected", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// loggedDeletes logs each blob that garbage collection deletes.
type loggedDeletes struct {
	workflow.BlobCollector
	logger *slog.Logger
}

// Delete deletes blob name and logs its name.
func (l loggedDeletes) Delete(ctx context.Context, name string) error {
	if err := l.BlobCollector.Delete(ctx, name); err != nil {
		return err
	}
	l.logger.InfoContext(ctx, "orphaned blob deleted", "blob", name)
	return nil
}
