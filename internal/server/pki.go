package server

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strconv"
	"time"

	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/pki"
	"github.com/signet-pki/signet/pki/ca"
)

// migrations are the server's tables in signet.db (versions 400–499).
var migrations = []sqldb.Migration{{
	Version: 400,
	Name:    "server pki roles",
	SQL: `CREATE TABLE server_pki_roles (
	role    TEXT PRIMARY KEY,
	tenant  TEXT NOT NULL,
	key_id  TEXT NOT NULL,
	purpose TEXT NOT NULL,
	cert    BLOB
) STRICT;`,
}}

// pkiRoles is the internal PKI of a server: the roles of [pki] (root,
// platform and tenant issuing CAs with their OCSP responders, the built-in
// TSA), plus the TLS certificate and one seal key per tenant. Role keys
// live in the key manager; which key serves which role, and the role's
// current certificate, in server_pki_roles ([pki.Store]).
type pkiRoles struct {
	*pki.PKI
	db        *sql.DB
	keys      *keys.Manager
	authority *ca.Authority
	renewer   *ca.Renewer
	now       func() time.Time
}

var _ pki.Store = (*pkiRoles)(nil)

// Key implements [pki.Store].
func (p *pkiRoles) Key(ctx context.Context, r pki.Role) (crypto.Signer, ca.KeyRef, error) {
	var keyID string
	err := p.db.QueryRowContext(ctx, `SELECT key_id FROM server_pki_roles WHERE role = ?`, r.Name).Scan(&keyID)
	if errors.Is(err, sql.ErrNoRows) {
		k, err := p.keys.Create(ctx, keys.CreateRequest{Purpose: r.Purpose, Algorithm: r.Algorithm, Tenant: r.Tenant, Label: "server " + r.Name})
		if err != nil {
			return nil, ca.KeyRef{}, fmt.Errorf("server: key for %s: %w", r.Name, err)
		}
		keyID = k.ID
		if _, err := p.db.ExecContext(ctx, `INSERT INTO server_pki_roles (role, tenant, key_id, purpose) VALUES (?, ?, ?, ?)`,
			r.Name, r.Tenant, keyID, string(r.Purpose)); err != nil {
			return nil, ca.KeyRef{}, fmt.Errorf("server: pki role %s: %w", r.Name, err)
		}
	} else if err != nil {
		return nil, ca.KeyRef{}, fmt.Errorf("server: pki role %s: %w", r.Name, err)
	}
	s, ref, err := p.keys.Signer(ctx, keyID, r.Purpose, r.SignerOptions()...)
	if err != nil {
		return nil, ca.KeyRef{}, fmt.Errorf("server: key for %s: %w", r.Name, err)
	}
	return s, ca.KeyRef{ID: ref.KeyID, Version: strconv.Itoa(ref.Version)}, nil
}

// Certificate implements [pki.Store].
func (p *pkiRoles) Certificate(ctx context.Context, role string) (*x509.Certificate, error) {
	var der []byte
	err := p.db.QueryRowContext(ctx, `SELECT cert FROM server_pki_roles WHERE role = ?`, role).Scan(&der)
	if errors.Is(err, sql.ErrNoRows) || err == nil && len(der) == 0 {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("server: pki role %s: %w", role, err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("server: certificate of %s: %w", role, err)
	}
	return c, nil
}

// SetCertificate implements [pki.Store].
func (p *pkiRoles) SetCertificate(ctx context.Context, role string, c *x509.Certificate) error {
	if _, err := p.db.ExecContext(ctx, `UPDATE server_pki_roles SET cert = ? WHERE role = ?`, c.Raw, role); err != nil {
		return fmt.Errorf("server: store certificate of %s: %w", role, err)
	}
	return nil
}

// Roles of the server beside the PKI's.
var tlsRole = pki.Role{Name: "tls", Purpose: keys.PurposeTLS, Algorithm: keys.ECDSAP256}

func sealRole(tenant string) pki.Role {
	return pki.Role{Name: "seal/" + tenant, Tenant: tenant, Purpose: keys.PurposePlatformSeal, Algorithm: keys.ECDSAP256}
}

// provisionTenant creates a new tenant's issuing CA and seal key.
func (p *pkiRoles) provisionTenant(ctx context.Context, t accounts.Tenant) error {
	if err := p.Issuing(ctx, t.ID, t.ID); err != nil {
		return err
	}
	_, _, err := p.Key(ctx, sealRole(t.ID))
	return err
}

// tlsCertificate returns the server certificate for hosts: a 90-day
// certificate from the platform CA for a TLS key in the key manager,
// renewed when a third of its life remains or the hosts changed.
func (p *pkiRoles) tlsCertificate(ctx context.Context, hosts []string) (tls.Certificate, error) {
	s, _, err := p.Key(ctx, tlsRole)
	if err != nil {
		return tls.Certificate{}, err
	}
	c, err := p.Certificate(ctx, tlsRole.Name)
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
	s, _, err := p.Key(ctx, tlsRole)
	return s, err
}

// SealKey returns tenant's seal key and its reference.
func (p *pkiRoles) SealKey(ctx context.Context, tenant string) (crypto.Signer, ca.KeyRef, error) {
	return p.Key(ctx, sealRole(tenant))
}
