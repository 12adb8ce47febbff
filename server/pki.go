package server

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/signet-pki/signet/api"
	"github.com/signet-pki/signet/ca"
	"github.com/signet-pki/signet/crl"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/ocsp"
	"github.com/signet-pki/signet/store/sqlite"
	"github.com/signet-pki/signet/tsa"
)

// tsaPolicy is the policy OID of the built-in TSA's tokens.
var tsaPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 1, 2}

// migrations are the server's tables in signet.db (versions 400–499).
var migrations = []sqlite.Migration{{
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

// pki is the internal PKI of a server: the root, the platform issuing CA,
// one issuing CA and seal key per tenant, the TLS certificate and the
// built-in TSA. Role keys live in the key manager; which key serves which
// role, and the role's current certificate, in server_pki_roles.
type pki struct {
	db        *sql.DB
	keys      *keys.Manager
	authority *ca.Authority
	crls      *crl.Publisher
	ocsp      *ocsp.Responder
	renewer   *ca.Renewer
	now       func() time.Time

	mu    sync.RWMutex
	certs map[string]*x509.Certificate
	tsa   *tsa.Server
}

type role struct {
	name, tenant string
	purpose      keys.Purpose
	alg          keys.Algorithm
}

// signer returns the role's key, creating it on first use, and the role's
// stored certificate (nil if none).
func (p *pki) signer(ctx context.Context, r role) (crypto.Signer, ca.KeyRef, *x509.Certificate, error) {
	var keyID string
	var der []byte
	err := p.db.QueryRowContext(ctx, `SELECT key_id, cert FROM server_pki_roles WHERE role = ?`, r.name).Scan(&keyID, &der)
	if errors.Is(err, sql.ErrNoRows) {
		k, err := p.keys.Create(ctx, keys.CreateRequest{Purpose: r.purpose, Algorithm: r.alg, Tenant: r.tenant, Label: "server " + r.name})
		if err != nil {
			return nil, ca.KeyRef{}, nil, fmt.Errorf("server: key for %s: %w", r.name, err)
		}
		keyID = k.ID
		if _, err := p.db.ExecContext(ctx, `INSERT INTO server_pki_roles (role, tenant, key_id, purpose) VALUES (?, ?, ?, ?)`,
			r.name, r.tenant, keyID, string(r.purpose)); err != nil {
			return nil, ca.KeyRef{}, nil, fmt.Errorf("server: pki role %s: %w", r.name, err)
		}
	} else if err != nil {
		return nil, ca.KeyRef{}, nil, fmt.Errorf("server: pki role %s: %w", r.name, err)
	}
	s, ref, err := p.keys.Signer(ctx, keyID, r.purpose)
	if err != nil {
		return nil, ca.KeyRef{}, nil, fmt.Errorf("server: key for %s: %w", r.name, err)
	}
	var cert *x509.Certificate
	if len(der) > 0 {
		if cert, err = x509.ParseCertificate(der); err != nil {
			return nil, ca.KeyRef{}, nil, fmt.Errorf("server: certificate of %s: %w", r.name, err)
		}
	}
	return s, ca.KeyRef{ID: ref.KeyID, Version: strconv.Itoa(ref.Version)}, cert, nil
}

func (p *pki) setCert(ctx context.Context, roleName string, c *x509.Certificate) error {
	if _, err := p.db.ExecContext(ctx, `UPDATE server_pki_roles SET cert = ? WHERE role = ?`, c.Raw, roleName); err != nil {
		return fmt.Errorf("server: store certificate of %s: %w", roleName, err)
	}
	p.mu.Lock()
	p.certs[roleName] = c
	p.mu.Unlock()
	return nil
}

func (p *pki) cert(roleName string) *x509.Certificate {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.certs[roleName]
}

// setUp loads or creates the root, the platform CA, the TSA and the
// issuing CAs of existing tenants.
func (p *pki) setUp(ctx context.Context, tenants []string) error {
	s, ref, c, err := p.signer(ctx, role{name: "ca/" + ca.RootName, purpose: keys.PurposeRootCA, alg: keys.ECDSAP384})
	if err != nil {
		return err
	}
	if c == nil {
		iss, err := p.authority.NewRoot(ctx, s, ref, 0)
		if err != nil {
			return fmt.Errorf("server: root CA: %w", err)
		}
		c = iss.Certificate
	} else if err := p.authority.Register(&ca.Issuer{Name: ca.RootName, Certificate: c, Signer: s}); err != nil {
		return err
	}
	if err := p.setCert(ctx, "ca/"+ca.RootName, c); err != nil {
		return err
	}
	if err := p.crls.SetIssuer(ca.RootName, c, s); err != nil {
		return err
	}
	if err := p.issuing(ctx, ca.PlatformName, ""); err != nil {
		return err
	}
	for _, t := range tenants {
		if err := p.issuing(ctx, t, t); err != nil {
			return err
		}
	}
	return p.setUpTSA(ctx)
}

// issuing loads or creates the issuing CA name of tenant, renews its
// certificate (same key, from the root) when due, and puts it under
// renewal while the server runs.
func (p *pki) issuing(ctx context.Context, name, tenant string) error {
	rn := "ca/" + name
	r := role{name: rn, tenant: tenant, purpose: keys.PurposeIssuingCA, alg: keys.ECDSAP256}
	s, ref, c, err := p.signer(ctx, r)
	if err != nil {
		return err
	}
	use := func(ctx context.Context, c *x509.Certificate) error {
		if err := p.setCert(ctx, rn, c); err != nil {
			return err
		}
		return p.crls.SetIssuer(name, c, s)
	}
	renew := func(ctx context.Context) error {
		iss, err := p.authority.NewIssuing(ctx, ca.IssuingRequest{Name: name, Tenant: tenant, Signer: s, Key: ref})
		if err != nil {
			return fmt.Errorf("server: issuing CA %s: %w", name, err)
		}
		return use(ctx, iss.Certificate)
	}
	switch {
	case c == nil || p.renewer.Due(c, p.now()):
		err = renew(ctx)
	default:
		if err = p.authority.Register(&ca.Issuer{Name: name, Tenant: tenant, Certificate: c, Signer: s}); err == nil {
			err = use(ctx, c)
		}
	}
	if err != nil {
		return err
	}
	p.renewer.Add(ca.Renewable{Name: rn, Current: func() *x509.Certificate { return p.cert(rn) }, Renew: renew})
	return p.setUpOCSP(ctx, name, tenant)
}

// setUpOCSP gives issuing CA name a delegated OCSP responder: a key of its
// own (so the CA key is not used on every query) with a certificate from the
// CA (id-kp-OCSPSigning, ocsp-nocheck), renewed while the server runs.
func (p *pki) setUpOCSP(ctx context.Context, name, tenant string) error {
	rn := "ocsp/" + name
	s, _, c, err := p.signer(ctx, role{name: rn, tenant: tenant, purpose: keys.PurposeIssuingCA, alg: keys.ECDSAP256})
	if err != nil {
		return err
	}
	renew := func(ctx context.Context) error {
		s, ref, _, err := p.signer(ctx, role{name: rn, tenant: tenant, purpose: keys.PurposeIssuingCA, alg: keys.ECDSAP256})
		if err != nil {
			return err
		}
		c, err := p.authority.IssueOCSPResponder(ctx, name, s.Public(), ref, 0)
		if err != nil {
			return fmt.Errorf("server: OCSP responder of %s: %w", name, err)
		}
		if err := p.setCert(ctx, rn, c); err != nil {
			return err
		}
		return p.ocsp.SetSigner(ocsp.Signer{CAName: name, CA: p.cert("ca/" + name), Certificate: c, Key: s})
	}
	if c == nil || c.CheckSignatureFrom(p.cert("ca/"+name)) != nil || p.renewer.Due(c, p.now()) {
		if err := renew(ctx); err != nil {
			return err
		}
	} else {
		p.mu.Lock()
		p.certs[rn] = c
		p.mu.Unlock()
		if err := p.ocsp.SetSigner(ocsp.Signer{CAName: name, CA: p.cert("ca/" + name), Certificate: c, Key: s}); err != nil {
			return err
		}
	}
	p.renewer.Add(ca.Renewable{Name: rn, Current: func() *x509.Certificate { return p.cert(rn) }, Renew: renew})
	return nil
}

func (p *pki) setUpTSA(ctx context.Context) error {
	p.renewer.Add(ca.Renewable{Name: "tsa", Current: func() *x509.Certificate { return p.cert("tsa") }, Renew: p.renewTSA})
	s, _, c, err := p.signer(ctx, role{name: "tsa", purpose: keys.PurposeTimestamping, alg: keys.ECDSAP256})
	if err != nil {
		return err
	}
	if c == nil || c.NotAfter.Before(p.now().Add(30*24*time.Hour)) {
		return p.renewTSA(ctx)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.certs["tsa"] = c
	p.tsa = &tsa.Server{
		Signer: s, Certificate: c, Chain: []*x509.Certificate{p.certs["ca/"+ca.PlatformName]},
		Policy: tsaPolicy, Hash: crypto.SHA256, Now: p.now,
	}
	return nil
}

// renewTSA issues a new certificate for the TSA key and puts it in use.
func (p *pki) renewTSA(ctx context.Context) error {
	s, ref, _, err := p.signer(ctx, role{name: "tsa", purpose: keys.PurposeTimestamping, alg: keys.ECDSAP256})
	if err != nil {
		return err
	}
	c, err := p.authority.IssueTSA(ctx, ca.PlatformName, s.Public(), ref, 0)
	if err != nil {
		return fmt.Errorf("server: TSA certificate: %w", err)
	}
	if err := p.setCert(ctx, "tsa", c); err != nil {
		return err
	}
	p.mu.Lock()
	p.tsa = &tsa.Server{
		Signer: s, Certificate: c, Chain: []*x509.Certificate{p.certs["ca/"+ca.PlatformName]},
		Policy: tsaPolicy, Hash: crypto.SHA256, Now: p.now,
	}
	p.mu.Unlock()
	return nil
}

// provisionTenant creates a new tenant's issuing CA and seal key.
func (p *pki) provisionTenant(ctx context.Context, t api.Tenant) error {
	if err := p.issuing(ctx, t.ID, t.ID); err != nil {
		return err
	}
	_, _, _, err := p.signer(ctx, role{name: "seal/" + t.ID, tenant: t.ID, purpose: keys.PurposePlatformSeal, alg: keys.ECDSAP256})
	return err
}

// tlsCertificate returns the server certificate for hosts: a 90-day
// certificate from the platform CA for a TLS key in the key manager,
// renewed when a third of its life remains or the hosts changed.
func (p *pki) tlsCertificate(ctx context.Context, hosts []string) (tls.Certificate, error) {
	s, _, c, err := p.signer(ctx, role{name: "tls", purpose: keys.PurposeTLS, alg: keys.ECDSAP256})
	if err != nil {
		return tls.Certificate{}, err
	}
	now := p.now()
	if c == nil || now.After(c.NotAfter.Add(-30*24*time.Hour)) || !coversHosts(c, hosts) {
		if c, err = p.issueTLS(s, hosts, now); err != nil {
			return tls.Certificate{}, err
		}
		if err := p.setCert(ctx, "tls", c); err != nil {
			return tls.Certificate{}, err
		}
	}
	plat := p.cert("ca/" + ca.PlatformName)
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
func (p *pki) issueTLS(s crypto.Signer, hosts []string, now time.Time) (*x509.Certificate, error) {
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

// ServeHTTP serves the PKI endpoints certificates point to: /ca/NAME.crt,
// /crl/NAME.crl, the OCSP responder (RFC 6960) at /ocsp and the TSA at
// /tsa.
func (p *pki) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == "/ocsp" || strings.HasPrefix(path, "/ocsp/"):
		http.StripPrefix("/ocsp", p.ocsp).ServeHTTP(w, r)
	case strings.HasPrefix(path, "/crl/"):
		http.StripPrefix("/crl", p.crls).ServeHTTP(w, r)
	case strings.HasPrefix(path, "/ca/") && strings.HasSuffix(path, ".crt"):
		name := strings.TrimSuffix(strings.TrimPrefix(path, "/ca/"), ".crt")
		c := p.cert("ca/" + name)
		if !ca.ValidName(name) || c == nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-cert")
		_, _ = w.Write(c.Raw)
	case path == "/tsa":
		p.mu.RLock()
		t := p.tsa
		p.mu.RUnlock()
		t.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

// sealOrTLSKey checks the key backend by loading the TLS role's key.
func (p *pki) sealOrTLSKey(ctx context.Context) (crypto.Signer, error) {
	s, _, _, err := p.signer(ctx, role{name: "tls", purpose: keys.PurposeTLS, alg: keys.ECDSAP256})
	return s, err
}

// SealKey returns tenant's seal key and its reference.
func (p *pki) SealKey(ctx context.Context, tenant string) (crypto.Signer, ca.KeyRef, error) {
	s, ref, _, err := p.signer(ctx, role{name: "seal/" + tenant, tenant: tenant, purpose: keys.PurposePlatformSeal, alg: keys.ECDSAP256})
	return s, ref, err
}
