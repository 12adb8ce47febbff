package pki

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/signet-pki/signet/pki/ca"
)

// Refresh brings the PKI in line with its store, for a process that
// shares the store with others. It loads the issuing CA, with its OCSP
// responder, of each of tenants that another process created and this one
// does not use yet (CA NAME of tenant NAME, as [PKI.SetUp] names them),
// and puts them under renewal; and for every issuing CA, OCSP responder
// and the TSA in use, it adopts the certificate stored in its place by
// another process (a renewal), if usable: for the active version of the
// role's key, unexpired, and issued by the CA in use above it. It creates
// nothing: a tenant whose CA is not in the store yet is skipped (its
// creator sets it up, and the next Refresh loads it). The root is never
// replaced.
//
// The composition runs it periodically (every minute, say) with the
// tenants it knows; it reads two certificates per issuing CA. The errors
// of all roles are joined; the others are refreshed regardless.
func (p *PKI) Refresh(ctx context.Context, tenants []string) error {
	if p.Cert(RootRole.Name) == nil {
		return errors.New("pki: refresh before set-up")
	}
	known := p.issuingCAs()
	cas := maps.Clone(known)
	for _, t := range tenants {
		if _, ok := cas[t]; !ok && ca.ValidName(t) && t != ca.RootName && t != ca.PlatformName {
			cas[t] = t
		}
	}
	var errs []error
	step := func(sl slot) bool {
		ctx, unlock := p.lock(ctx)
		defer unlock()
		ok, err := p.load(ctx, sl)
		if err != nil {
			errs = append(errs, fmt.Errorf("pki: refresh %s: %w", sl.role.Name, err))
		}
		return ok
	}
	// The platform CA, then the TSA below it, then the tenants' CAs.
	step(issuingSlot(ca.PlatformName, ""))
	step(ocspSlot(ca.PlatformName, ""))
	step(tsaSlot())
	step(archiveTSASlot())
	delete(cas, ca.PlatformName)
	for _, name := range slices.Sorted(maps.Keys(cas)) {
		tenant := cas[name]
		sl, o := issuingSlot(name, tenant), ocspSlot(name, tenant)
		if !step(sl) {
			continue
		}
		step(o)
		if _, ok := known[name]; !ok {
			p.watch(sl)
			p.watch(o)
		}
	}
	return errors.Join(errs...)
}

// loadIssuer loads issuing CA name of tenant name (as [PKI.SetUp] names
// tenants' CAs), with its OCSP responder, if another process created it
// and this one does not use it yet, and puts both under renewal; it is the
// authority's unknown-issuer hook. It creates nothing and does nothing
// for the root and the platform CA, which [PKI.SetUp] loads, or when the
// caller holds p.op (an operation of the PKI itself looked the name up).
func (p *PKI) loadIssuer(ctx context.Context, name string) error {
	if ctx.Value(opHeld{}) != nil || name == ca.RootName || name == ca.PlatformName || !ca.ValidName(name) ||
		p.Cert(RootRole.Name) == nil || p.Cert("ca/"+name) != nil {
		return nil
	}
	// Most unknown names are unknown to the store too: ask it before
	// waiting for p.op.
	if c, err := p.cfg.Store.Certificate(ctx, "ca/"+name); err != nil || c == nil {
		return err
	}
	ctx, unlock := p.lock(ctx)
	defer unlock()
	sl, o := issuingSlot(name, name), ocspSlot(name, name)
	if ok, err := p.load(ctx, sl); !ok || err != nil {
		return err
	}
	_, err := p.load(ctx, o)
	p.watch(sl)
	p.watch(o)
	return err
}
