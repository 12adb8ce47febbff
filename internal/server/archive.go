package server

import (
	"crypto/x509"
	"time"

	"github.com/signet-pki/signet/internal/archive"
)

// openArchive builds archive renewal over the workflow, the archive
// time-stamper and the validation data fetcher, unless the configuration
// disables it. Documents are read against the same trust anchors as the
// validation data (the platform root and the configured TSAs' roots).
// [Server.Run] runs it under the lease "archive-renewal".
func (s *Server) openArchive(o options) error {
	if s.cfg.Archive.Disabled {
		o.logger.Warn("archive renewal is disabled (archive.disabled): completed documents lapse to INDETERMINATE once their latest time-stamp's authority certificate expires")
		return nil
	}
	roots := x509.NewCertPool()
	for _, c := range s.fetcher.Roots {
		roots.AddCert(c)
	}
	var err error
	s.archive, err = archive.New(archive.Config{
		Workflow: s.workflow, Timestamper: s.archiveTimestamper, Fetcher: s.fetcher, Roots: roots,
		Margin: time.Duration(s.cfg.Archive.RenewalMargin), Interval: time.Duration(s.cfg.Archive.CheckInterval),
		Now: o.now, Logger: o.logger,
	})
	return err
}
