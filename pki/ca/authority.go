package ca

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sync"
	"time"

	"github.com/signet-pki/signet/auditlog"
)

// Errors callers branch on.
var (
	// ErrAudit means the audit log refused an event; the action it
	// recorded did not happen.
	ErrAudit = errors.New("ca: audit log failed")
	// ErrUnknownIssuer means no CA of that name is registered.
	ErrUnknownIssuer = errors.New("ca: unknown issuing CA")
	// ErrInvalidRequest means an issuance request is malformed (bad name,
	// identity or validity).
	ErrInvalidRequest = errors.New("ca: invalid request")
)

// Default validity periods.
const (
	DefaultRootValidity      = 20 * 365 * 24 * time.Hour
	DefaultIssuingValidity   = 5 * 365 * 24 * time.Hour
	DefaultEphemeralValidity = 10 * time.Minute
	DefaultSignerValidity    = 365 * 24 * time.Hour
	DefaultTSAValidity       = 2 * 365 * 24 * time.Hour
	// DefaultArchiveTSAValidity is the lifetime of the archive TSA's
	// certificate ([Authority.IssueArchiveTSA]): long enough that a
	// document time-stamped near the end of the certificate's use still
	// verifies ten years later (see pki's archive TSA renewal).
	DefaultArchiveTSAValidity = 15 * 365 * 24 * time.Hour
	DefaultOCSPValidity       = 30 * 24 * time.Hour
	// DefaultBackdate is how far before issuance NotBefore is set, to
	// tolerate relying parties whose clocks run behind.
	DefaultBackdate = time.Minute
)

// Config configures an [Authority].
type Config struct {
	// Store keeps the certificate records. Required.
	Store Store
	// Recorder receives certificate.issued and certificate.revoked
	// events. Required.
	Recorder Recorder
	// BaseURL is the URL under which the OCSP responder, CRLs and CA
	// certificates are served, e.g. "http://127.0.0.1:8080". Required.
	BaseURL string
	// Keys generates the per-signing-event keys of
	// [Authority.IssueEphemeral]; nil disables ephemeral issuance.
	Keys KeyGenerator
	// EphemeralValidity is the lifetime of ephemeral signer certificates;
	// zero means [DefaultEphemeralValidity].
	EphemeralValidity time.Duration
	// SignerValidity is the lifetime of certificates for long-lived signer
	// keys; zero means [DefaultSignerValidity].
	SignerValidity time.Duration
	// Backdate is subtracted from the issuance time to get NotBefore; zero
	// means [DefaultBackdate], negative means none.
	Backdate time.Duration
	// Actor is the actor recorded in audit events; the zero value means
	// the system actor "ca".
	Actor auditlog.Actor
	// OnRevoke, if set, is called after each revocation is stored, e.g. to
	// regenerate the issuer's CRL at once.
	OnRevoke func(ctx context.Context, r Record)
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the source of serial numbers and signature randomness; nil
	// means crypto/rand.Reader.
	Rand io.Reader
}

// Validate reports whether the configuration is usable.
func (c *Config) Validate() error {
	if c.Store == nil {
		return errors.New("ca: config: no store")
	}
	if c.Recorder == nil {
		return errors.New("ca: config: no audit recorder")
	}
	if _, err := NewURLs(c.BaseURL); err != nil {
		return fmt.Errorf("ca: config: %w", err)
	}
	if c.EphemeralValidity < 0 || c.SignerValidity < 0 {
		return errors.New("ca: config: negative validity")
	}
	return nil
}

// An Issuer is a CA that signs: its name, certificate and key.
type Issuer struct {
	// Name identifies the CA in URLs and records: [RootName], or the
	// tenant (or [PlatformName]) for issuing CAs.
	Name string
	// Tenant owns the CA; "" for the root and the platform CA.
	Tenant string
	// Certificate is the CA certificate; Signer its key.
	Certificate *x509.Certificate
	Signer      crypto.Signer
}

// An Authority issues and revokes certificates for a set of registered
// issuers. It is safe for concurrent use.
type Authority struct {
	cfg  Config
	urls URLs

	mu      sync.RWMutex
	issuers map[string]*Issuer
	load    func(ctx context.Context, name string) error
}

