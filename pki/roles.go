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
//
// # Several processes, one store
//
// The nodes of a cluster share one [Store] (and one CA record store and
// key manager); each runs its own PKI, which keeps the roles' keys and
// certificates in memory. They stay in agreement through the store:
//
//   - A role's key is created once (see [Store]); the root and each CA are
//     issued only when the store has no usable certificate for them, and
//     [Store.SetCertificate] is a compare-and-swap, so that of two
//     processes issuing the same certificate at once one wins and the
//     other puts the winner in use and revokes its own (as superseded).
//   - A renewal first reads the store and adopts a certificate another
//     process renewed instead of issuing a second one.
//   - [PKI.Refresh], run periodically, adopts what other processes renewed
//     and loads the CAs of tenants they created; a lookup of an unknown
//     issuing CA by name (a signer certificate for such a tenant, its CA
//     certificate or CRL) loads it at once. Neither creates anything.
//
// The root and each role's first key are best created under a
// cluster-wide start-up lock around [PKI.SetUp]; without one, the rules
// above still leave one key and one certificate per role in use.
package pki

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"maps"
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

// ArchiveTSAPath is the archive TSA's path on the PKI listener.
const ArchiveTSAPath = "/tsa/archive"

// TSAPolicy is the policy OID of Signet's time-stamp tokens.
var TSAPolicy = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 1, 2}

// tsaRenewBefore is how long before its expiry the TSA certificate is
// renewed at start.
const tsaRenewBefore = 30 * 24 * time.Hour

// ArchiveTSAKeepFor is the certificate life the archive TSA keeps ahead
// of every token it signs: its certificate is renewed (at start and by the
// renewer) once less than this remains, so that a document or bundle
// time-stamped by it on any day verifies for at least this long before
// it needs an archive renewal. With [ca.DefaultArchiveTSAValidity] (15
// years) each certificate is used for its first five years. A certificate
// the root's own expiry cuts short is not renewed for this reason (a
// successor could not last longer); the root's renewal is its own matter.
const ArchiveTSAKeepFor = 10 * 365 * 24 * time.Hour

// A Role is a key the PKI uses, by name ("ca/NAME", "ocsp/NAME", "tsa",
// "tsa-archive", or a caller's own such as "tls"), with the purpose and algorithm of a
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
	// ArchiveTSARole is the archive time-stamp authority's: a key of its
	// own (one purpose per key), certified by the root for
	// [ca.DefaultArchiveTSAValidity], that signs the document time-stamps
	// of sealed documents and archive renewals and the time-stamps of
	// evidence manifests, at /tsa/archive. P-384, like the root: its
	// signatures must hold for as long.
	ArchiveTSARole = Role{Name: "tsa-archive", Purpose: keys.PurposeTimestamping, Algorithm: keys.ECDSAP384, Anonymous: true}
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

// ErrCertificateChanged means that [Store.SetCertificate] found another
// certificate stored for the role than the one the caller replaces: another
// process stored it first.
var ErrCertificateChanged = errors.New("pki: the role's certificate changed")

// A Store keeps which key serves each role and the role's current
// certificate. Several processes may share one store (the nodes of a
// cluster over one database): its methods MUST be safe for concurrent use
// within a process and across processes, read what any process committed
// before they were called (no copy kept in memory), and follow these rules.
//
//   - A role's key is created once. When callers race to create it, in one
//     process or several, the first key recorded for the role wins: every
//     caller returns that key, and a caller whose new key lost discards it
//     (it never signed) before returning the winner. A role's recorded key
//     is never replaced. [CreateRoleKey] does this around the store's
//     claim; in SQL, INSERT … ON CONFLICT (role) DO NOTHING, then a read of
//     the row.
//   - [Store.SetCertificate] is a compare-and-swap on the role's
//     certificate, atomic across processes: of two processes that read the
//     same certificate and each store a successor, exactly one succeeds and
//     the other gets [ErrCertificateChanged]. In SQL: UPDATE … SET cert = new
//     WHERE role = $role AND cert IS NOT DISTINCT FROM $old, with a NULL
//     $old for none and a read of the row when no row changed.
type Store interface {
	// Key returns the active version of the role's key, creating the key
	// on first use, once (see above). A signer from a [keys.Manager] MUST
	// be asked for with the role's [Role.SignerOptions].
	Key(ctx context.Context, r Role) (crypto.Signer, ca.KeyRef, error)
	// Certificate returns the role's stored certificate, or nil if it has
	// none.
	Certificate(ctx context.Context, role string) (*x509.Certificate, error)
	// SetCertificate stores c as the role's certificate if the stored one
	// is still old (byte for byte; nil: none). Otherwise it changes
	// nothing and returns [ErrCertificateChanged]. Setting the certificate
	// of a role that has no key yet is an error.
	SetCertificate(ctx context.Context, role string, old, c *x509.Certificate) error
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

	// op serializes what puts certificates in use (set-up, renewal,
	// adoption, loading), so that each check of the store and the change
	// it leads to happen as one step. Held, it is marked in the context
	// (opHeld) so that the authority's unknown-issuer hook does not wait
	// for it.
	op sync.Mutex

	mu      sync.RWMutex
	certs   map[string]*x509.Certificate // by role name
	signers map[string]crypto.Signer     // the keys of certs, for the PKI's own roles
	cas     map[string]string            // issuing CAs in use: name → tenant
	tsa     *tsa.Server
	archive *tsa.Server
}

