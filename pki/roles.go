// Package pki runs the roles of Signet's internal PKI: the root CA,
// the platform and per-tenant issuing CAs, a delegated OCSP responder per
// issuing CA and the time-stamp authority. For each role it loads or
// creates the key (in the key manager, through a [Store]) and keeps a
// current certificate for it, renewed at start and by a [ca.Renewer], and
// it serves what relying parties fetch: CA certificates, CRLs, OCSP and
// RFC 3161 time-stamps.
//
// `signet serve` keeps its roles in the service database and
// `signet pki serve` in files of its data directory; both run this code.
package pki

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/pki/ca"
	"github.com/signet-pki/signet/pki/crl"
	"github.com/signet-pki/signet/pki/ocsp"
	"github.com/signet-pki/signet/tsa"
)

// TSAPolicy is the policy OID of Signet's time-stamp tokens.
var TSAPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 1, 2}

// tsaRenewBefore is how long before its expiry the TSA certificate is
// renewed at start.
const tsaRenewBefore = 30 * 24 * time.Hour

// A Role is a key the PKI uses, by name ("ca/NAME", "ocsp/NAME", "tsa",
// or a caller's own such as "tls"), with the purpose and algorithm of a
// key created for it.
type Role struct {
	Name, Tenant string
	Purpose      keys.Purpose
	Algorithm    keys.Algorithm
	// Anonymous roles sign for anyone who asks over the PKI listener
	// (the TSA, the OCSP responders): their keys record uses in blocks
	// (see [Role.SignerOptions]).
	Anonymous bool
}

// UseRecordInterval is the longest time one key.used event of an
// anonymous role's key covers ([keys.AggregateUses]).
const UseRecordInterval = time.Minute

// SignerOptions are the options a [Store] passes to [keys.Manager.Signer]
// for r's key: an anonymous role's uses are recorded in blocks of at
// most [UseRecordInterval], so that a flood of anonymous requests adds
// audit events per minute, not per request.
func (r Role) SignerOptions() []keys.SignerOption {
	if r.Anonymous {
		return []keys.SignerOption{keys.AggregateUses(UseRecordInterval)}
	}
	return nil
}

// The PKI's roles.
var (
	RootRole = Role{Name: "ca/" + ca.RootName, Purpose: keys.PurposeRootCA, Algorithm: keys.ECDSAP384}
	TSARole  = Role{Name: "tsa", Purpose: keys.PurposeTimestamping, Algorithm: keys.ECDSAP256, Anonymous: true}
)

// IssuingRole is the role of issuing CA name of tenant ("" for the
// platform CA).
func IssuingRole(name, tenant string) Role {
	return Role{Name: "ca/" + name, Tenant: tenant, Purpose: keys.PurposeIssuingCA, Algorithm: keys.ECDSAP256}
}

// OCSPRole is the role of issuing CA name's delegated OCSP responder: a
// key of its own, so that the CA key is not used on every query, of
// purpose issuing-ca (it signs on the CA's behalf).
func OCSPRole(name, tenant string) Role {
	return Role{Name: "ocsp/" + name, Tenant: tenant, Purpose: keys.PurposeIssuingCA, Algorithm: keys.ECDSAP256, Anonymous: true}
}

// A Store keeps which key serves each role and the role's current
// certificate.
type Store interface {
	// Key returns the active version of the role's key, creating the key
	// on first use. A signer from a [keys.Manager] MUST be asked for with
	// the role's [Role.SignerOptions].
	Key(ctx context.Context, r Role) (crypto.Signer, ca.KeyRef, error)
	// Certificate returns the role's stored certificate, or nil if it has
	// none.
	Certificate(ctx context.Context, role string) (*x509.Certificate, error)
	// SetCertificate stores the role's current certificate.
	SetCertificate(ctx context.Context, role string, c *x509.Certificate) error
}

