package pki

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/signet-pki/signet/pki/ca"
	"github.com/signet-pki/signet/pki/ocsp"
	"github.com/signet-pki/signet/tsa"
)

// A slot is one role of the PKI's own, with what its certificate is: the
// root, an issuing CA, a CA's OCSP responder, the TSA or the archive TSA.
type slot struct {
	role Role
	kind ca.Kind
	ca   string // the CA's name (issuing CAs and OCSP responders)
	// archive marks the archive TSA (kind TSA, certified by the root).
	archive bool
}

func rootSlot() slot { return slot{role: RootRole, kind: ca.KindRoot, ca: ca.RootName} }
func tsaSlot() slot  { return slot{role: TSARole, kind: ca.KindTSA} }
func archiveTSASlot() slot {
	return slot{role: ArchiveTSARole, kind: ca.KindTSA, archive: true}
}

func issuingSlot(name, tenant string) slot {
	return slot{role: IssuingRole(name, tenant), kind: ca.KindIssuing, ca: name}
}

func ocspSlot(name, tenant string) slot {
	return slot{role: OCSPRole(name, tenant), kind: ca.KindOCSP, ca: name}
}

// opHeld marks a context whose goroutine holds PKI.op.
type opHeld struct{}

// lock takes p.op and returns ctx marked as holding it.
func (p *PKI) lock(ctx context.Context) (context.Context, func()) {
	p.op.Lock()
	return context.WithValue(ctx, opHeld{}, true), p.op.Unlock
}

// parent returns the certificate in use that must have issued sl's: nil
// for the root.
func (p *PKI) parent(sl slot) *x509.Certificate {
	switch {
	case sl.kind == ca.KindRoot:
		return nil
	case sl.kind == ca.KindIssuing, sl.archive:
		return p.Cert(RootRole.Name)
	case sl.kind == ca.KindOCSP:
		return p.Cert("ca/" + sl.ca)
	default:
		return p.Cert("ca/" + ca.PlatformName)
	}
}

// usable reports whether c may be sl's certificate with key s: it
// certifies s and, below the root, is unexpired and issued by the CA in
// use above it.
func (p *PKI) usable(sl slot, s crypto.Signer, c *x509.Certificate) bool {
	if c == nil || !certifies(c, s) {
		return false
	}
	if sl.kind == ca.KindRoot {
		return c.IsCA
	}
	if sl.kind == ca.KindIssuing && !c.IsCA {
		return false
	}
	par := p.parent(sl)
	return p.cfg.Now().Before(c.NotAfter) && par != nil && c.CheckSignatureFrom(par) == nil
}

// dueAtStart reports whether set-up renews c: never the root; the archive
// TSA as [PKI.archiveDue] says; the TSA within [tsaRenewBefore] of its
// expiry; the others as the renewer would.
func (p *PKI) dueAtStart(sl slot, c *x509.Certificate) bool {
	switch {
	case sl.kind == ca.KindRoot:
		return false
	case sl.archive:
		return p.archiveDue(c)
	case sl.kind == ca.KindTSA:
		return c.NotAfter.Before(p.cfg.Now().Add(tsaRenewBefore))
	default:
		return p.cfg.Renewer.Due(c, p.cfg.Now())
	}
}

// archiveDue reports whether the archive TSA's certificate c has less than
// [ArchiveTSAKeepFor] left and a successor would last longer, that is, c
// ends before the root does.
func (p *PKI) archiveDue(c *x509.Certificate) bool {
	root := p.Cert(RootRole.Name)
	return c.NotAfter.Before(p.cfg.Now().Add(ArchiveTSAKeepFor)) && root != nil && c.NotAfter.Before(root.NotAfter)
}

// due reports whether the renewer renews sl's certificate c.
func (p *PKI) due(sl slot, c *x509.Certificate) bool {
	if sl.archive {
		return p.archiveDue(c)
	}
	return p.cfg.Renewer.Due(c, p.cfg.Now())
}

// issue has the authority issue sl's certificate for s.
func (p *PKI) issue(ctx context.Context, sl slot, s crypto.Signer, ref ca.KeyRef) (*x509.Certificate, error) {
	var c *x509.Certificate
	var err error
	switch sl.kind {
	case ca.KindRoot:
		c, err = p.cfg.Authority.IssueRoot(ctx, s, ref, 0)
	case ca.KindIssuing:
		c, err = p.cfg.Authority.IssueIssuing(ctx, ca.IssuingRequest{Name: sl.ca, Tenant: sl.role.Tenant, Signer: s, Key: ref})
	case ca.KindOCSP:
		c, err = p.cfg.Authority.IssueOCSPResponder(ctx, sl.ca, s.Public(), ref, 0)
	case ca.KindTSA:
		if sl.archive {
			c, err = p.cfg.Authority.IssueArchiveTSA(ctx, s.Public(), ref, 0)
			break
		}
		c, err = p.cfg.Authority.IssueTSA(ctx, ca.PlatformName, s.Public(), ref, 0)
	default:
		c, err = p.cfg.Authority.IssueTSA(ctx, ca.PlatformName, s.Public(), ref, 0)
	}
	if err != nil {
		return nil, fmt.Errorf("pki: certificate of %s: %w", sl.role.Name, err)
	}
	return c, nil
}

