package remote

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// A CertHolder holds a TLS certificate and renews it once two thirds of
// its life have passed: [CertHolder.Run] checks at every interval, and
// TLS configurations read the current one through [CertHolder.Get]
// (GetCertificate, GetClientCertificate), so a renewal needs no restart.
type CertHolder struct {
	issue  func(ctx context.Context) (*tls.Certificate, error)
	now    func() time.Time
	logger *slog.Logger
	cur    atomic.Pointer[tls.Certificate]
	mu     sync.Mutex // serializes renewals
}

// NewCertHolder has issue make the first certificate and returns the
// holder. now is the clock that decides renewals (nil: time.Now); logger
// receives renewal failures (nil: slog.Default()).
func NewCertHolder(ctx context.Context, issue func(ctx context.Context) (*tls.Certificate, error), now func() time.Time, logger *slog.Logger) (*CertHolder, error) {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.Default()
	}
	h := &CertHolder{issue: issue, now: now, logger: logger}
	if err := h.Renew(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

// Get returns the current certificate.
func (h *CertHolder) Get() (*tls.Certificate, error) {
	c := h.cur.Load()
	if c == nil {
		return nil, errors.New("remote: no certificate yet")
	}
	return c, nil
}

// Due reports whether the current certificate has passed two thirds of
// its life.
func (h *CertHolder) Due() bool {
	c := h.cur.Load()
	if c == nil || c.Leaf == nil {
		return true
	}
	life := c.Leaf.NotAfter.Sub(c.Leaf.NotBefore)
	return !h.now().Before(c.Leaf.NotBefore.Add(life * 2 / 3))
}

// Renew replaces the certificate with a new one from issue.
func (h *CertHolder) Renew(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, err := h.issue(ctx)
	if err != nil {
		return err
	}
	if c.Leaf == nil {
		return errors.New("remote: issued certificate without its parsed leaf")
	}
	h.cur.Store(c)
	return nil
}

// Run renews the certificate whenever it is [CertHolder.Due], checking
// every interval until ctx ends; a failure is logged and retried at the
// next interval, while the current certificate stays in use.
func (h *CertHolder) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !h.Due() {
			continue
		}
		if err := h.Renew(ctx); err != nil && ctx.Err() == nil {
			h.logger.WarnContext(ctx, "remote: transport certificate renewal failed; retried at the next interval", "error", err)
		}
	}
}

// Interval is a check interval suited to the current certificate: a
// twentieth of its life, between one second and one hour.
func (h *CertHolder) Interval() time.Duration {
	c := h.cur.Load()
	if c == nil || c.Leaf == nil {
		return time.Second
	}
	return min(max(c.Leaf.NotAfter.Sub(c.Leaf.NotBefore)/20, time.Second), time.Hour)
}