// New returns a PKI over cfg; [PKI.SetUp] loads or creates its roles. It
// sets the authority's unknown-issuer hook ([ca.Authority.OnUnknownIssuer])
// to load an issuing CA that another process created (see
// [PKI.Refresh]).
func New(cfg Config) (*PKI, error) {
	if cfg.Store == nil || cfg.Authority == nil || cfg.CRLs == nil || cfg.OCSP == nil || cfg.Renewer == nil {
		return nil, errors.New("pki: incomplete configuration")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &PKI{cfg: cfg, certs: map[string]*x509.Certificate{}, signers: map[string]crypto.Signer{}, cas: map[string]string{}}
	cfg.Authority.OnUnknownIssuer(p.loadIssuer)
	return p, nil
}

// SetUp loads or creates the root, the platform issuing CA, the issuing
// CAs of tenants with their OCSP responders, the TSA and the archive TSA,
// renewing what is
// due, and puts them under renewal. What another process sharing the
// store created is loaded, not created again.
func (p *PKI) SetUp(ctx context.Context, tenants []string) error {
	if err := p.ensure(ctx, rootSlot()); err != nil {
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
	for _, sl := range []slot{tsaSlot(), archiveTSASlot()} {
		if err := p.ensure(ctx, sl); err != nil {
			return err
		}
		p.watch(sl)
	}
	return nil
}

// Cert returns role's current certificate, or nil.
func (p *PKI) Cert(role string) *x509.Certificate {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.certs[role]
}

// maxSetAttempts bounds [PKI.SetCert]'s compare-and-swap attempts.
const maxSetAttempts = 5

// SetCert stores c as the current certificate of role, a role of the
// caller's own (such as "tls"), in place of whatever is stored, and
// returns it from [PKI.Cert].
func (p *PKI) SetCert(ctx context.Context, role string, c *x509.Certificate) error {
	var err error
	for range maxSetAttempts {
		var old *x509.Certificate
		if old, err = p.cfg.Store.Certificate(ctx, role); err != nil {
			return err
		}
		if err = p.cfg.Store.SetCertificate(ctx, role, old, c); !errors.Is(err, ErrCertificateChanged) {
			break
		}
	}
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.certs[role] = c
	return nil
}

// TSA returns the built-in time-stamp authority of signature time-stamps.
func (p *PKI) TSA() *tsa.Server {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.tsa
}

// ArchiveTSA returns the built-in archive time-stamp authority: document
// time-stamps (B-LTA, archive renewal) and evidence manifests, under a
// certificate from the root that outlives the TSA's (see
// [ArchiveTSARole]).
func (p *PKI) ArchiveTSA() *tsa.Server {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.archive
}

// certifies reports whether c is for signer's public key.
func certifies(c *x509.Certificate, signer crypto.Signer) bool {
	k, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(signer.Public())
}

// Issuing loads or creates the issuing CA name of tenant and its OCSP
// responder. A missing certificate, one past two thirds of its life, one
// for a rotated key or one not issued by the CA above it in use is issued
// anew for the key's active version, unless another process stored a
// fresh one first; both go under renewal.
func (p *PKI) Issuing(ctx context.Context, name, tenant string) error {
	if !ca.ValidName(name) || name == ca.RootName {
		return fmt.Errorf("pki: issuing CA name %q", name)
	}
	for _, sl := range []slot{issuingSlot(name, tenant), ocspSlot(name, tenant)} {
		if err := p.ensure(ctx, sl); err != nil {
			return err
		}
		p.watch(sl)
	}
	return nil
}

// ServeHTTP serves the endpoints certificates point to: the OCSP
// responder (RFC 6960) at /ocsp, CRLs at /crl/NAME.crl, CA certificates at
// /ca/NAME.crt, the TSA (RFC 3161) at /tsa and the archive TSA at
// /tsa/archive. /ocsp is matched by prefix
// before any path cleaning, since a GET request's base64 may contain "//".
// A CRL or certificate of an issuing CA that another process created is
// loaded from the store on first request.
func (p *PKI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case path == "/ocsp" || strings.HasPrefix(path, "/ocsp/"):
		http.StripPrefix("/ocsp", p.cfg.OCSP).ServeHTTP(w, r)
	case strings.HasPrefix(path, "/crl/"):
		if name, ok := strings.CutSuffix(strings.TrimPrefix(path, "/crl/"), ".crl"); ok && !p.known(w, r, name) {
			return
		}
		http.StripPrefix("/crl", p.cfg.CRLs).ServeHTTP(w, r)
	case strings.HasPrefix(path, "/ca/") && strings.HasSuffix(path, ".crt"):
		name := strings.TrimSuffix(strings.TrimPrefix(path, "/ca/"), ".crt")
		if !p.known(w, r, name) {
			return
		}
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
	case path == ArchiveTSAPath:
		p.ArchiveTSA().ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

// known loads CA name from the store if it is not in use yet and another
// process created it, and reports whether to go on; if the store fails it
// answers 503 itself.
func (p *PKI) known(w http.ResponseWriter, r *http.Request, name string) bool {
	if !ca.ValidName(name) || p.Cert("ca/"+name) != nil {
		return true
	}
	if err := p.loadIssuer(r.Context(), name); err != nil {
		http.Error(w, "pki: certificate store unavailable", http.StatusServiceUnavailable)
		return false
	}
	return true
}

// issuingCAs returns the issuing CAs in use, name → tenant.
func (p *PKI) issuingCAs() map[string]string {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return maps.Clone(p.cas)
}