// ensure puts sl's stored certificate in use, or, if the store has none
// usable or it is due ([PKI.dueAtStart]), a new one ([PKI.replace]). A
// stored root that is not for the root key is an error: the trust anchor
// is never replaced here.
func (p *PKI) ensure(ctx context.Context, sl slot) error {
	ctx, unlock := p.lock(ctx)
	defer unlock()
	s, ref, err := p.cfg.Store.Key(ctx, sl.role)
	if err != nil {
		return err
	}
	stored, err := p.cfg.Store.Certificate(ctx, sl.role.Name)
	if err != nil {
		return err
	}
	if p.usable(sl, s, stored) && !p.dueAtStart(sl, stored) {
		return p.apply(sl, s, stored)
	}
	if sl.kind == ca.KindRoot && stored != nil {
		return errors.New("pki: the stored root certificate is not for the root key")
	}
	return p.replace(ctx, sl, s, ref, stored)
}

// renew is the renewer's renewal of sl: if the store holds a usable
// certificate that is not due (another process renewed it), that one is
// put in use; otherwise a new one is issued ([PKI.replace]).
func (p *PKI) renew(ctx context.Context, sl slot) error {
	ctx, unlock := p.lock(ctx)
	defer unlock()
	s, ref, err := p.cfg.Store.Key(ctx, sl.role)
	if err != nil {
		return err
	}
	stored, err := p.cfg.Store.Certificate(ctx, sl.role.Name)
	if err != nil {
		return err
	}
	if p.usable(sl, s, stored) && !p.due(sl, stored) {
		return p.apply(sl, s, stored)
	}
	return p.replace(ctx, sl, s, ref, stored)
}

// replace issues a certificate for sl's key s and stores it in place of
// old, the one read from the store, then puts it in use. If another
// process stored a certificate since, that one is put in use instead, if
// usable, and ours is revoked as superseded (it was never used; a root,
// which cannot be revoked, stays an unused record).
func (p *PKI) replace(ctx context.Context, sl slot, s crypto.Signer, ref ca.KeyRef, old *x509.Certificate) error {
	c, err := p.issue(ctx, sl, s, ref)
	if err != nil {
		return err
	}
	err = p.cfg.Store.SetCertificate(ctx, sl.role.Name, old, c)
	if err == nil {
		return p.apply(sl, s, c)
	}
	if !errors.Is(err, ErrCertificateChanged) {
		return fmt.Errorf("pki: store certificate of %s: %w", sl.role.Name, err)
	}
	var errs []error
	if sl.kind != ca.KindRoot {
		if _, err := p.cfg.Authority.Revoke(ctx, c.SerialNumber, ca.ReasonSuperseded, time.Time{}); err != nil {
			errs = append(errs, fmt.Errorf("pki: revoke the superseded certificate of %s: %w", sl.role.Name, err))
		}
	}
	won, err := p.cfg.Store.Certificate(ctx, sl.role.Name)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	// The winner may certify a newer version of the key.
	if s, _, err = p.cfg.Store.Key(ctx, sl.role); err != nil {
		return errors.Join(append(errs, err)...)
	}
	if !p.usable(sl, s, won) {
		return errors.Join(append(errs, fmt.Errorf("pki: %s: the certificate another process stored is not usable", sl.role.Name))...)
	}
	return errors.Join(append(errs, p.apply(sl, s, won))...)
}

// load puts sl's stored certificate in use if it differs from the one in
// use and is usable; it never issues one. It reports whether sl has a
// certificate in use afterwards. p.op is held.
func (p *PKI) load(ctx context.Context, sl slot) (bool, error) {
	stored, err := p.cfg.Store.Certificate(ctx, sl.role.Name)
	if err != nil {
		return false, err
	}
	cur := p.Cert(sl.role.Name)
	if stored == nil || stored.Equal(cur) {
		return cur != nil, nil
	}
	s, _, err := p.cfg.Store.Key(ctx, sl.role)
	if err != nil {
		return cur != nil, err
	}
	if !p.usable(sl, s, stored) {
		// Not for the key's active version, or not under the CA in use:
		// the renewer issues a successor.
		return cur != nil, nil
	}
	return true, p.apply(sl, s, stored)
}

