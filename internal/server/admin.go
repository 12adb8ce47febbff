package server

import (
	"context"
	"math/big"

	"github.com/signet-pki/signet/internal/auditview"
	"github.com/signet-pki/signet/internal/keyadmin"
	"github.com/signet-pki/signet/pki"
	"github.com/signet-pki/signet/pki/ca"
)

// openAdmin mounts the administration APIs of the audit log
// (internal/auditview; the workflow service tells it whose an envelope
// is) and of the tenants' keys and certificates
// (internal/keyadmin), and returns the audit view, which gives the
// envelope history its events' positions in the log, and the OpenAPI
// fragments.
func (s *Server) openAdmin(ctx context.Context, o options) (*auditview.Service, [][]byte, error) {
	av, err := auditview.New(auditview.Config{Store: s.audit.store, SettledSize: s.audit.publisher.SettledSize, Envelopes: s.workflow})
	if err != nil {
		return nil, nil, err
	}
	(&auditview.Handler{Service: av}).Register(s.router)
	m, err := s.dir.Keys(ctx)
	if err != nil {
		return nil, nil, err
	}
	// The authority's own view of its records: those of signer
	// certificates (the seal's among them) are opened with their
	// tenant's keys.
	records, err := s.dir.CAStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	if sealer := caRecordSealer(s.keyRing); sealer != nil {
		records = ca.SealedStore(records, sealer)
	}
	cfg := keyadmin.Config{Keys: m, Certificates: records, Revoker: s.pki.authority, InUse: s.pki.roleWithCert, Now: o.now}
	if s.atRest != nil {
		cfg.RotateKEK = s.atRest.RotateTenantKEK
	}
	if s.sealer != nil {
		cfg.CertifySeal = func(ctx context.Context, tenant string) error {
			_, _, err := s.sealer.SealKey(ctx, tenant)
			return err
		}
	}
	ka, err := keyadmin.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	(&keyadmin.Handler{Service: ka}).Register(s.router)
	return av, [][]byte{auditview.OpenAPI, keyadmin.OpenAPI}, nil
}

// roleWithCert returns the role of the platform's PKI, or of tenant's
// issuing CA, whose current certificate has serial ("" if none), and
// whether it is the platform's.
func (p *pkiRoles) roleWithCert(tenant string, serial *big.Int) (string, bool) {
	platform := []string{"ca/" + ca.RootName, "ca/" + ca.PlatformName, pki.OCSPRole(ca.PlatformName, "").Name,
		pki.TSARole.Name, pki.ArchiveTSARole.Name, tlsRole.Name}
	own := []string{pki.IssuingRole(tenant, tenant).Name, pki.OCSPRole(tenant, tenant).Name}
	for i, role := range append(platform, own...) {
		if c := p.Cert(role); c != nil && c.SerialNumber.Cmp(serial) == 0 {
			return role, i < len(platform)
		}
	}
	return "", false
}
