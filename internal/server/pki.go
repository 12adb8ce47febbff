package server

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/dataseal"
	"github.com/signet-pki/signet/pki"
	"github.com/signet-pki/signet/pki/ca"
	"github.com/signet-pki/signet/pki/crl"
	"github.com/signet-pki/signet/pki/ocsp"
)

// pkiRoles is the internal PKI of a server: the roles of [pki] (root,
// platform and tenant issuing CAs with their OCSP responders, the built-in
// TSA), plus the TLS certificate and one seal key per tenant. Role keys
// live in the key manager; which key serves which role, and the role's
// current certificate, in the data directory's [pki.Store] (pki/sqlite).
type pkiRoles struct {
	*pki.PKI
	roles     pki.Store
	authority *ca.Authority
	renewer   *ca.Renewer
	now       func() time.Time
}

// tenantLister lists the tenants, whose issuing CAs the PKI sets up.
type tenantLister interface {
	Tenants(ctx context.Context) ([]accounts.Tenant, error)
}

// openPKI sets up the internal PKI of the data directory dir: certificate
// records in pki.db, role keys in the key manager (the issuing CAs'
// ephemeral signer keys in its backend), which key serves which role in
// signet.db (pki/sqlite); the root, the platform CA and every tenant's
// issuing CA, created or renewed; the root written to pki/root.pem.
// Certificates point to baseURL; rec records the CA's operations. With
// ring, the records of signer certificates are sealed under their
// tenant's keys (see [caRecordSealer]); the OCSP responder and the CRLs
// read the records as stored, needing only serials and status.
func openPKI(ctx context.Context, dir *datadir.Dir, rec auditlog.Recorder, tenants tenantLister, baseURL string, o options, ring workflow.KeyRing) (*pkiRoles, error) {
	caStore, err := dir.CAStore(ctx)
	if err != nil {
		return nil, err
	}
	records := caStore
	if sealer := caRecordSealer(ring); sealer != nil {
		records = ca.SealedStore(caStore, sealer)
	}
	roles, err := dir.PKIRoles(ctx)
	if err != nil {
		return nil, err
	}
	backend, err := dir.Backend(ctx)
	if err != nil {
		return nil, err
	}
	p := &pkiRoles{roles: roles, now: o.now, renewer: &ca.Renewer{Logger: o.logger, Now: o.now}}
	if p.authority, err = ca.New(ca.Config{
		Store: records, Recorder: rec, BaseURL: baseURL, Now: o.now,
		Keys: ca.BackendKeys{Backend: backend, Algorithm: keys.ECDSAP256},
	}); err != nil {
		return nil, err
	}
	if p.PKI, err = pki.New(pki.Config{
		Store: roles, Authority: p.authority, Renewer: p.renewer, Now: o.now,
		CRLs: &crl.Publisher{Source: caStore, Now: o.now, Logger: o.logger},
		OCSP: &ocsp.Responder{Store: caStore, Now: o.now, Logger: o.logger},
	}); err != nil {
		return nil, err
	}
	ts, err := tenants.Tenants(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, t := range ts {
		ids = append(ids, t.ID)
	}
	if err := p.SetUp(ctx, ids); err != nil {
		return nil, err
	}
	if err := dir.WriteRootCert(p.Cert("ca/" + ca.RootName).Raw); err != nil {
		return nil, err
	}
	return p, nil
}

// caRecordsObject is the object of tenant whose data key seals the
// records of the certificates its issuing CA issued to signers.
func caRecordsObject(tenant string) string { return "certificates:" + tenant }

// caRecordSealer returns the sealer of the CA's records of signer
// certificates, or nil without ring (nothing sealed). A tenant's issuing
// CA is named after the tenant (provisionTenant, [pki.PKI.SetUp]), so the
// issuer of a record is its tenant; the root and the platform CA belong
// to no tenant and issue no signer certificates, so a record of theirs
// is refused rather than sealed under some other key. The data key is
// made on first use.
func caRecordSealer(ring workflow.KeyRing) ca.RecordSealer {
	if ring == nil {
		return nil
	}
	return ca.NewRecordSealer(func(ctx context.Context, issuer string) (dataseal.KEK, error) {
		if issuer == ca.RootName || issuer == ca.PlatformName || !ca.ValidName(issuer) {
			return nil, fmt.Errorf("server: CA %q belongs to no tenant", issuer)
		}
		return ring.ObjectKEK(ctx, issuer, caRecordsObject(issuer), true)
	})
}

// Roles of the server beside the PKI's. The TLS key signs a handshake for
// anyone who connects, before any credential is seen: it is anonymous, so
// that a flood of handshakes adds key.used events per interval, not per
// connection.
var tlsRole = pki.Role{Name: "tls", Purpose: keys.PurposeTLS, Algorithm: keys.ECDSAP256, Anonymous: true}

func sealRole(tenant string) pki.Role {
	return pki.Role{Name: "seal/" + tenant, Tenant: tenant, Purpose: keys.PurposePlatformSeal, Algorithm: keys.ECDSAP256}
}

// provisionTenant creates a new tenant's issuing CA and seal key.
func (p *pkiRoles) provisionTenant(ctx context.Context, t accounts.Tenant) error {
	if err := p.Issuing(ctx, t.ID, t.ID); err != nil {
		return err
	}
	_, _, err := p.roles.Key(ctx, sealRole(t.ID))
	return err
}

// tlsCertificate returns the server certificate for hosts: a 90-day
// certificate from the platform CA for a TLS key in the key manager,
// renewed when a third of its life remains or the hosts changed.
func (p *pkiRoles) tlsCertificate(ctx context.Context, hosts []string) (tls.Certificate, error) {
	s, _, err := p.roles.Key(ctx, tlsRole)
	if err != nil {
		return tls.Certificate{}, err
	}
	c, err := p.roles.Certificate(ctx, tlsRole.Name)
	if err != nil {
		return tls.Certificate{}, err
	}
	now := p.now()
	if c == nil || now.After(c.NotAfter.Add(-30*24*time.Hour)) || !coversHosts(c, hosts) {
		if c, err = p.issueTLS(s, hosts, now); err != nil {
			return tls.Certificate{}, err
		}
		if err := p.SetCert(ctx, tlsRole.Name, c); err != nil {
			return tls.Certificate{}, err
		}
	}
	plat := p.Cert("ca/" + ca.PlatformName)
	return tls.Certificate{Certificate: [][]byte{c.Raw, plat.Raw}, PrivateKey: s, Leaf: c}, nil
}

func coversHosts(c *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if c.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// issueTLS has the platform CA issue a TLS server certificate (RFC 5280
// §4.2.1.12 id-kp-serverAuth) for hosts.
func (p *pkiRoles) issueTLS(s crypto.Signer, hosts []string, now time.Time) (*x509.Certificate, error) {
	iss, err := p.authority.Issuer(ca.PlatformName)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial.Add(serial, big.NewInt(1)),
		Subject:      pkix.Name{CommonName: hosts[0], Organization: []string{"Signet"}},
		NotBefore:    now.Add(-time.Minute),
		NotAfter:     now.Add(90 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, iss.Certificate, s.Public(), iss.Signer)
	if err != nil {
		return nil, fmt.Errorf("server: TLS certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// sealOrTLSKey checks the key backend by loading the TLS role's key.
func (p *pkiRoles) sealOrTLSKey(ctx context.Context) (crypto.Signer, error) {
	s, _, err := p.roles.Key(ctx, tlsRole)
	return s, err
}

// SealKey returns tenant's seal key and its reference.
func (p *pkiRoles) SealKey(ctx context.Context, tenant string) (crypto.Signer, ca.KeyRef, error) {
	return p.roles.Key(ctx, sealRole(tenant))
}

// pkiRefreshInterval is how often a node of a deployment on PostgreSQL
// adopts the other nodes' changes to the PKI.
const pkiRefreshInterval = time.Minute

// refreshPKI adopts, every interval until ctx ends, the issuing CAs of
// tenants created on other nodes and the certificates they renewed (see
// [pki.PKI.Refresh]).
func (s *Server) refreshPKI(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		ts, err := s.stores.Tenants.Tenants(ctx)
		if err == nil {
			ids := make([]string, len(ts))
			for i, tn := range ts {
				ids[i] = tn.ID
			}
			err = s.pki.Refresh(ctx, ids)
		}
		if err != nil && ctx.Err() == nil {
			s.logger.WarnContext(ctx, "pki: adopting other nodes' changes failed; retried at the next interval", "error", err)
		}
	}
}