// New returns an Authority with no registered issuers.
func New(cfg Config) (*Authority, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	urls, _ := NewURLs(cfg.BaseURL)
	if cfg.EphemeralValidity == 0 {
		cfg.EphemeralValidity = DefaultEphemeralValidity
	}
	if cfg.SignerValidity == 0 {
		cfg.SignerValidity = DefaultSignerValidity
	}
	if cfg.Backdate == 0 {
		cfg.Backdate = DefaultBackdate
	} else if cfg.Backdate < 0 {
		cfg.Backdate = 0
	}
	if cfg.Actor.Kind == "" {
		cfg.Actor = auditlog.Actor{Kind: auditlog.ActorSystem, ID: "ca"}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	return &Authority{cfg: cfg, urls: urls, issuers: map[string]*Issuer{}}, nil
}

// URLs returns the URL builder for the configured base URL.
func (a *Authority) URLs() URLs { return a.urls }

// Register makes iss available to issue certificates under its name,
// replacing any issuer of that name (after a renewal). It checks that the
// certificate is a CA certificate for the signer's key.
func (a *Authority) Register(iss *Issuer) error {
	if iss == nil || iss.Certificate == nil || iss.Signer == nil || !ValidName(iss.Name) {
		return fmt.Errorf("%w: incomplete issuer", ErrInvalidRequest)
	}
	if !iss.Certificate.IsCA {
		return fmt.Errorf("%w: %s: not a CA certificate", ErrInvalidRequest, iss.Name)
	}
	if !samePublicKey(iss.Certificate.PublicKey, iss.Signer.Public()) {
		return fmt.Errorf("%w: %s: certificate is not for the signer's key", ErrInvalidRequest, iss.Name)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.issuers[iss.Name] = iss
	return nil
}

// OnUnknownIssuer sets the function the authority calls when an
// operation names an issuer that is not registered, before it answers
// [ErrUnknownIssuer]: load may register the issuer (with
// [Authority.Register]), e.g. one that another process sharing the
// stores created, and return nil; the authority then looks again. load
// must not create a CA, and is called without the authority's lock held.
func (a *Authority) OnUnknownIssuer(load func(ctx context.Context, name string) error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.load = load
}

// issuerLoadTimeout bounds the [Authority.OnUnknownIssuer] call of
// [Authority.Issuer], which has no context of its own.
const issuerLoadTimeout = 10 * time.Second

// Issuer returns the registered issuer name, loading it first through
// the [Authority.OnUnknownIssuer] function if it is not registered, or
// [ErrUnknownIssuer].
func (a *Authority) Issuer(name string) (*Issuer, error) {
	ctx, cancel := context.WithTimeout(context.Background(), issuerLoadTimeout)
	defer cancel()
	return a.issuer(ctx, name)
}

// issuer is [Authority.Issuer] within ctx.
func (a *Authority) issuer(ctx context.Context, name string) (*Issuer, error) {
	a.mu.RLock()
	iss, ok := a.issuers[name]
	load := a.load
	a.mu.RUnlock()
	if ok {
		return iss, nil
	}
	if load != nil && ValidName(name) {
		if err := load(ctx, name); err != nil {
			return nil, fmt.Errorf("ca: load issuing CA %q: %w", name, err)
		}
		a.mu.RLock()
		iss, ok = a.issuers[name]
		a.mu.RUnlock()
		if ok {
			return iss, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownIssuer, name)
}

func samePublicKey(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// serial returns a random positive 128-bit serial (RFC 5280 §4.1.2.2 allows
// up to 20 octets; random serials also defeat chosen-prefix attacks).
func (a *Authority) serial() (*big.Int, error) {
	max := new(big.Int).Lsh(big.NewInt(1), 127)
	n, err := rand.Int(a.cfg.Rand, max)
	if err != nil {
		return nil, fmt.Errorf("ca: serial number: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

// validity returns NotBefore and NotAfter for a certificate of lifetime d
// under parent (nil for a self-signed one), never beyond the parent.
func (a *Authority) validity(d time.Duration, parent *x509.Certificate) (time.Time, time.Time) {
	now := a.cfg.Now().UTC().Truncate(time.Second)
	nb, na := now.Add(-a.cfg.Backdate), now.Add(d)
	if parent != nil {
		if nb.Before(parent.NotBefore) {
			nb = parent.NotBefore
		}
		if na.After(parent.NotAfter) {
			na = parent.NotAfter
		}
	}
	return nb, na
}

// issue signs tmpl for pub with iss (nil for self-signed with self), records
// the certificate.issued event and stores the record, in that order: an
// audit failure leaves nothing stored and nothing returned.
func (a *Authority) issue(ctx context.Context, tmpl *x509.Certificate, iss *Issuer, self crypto.Signer, pub crypto.PublicKey, kind Kind, tenant string, key KeyRef) (*x509.Certificate, error) {
	serial, err := a.serial()
	if err != nil {
		return nil, err
	}
	tmpl.SerialNumber = serial
	parent, signer, issuerName := tmpl, self, RootName
	if iss != nil {
		parent, signer, issuerName = iss.Certificate, iss.Signer, iss.Name
	}
	der, err := x509.CreateCertificate(a.cfg.Rand, tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("ca: sign %s certificate: %w", kind, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("ca: parse issued certificate: %w", err)
	}
	r := Record{
		Serial:    serial,
		Issuer:    issuerName,
		Kind:      kind,
		Key:       key,
		Subject:   cert.Subject.String(),
		NotBefore: cert.NotBefore,
		NotAfter:  cert.NotAfter,
		Status:    StatusGood,
		DER:       der,
	}
	if err := a.record(ctx, auditlog.CertificateIssued, tenant, &r, map[string]string{
		"not_after": cert.NotAfter.UTC().Format(time.RFC3339),
	}); err != nil {
		return nil, err
	}
	if err := a.cfg.Store.Insert(ctx, r); err != nil {
		return nil, fmt.Errorf("ca: store issued certificate: %w", err)
	}
	return cert, nil
}
