package ca

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultRenewAt is the fraction of a certificate's lifetime after which
// [Renewer] renews it (as step-ca does).
const DefaultRenewAt = 2.0 / 3.0

// A Renewable is a certificate kept valid by a [Renewer].
type Renewable struct {
	// Name identifies it in logs, e.g. "tsa" or "ocsp/acme".
	Name string
	// Tenant is the tenant whose certificate it is (a tenant's issuing
	// CA or OCSP responder), "" for the platform's.
	Tenant string
	// Current returns the certificate in use.
	Current func() *x509.Certificate
	// Renew obtains and installs a successor, so that Current returns it
	// afterwards.
	Renew func(ctx context.Context) error
}

// A Renewer renews certificates (TSA, OCSP responders, issuing CAs, later
// TLS) before they expire. A certificate is due once the fraction RenewAt of
// its lifetime has passed, or, if Margin is set, once less than Margin
// remains. A failed renewal is logged at ERROR and counted in Failures;
// since renewal starts with a third of the lifetime left, the alert comes
// well before expiry. Due certificates are retried on every check.
type Renewer struct {
	// RenewAt is the fraction of the lifetime after which to renew; zero
	// means [DefaultRenewAt].
	RenewAt float64
	// Margin, if positive, overrides RenewAt: renew when less than Margin
	// of the validity remains.
	Margin time.Duration
	// Logger receives renewals and failures; nil means slog.Default().
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	// Renewals and Failures count renewals and failed attempts, for
	// metrics. (Not expvar.Int: importing expvar registers handlers and
	// variables at package initialization, in every command of the signet
	// binary.)
	Renewals, Failures atomic.Int64

	mu    sync.Mutex
	items []Renewable
}

// Add puts item under watch, in place of an item of the same name (which
// keeps its turn: items are checked in the order first added).
func (r *Renewer) Add(item Renewable) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.items {
		if r.items[i].Name == item.Name {
			r.items[i] = item
			return
		}
	}
	r.items = append(r.items, item)
}

// Due reports whether cert needs renewal at now.
func (r *Renewer) Due(cert *x509.Certificate, now time.Time) bool {
	if r.Margin > 0 {
		return !now.Before(cert.NotAfter.Add(-r.Margin))
	}
	at := r.RenewAt
	if at <= 0 || at >= 1 {
		at = DefaultRenewAt
	}
	life := cert.NotAfter.Sub(cert.NotBefore)
	return !now.Before(cert.NotBefore.Add(time.Duration(float64(life) * at)))
}

// Check renews every due certificate once and returns the failures joined.
func (r *Renewer) Check(ctx context.Context) error {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	log := r.Logger
	if log == nil {
		log = slog.Default()
	}
	r.mu.Lock()
	items := append([]Renewable(nil), r.items...)
	r.mu.Unlock()
	var errs []error
	for _, it := range items {
		cert := it.Current()
		t := now()
		if cert != nil && !r.Due(cert, t) {
			continue
		}
		if err := it.Renew(ctx); err != nil {
			r.Failures.Add(1)
			attrs := []any{"certificate", it.Name, "err", err}
			if cert != nil {
				attrs = append(attrs, "not_after", cert.NotAfter, "remaining", cert.NotAfter.Sub(t).Round(time.Second))
			}
			log.ErrorContext(ctx, "ca: certificate renewal failed", attrs...)
			errs = append(errs, err)
			continue
		}
		r.Renewals.Add(1)
		log.InfoContext(ctx, "ca: certificate renewed", "certificate", it.Name)
	}
	return errors.Join(errs...)
}

// Run calls Check every interval until ctx is done.
func (r *Renewer) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		_ = r.Check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// A DueCertificate is a watched certificate in use that is due for
// renewal.
type DueCertificate struct {
	Name        string
	Tenant      string
	Certificate *x509.Certificate
}

// DueCertificates returns the watched certificates in use that are due
// for renewal at now ([Renewer.Due]): right after [Renewer.Check], those
// whose renewal failed. A watched item without a usable certificate is
// left out (Check issues it).
func (r *Renewer) DueCertificates(now time.Time) []DueCertificate {
	r.mu.Lock()
	items := append([]Renewable(nil), r.items...)
	r.mu.Unlock()
	var due []DueCertificate
	for _, it := range items {
		if c := it.Current(); c != nil && r.Due(c, now) {
			due = append(due, DueCertificate{Name: it.Name, Tenant: it.Tenant, Certificate: c})
		}
	}
	return due
}
