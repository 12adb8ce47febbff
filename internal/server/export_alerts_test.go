package server

import (
	"context"
	"crypto/x509"
)

// CheckAlerts runs the periodic alert rules now, as their ticker would:
// audit-logging health (and the checkpoints', on the publishing node)
// and the certificates within their renewal margin.
func (s *Server) CheckAlerts(ctx context.Context) {
	s.checkAuditHealth(ctx)
	s.checkCertificates(ctx)
}

// PKICert returns the PKI's certificate in use for role, e.g. "tsa".
func (s *Server) PKICert(role string) *x509.Certificate { return s.pki.Cert(role) }