// Config configures a [PKI].
type Config struct {
	Store     Store
	Authority *ca.Authority
	CRLs      *crl.Publisher
	OCSP      *ocsp.Responder
	Renewer   *ca.Renewer
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// PKI runs the roles. Its methods are safe for concurrent use.
type PKI struct {
	cfg Config

	mu    sync.RWMutex
	certs map[string]*x509.Certificate // by role name
	tsa   *tsa.Server
}

// New returns a PKI over cfg; [PKI.SetUp] loads or creates its roles.
func New(cfg Config) (*PKI, error) {
	if cfg.Store == nil || cfg.Authority == nil || cfg.CRLs == nil || cfg.OCSP == nil || cfg.Renewer == nil {
		return nil, errors.New("pki: incomplete configuration")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &PKI{cfg: cfg, certs: map[string]*x509.Certificate{}}, nil
}

// SetUp loads or creates the root, the platform issuing CA, the issuing
// CAs of tenants with their OCSP responders, and the TSA, renewing what is
// due, and puts them under renewal.
func (p *PKI) SetUp(ctx context.Context, tenants []string) error {
	if err := p.root(ctx); err != nil {
		return err
	}
	if err := p.Issuing(ctx, ca.PlatformName, ""); err != nil {
		return err
	}
	for _, t := range tenants {
		if err := p.Issuing(ctx, t, t); err != nil {
			return err
		}
	}
	return p.setUpTSA(ctx)
}

// Cert returns role's current certificate, or nil.
func (p *PKI) Cert(role string) *x509.Certificate {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.certs[role]
}

// SetCert stores c as role's current certificate and puts it in use.
func (p *PKI) SetCert(ctx context.Context, role string, c *x509.Certificate) error {
	if err := p.cfg.Store.SetCertificate(ctx, role, c); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.certs[role] = c
	return nil
}

// TSA returns the built-in time-stamp authority.
func (p *PKI) TSA() *tsa.Server {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.tsa
}

// current returns role's certificate if it is still for the active
// version of the role's key (a rotated key needs a new certificate), for
// the renewer.
func (p *PKI) current(r Role) func() *x509.Certificate {
	return func() *x509.Certificate {
		c := p.Cert(r.Name)
		if c == nil {
			return nil
		}
		s, _, err := p.cfg.Store.Key(context.Background(), r)
		if err != nil || !certifies(c, s) {
			return nil
		}
		return c
	}
}

// certifies reports whether c is for signer's public key.
func certifies(c *x509.Certificate, signer crypto.Signer) bool {
	k, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(signer.Public())
}

func (p *PKI) root(ctx context.Context) error {
	s, ref, err := p.cfg.Store.Key(ctx, RootRole)
	if err != nil {
		return err
	}
	c, err := p.cfg.Store.Certificate(ctx, RootRole.Name)
	if err != nil {
		return err
	}
	if c == nil {
		iss, err := p.cfg.Authority.NewRoot(ctx, s, ref, 0)
		if err != nil {
			return fmt.Errorf("pki: root CA: %w", err)
		}
		c = iss.Certificate
	} else if err := p.cfg.Authority.Register(&ca.Issuer{Name: ca.RootName, Certificate: c, Signer: s}); err != nil {
		return err
	}
	if err := p.SetCert(ctx, RootRole.Name, c); err != nil {
		return err
	}
	return p.cfg.CRLs.SetIssuer(ca.RootName, c, s)
}

// Issuing loads or creates the issuing CA name of tenant and its OCSP
// responder. A missing certificate, one past two thirds of its life or one
// for a rotated key is issued anew from the root for the key's active
// version; both go under renewal.
func (p *PKI) Issuing(ctx context.Context, name, tenant string) error {
	r := IssuingRole(name, tenant)
	renew := func(ctx context.Context) error {
		s, ref, err := p.cfg.Store.Key(ctx, r)
		if err != nil {
			return err
		}
		iss, err := p.cfg.Authority.NewIssuing(ctx, ca.IssuingRequest{Name: name, Tenant: tenant, Signer: s, Key: ref})
		if err != nil {
			return fmt.Errorf("pki: issuing CA %s: %w", name, err)
		}
		if err := p.SetCert(ctx, r.Name, iss.Certificate); err != nil {
			return err
		}
		return p.cfg.CRLs.SetIssuer(name, iss.Certificate, s)
	}
	s, _, err := p.cfg.Store.Key(ctx, r)
	if err != nil {
		return err
	}
	c, err := p.cfg.Store.Certificate(ctx, r.Name)
	if err != nil {
		return err
	}
	if c == nil || !certifies(c, s) || p.cfg.Renewer.Due(c, p.cfg.Now()) {
		err = renew(ctx)
	} else if err = p.cfg.Authority.Register(&ca.Issuer{Name: name, Tenant: tenant, Certificate: c, Signer: s}); err == nil {
		if err = p.SetCert(ctx, r.Name, c); err == nil {
			err = p.cfg.CRLs.SetIssuer(name, c, s)
		}
	}
	if err != nil {
		return err
	}
	p.cfg.Renewer.Add(ca.Renewable{Name: r.Name, Current: p.current(r), Renew: renew})
	return p.setUpOCSP(ctx, name, tenant)
}

// setUpOCSP gives issuing CA name its delegated responder (id-kp-
// OCSPSigning, ocsp-nocheck), renewed with the CA's certificate.
func (p *PKI) setUpOCSP(ctx context.Context, name, tenant string) error {
	r := OCSPRole(name, tenant)
	install := func(s crypto.Signer, c *x509.Certificate) error {
		if err := p.SetCert(ctx, r.Name, c); err != nil {
			return err
		}
		return p.cfg.OCSP.SetSigner(ocsp.Signer{CAName: name, CA: p.Cert("ca/" + name), Certificate: c, Key: s})
	}
	renew := func(ctx context.Context) error {
		s, ref, err := p.cfg.Store.Key(ctx, r)
		if err != nil {
			return err
		}
		c, err := p.cfg.Authority.IssueOCSPResponder(ctx, name, s.Public(), ref, 0)
		if err != nil {
			return fmt.Errorf("pki: OCSP responder of %s: %w", name, err)
		}
		return install(s, c)
	}
	s, _, err := p.cfg.Store.Key(ctx, r)
	if err != nil {
		return err
	}
	c, err := p.cfg.Store.Certificate(ctx, r.Name)
	if err != nil {
		return err
	}
	if c == nil || !certifies(c, s) || c.CheckSignatureFrom(p.Cert("ca/"+name)) != nil || p.cfg.Renewer.Due(c, p.cfg.Now()) {
		err = renew(ctx)
	} else {
		err = install(s, c)
	}
	if err != nil {
		return err
	}
	p.cfg.Renewer.Add(ca.Renewable{Name: r.Name, Current: p.current(r), Renew: renew})
	return nil
}

// setUpTSA loads or creates the TSA's certificate (from the platform CA),
// renewed when missing, for another key, or within 30 days of expiry.
func (p *PKI) setUpTSA(ctx context.Context) error {
	install := func(s crypto.Signer, c *x509.Certificate) error {
		if err := p.SetCert(ctx, TSARole.Name, c); err != nil {
			return err
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		p.tsa = &tsa.Server{
			Signer: s, Certificate: c, Chain: []*x509.Certificate{p.certs["ca/"+ca.PlatformName]},
			Policy: TSAPolicy, Hash: crypto.SHA256, Now: p.cfg.Now,
		}
		return nil
	}
	renew := func(ctx context.Context) error {
		s, ref, err := p.cfg.Store.Key(ctx, TSARole)
		if err != nil {
			return err
		}
		c, err := p.cfg.Authority.IssueTSA(ctx, ca.PlatformName, s.Public(), ref, 0)
		if err != nil {
			return fmt.Errorf("pki: TSA certificate: %w", err)
		}
		return install(s, c)
	}
	s, _, err := p.cfg.Store.Key(ctx, TSARole)
	if err != nil {
		return err
	}
	c, err := p.cfg.Store.Certificate(ctx, TSARole.Name)
	if err != nil {
		return err
	}
	if c == nil || !certifies(c, s) || c.NotAfter.Before(p.cfg.Now().Add(tsaRenewBefore)) {
		err = renew(ctx)
	} else {
		err = install(s, c)
	}
	if err != nil {
		return err
	}
	p.cfg.Renewer.Add(ca.Renewable{Name: TSARole.Name, Current: p.current(TSARole), Renew: renew})
	return nil
}

// ServeHTTP serves the endpoints certificates point to: the OCSP
// responder (RFC 6960) at /ocsp, CRLs at /crl/NAME.crl, CA certificates at
// /ca/NAME.crt and the TSA (RFC 3161) at /tsa. /ocsp is matched by prefix
// before any path cleaning, since a GET request's base64 may contain "//".
func (p *PKI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == "/ocsp" || strings.HasPrefix(path, "/ocsp/"):
		http.StripPrefix("/ocsp", p.cfg.OCSP).ServeHTTP(w, r)
	case strings.HasPrefix(path, "/crl/"):
		http.StripPrefix("/crl", p.cfg.CRLs).ServeHTTP(w, r)
	case strings.HasPrefix(path, "/ca/") && strings.HasSuffix(path, ".crt"):
		name := strings.TrimSuffix(strings.TrimPrefix(path, "/ca/"), ".crt")
		c := p.Cert("ca/" + name)
		if !ca.ValidName(name) || c == nil {
			http.NotFound(w, r)
			return
		}
		// RFC 5280 §4.2.2.1: a single DER certificate,
		// application/pkix-cert.
		w.Header().Set("Content-Type", "application/pkix-cert")
		_, _ = w.Write(c.Raw)
	case path == "/tsa":
		p.TSA().ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}