// apply puts c, for key s, in use as sl's certificate: in the authority
// and CRL publisher (CAs), the OCSP responder, the TSA. A CA's OCSP
// responder, and the TSA below the platform CA, get the CA's new
// certificate in their chains. p.op is held.
func (p *PKI) apply(sl slot, s crypto.Signer, c *x509.Certificate) error {
	switch sl.kind {
	case ca.KindRoot, ca.KindIssuing:
		if err := p.cfg.Authority.Register(&ca.Issuer{Name: sl.ca, Tenant: sl.role.Tenant, Certificate: c, Signer: s}); err != nil {
			return err
		}
		if err := p.cfg.CRLs.SetIssuer(sl.ca, c, s); err != nil {
			return err
		}
	case ca.KindOCSP:
		if err := p.setOCSP(sl.ca, p.Cert("ca/"+sl.ca), s, c); err != nil {
			return err
		}
	}
	p.mu.Lock()
	p.certs[sl.role.Name], p.signers[sl.role.Name] = c, s
	switch {
	case sl.kind == ca.KindIssuing:
		p.cas[sl.ca] = sl.role.Tenant
	case sl.archive:
		p.archive = &tsa.Server{Signer: s, Certificate: c, Policy: TSAPolicy, Hash: crypto.SHA384, Now: p.cfg.Now}
	case sl.kind == ca.KindTSA:
		p.tsa = p.newTSA(s, c, p.certs["ca/"+ca.PlatformName])
	}
	p.mu.Unlock()
	if sl.kind != ca.KindIssuing {
		return nil
	}
	// The CA's dependents, if their certificates are from its key.
	if rc, rs := p.inUse("ocsp/" + sl.ca); rc != nil && rc.CheckSignatureFrom(c) == nil {
		if err := p.setOCSP(sl.ca, c, rs, rc); err != nil {
			return err
		}
	}
	if sl.ca == ca.PlatformName {
		p.mu.Lock()
		defer p.mu.Unlock()
		if t := p.tsa; t != nil && t.Certificate.CheckSignatureFrom(c) == nil {
			p.tsa = p.newTSA(t.Signer, t.Certificate, c)
		}
	}
	return nil
}

// inUse returns role's certificate in use and its key.
func (p *PKI) inUse(role string) (*x509.Certificate, crypto.Signer) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.certs[role], p.signers[role]
}

// setOCSP makes the OCSP responder answer for CA name, whose certificate
// is caCert, with responder certificate c for key s.
func (p *PKI) setOCSP(name string, caCert *x509.Certificate, s crypto.Signer, c *x509.Certificate) error {
	if caCert == nil {
		return fmt.Errorf("pki: OCSP responder of %s: the CA is not in use", name)
	}
	return p.cfg.OCSP.SetSigner(ocsp.Signer{CAName: name, CA: caCert, Certificate: c, Key: s})
}

// newTSA returns the TSA signing with s under c, with the platform CA's
// certificate plat in its chain.
func (p *PKI) newTSA(s crypto.Signer, c, plat *x509.Certificate) *tsa.Server {
	t := &tsa.Server{Signer: s, Certificate: c, Policy: TSAPolicy, Hash: crypto.SHA256, Now: p.cfg.Now}
	if plat != nil {
		t.Chain = []*x509.Certificate{plat}
	}
	return t
}

// watch puts sl under renewal (once).
func (p *PKI) watch(sl slot) {
	p.cfg.Renewer.Add(ca.Renewable{
		Name:    sl.role.Name,
		Tenant:  sl.role.Tenant,
		Current: p.current(sl),
		Renew:   func(ctx context.Context) error { return p.renew(ctx, sl) },
	})
}

// current returns sl's certificate in use if it is still usable: for the
// active version of the role's key (a rotated key needs a new
// certificate) and issued by the CA in use above it; for the renewer.
// The archive TSA's certificate counts as unusable once [PKI.archiveDue]:
// the renewer's own rule (two thirds of the life) would come too late.
func (p *PKI) current(sl slot) func() *x509.Certificate {
	return func() *x509.Certificate {
		c := p.Cert(sl.role.Name)
		if c == nil || (sl.archive && p.archiveDue(c)) {
			return nil
		}
		s, _, err := p.cfg.Store.Key(context.Background(), sl.role)
		if err != nil || !p.usable(sl, s, c) {
			return nil
		}
		return c
	}
}
