package server

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/mail"
	"github.com/signet-pki/signet/internal/metrics"
	"github.com/signet-pki/signet/pki"
	"github.com/signet-pki/signet/pki/ca"
	"github.com/signet-pki/signet/tsa"
)

// Metrics and traces (internal/metrics), both off by default:
//
//   - "metrics_listen": the plain-HTTP address of GET /metrics (Prometheus
//     text format). It must be a loopback address unless
//     "metrics_allow_remote" is true: the metrics name routes, key
//     purposes, TSA URLs and certificate expiries, and the listener has
//     no authentication, so exposing it beyond the host is an explicit
//     choice (put it behind a firewall or an authenticating proxy).
//   - "tracing": OpenTelemetry spans of API requests, signatures,
//     time-stamp requests, validation data fetches and audit appends,
//     exported over OTLP/HTTP (see [metrics.TracingConfig]).

// observability is what the server measures and traces with; every
// field is nil when off.
type observability struct {
	metrics *metrics.Metrics
	tracer  *metrics.Tracer
	hooks   *metrics.Hooks
	ln      net.Listener
	srv     *http.Server
}

// validateObservability checks metrics_listen and tracing.
func (c *Config) validateObservability() []error {
	var errs []error
	if a := c.MetricsListen; a != "" {
		host, _, err := net.SplitHostPort(a)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("metrics_listen: %w", err))
		case !c.MetricsAllowRemote && !isLoopback(host):
			errs = append(errs, fmt.Errorf("metrics_listen %q is not a loopback address; set \"metrics_allow_remote\": true to serve metrics beyond this host", a))
		}
	} else if c.MetricsAllowRemote {
		errs = append(errs, errors.New("metrics_allow_remote is set without metrics_listen"))
	}
	if c.Tracing != nil {
		if err := c.Tracing.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// isLoopback reports whether host is "localhost" or a loopback IP.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// openObservability builds the metrics (binding their listener) and the
// tracer as configured, and observes the audit log's appends.
func (s *Server) openObservability() error {
	ob := &s.obs
	if s.cfg.MetricsListen != "" {
		ln, err := listen("metrics_listen", s.cfg.MetricsListen)
		if err != nil {
			return err
		}
		s.closers = append(s.closers, ignoreClosed(ln.Close))
		ob.ln, ob.metrics = ln, metrics.New()
		ob.srv = &http.Server{Handler: ob.metrics.Handler(), ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn)}
		s.closers = append(s.closers, ignoreServerClosed(ob.srv.Close))
	}
	if s.cfg.Tracing != nil {
		t, err := metrics.NewTracer(*s.cfg.Tracing, "")
		if err != nil {
			return fmt.Errorf("server: tracing: %w", err)
		}
		ob.tracer = t
		s.closers = append(s.closers, func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			// A collector that is away loses the last spans, not the
			// shutdown.
			if err := t.Shutdown(ctx); err != nil {
				s.logger.Warn("tracing: last spans not exported", "error", err)
			}
			return nil
		})
	}
	ob.hooks = metrics.NewHooks(ob.metrics, ob.tracer)
	s.observeAudit()
	return nil
}

func ignoreServerClosed(f func() error) func() error {
	return func() error {
		if err := f(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	}
}

// auditObserver is the audit log's observer, nil when off.
func (ob *observability) auditObserver() auditlog.Observer {
	if ob.hooks == nil {
		return nil
	}
	return ob.hooks.Audit
}

// requestObserver is the API's observer, nil when off.
func (ob *observability) requestObserver() api.RequestObserver {
	if ob.hooks == nil {
		return nil
	}
	return ob.hooks
}

// limiter hooks l's refusals.
func (ob *observability) limiter(l *api.RateLimiter) *api.RateLimiter {
	if ob.hooks != nil {
		l.Rejected = ob.hooks.RateLimited
	}
	return l
}

// tsaClient hooks c's exchanges.
func (ob *observability) tsaClient(c *tsa.Client) *tsa.Client {
	if ob.hooks != nil {
		c.Observe = ob.hooks.TSA
	}
	return c
}

// signHook is the signing service's hook, nil when off.
func (ob *observability) signHook() func(context.Context) (context.Context, func(error)) {
	if ob.hooks == nil {
		return nil
	}
	return ob.hooks.Sign
}

// mailer counts m's sends when metrics are on.
func (ob *observability) mailer(m mail.Mailer) mail.Mailer {
	if ob.metrics == nil {
		return m
	}
	return ob.metrics.Mailer(m)
}

// connectObservability hooks what openSigning and openHTTP built: the
// time-stamp clients, the validation data fetcher, and the gauges read
// at each scrape (checkpoint age, certificate expiries).
func (s *Server) connectObservability() {
	ob := &s.obs
	if ob.hooks == nil {
		return
	}
	for _, ts := range []any{s.timestamper, s.archiveTimestamper} {
		if c, ok := ts.(*tsa.Client); ok {
			ob.tsaClient(c)
		}
	}
	s.fetcher.Observe = ob.hooks.Fetch
	if ob.metrics == nil {
		return
	}
	pub := s.audit.publisher
	ob.metrics.CheckpointTime(func(ctx context.Context) (time.Time, bool, error) {
		cp, ok, err := pub.Latest(ctx)
		return cp.Time, ok, err
	}, nil)
	ob.metrics.CertificateExpiry(s.certificateExpiries)
}

// certificateExpiries returns the notAfter of the PKI's fixed roles, of
// the TLS certificate served, and the earliest of the tenants' issuing
// CAs (one series, whatever the number of tenants).
func (s *Server) certificateExpiries() map[string]time.Time {
	out := map[string]time.Time{}
	for _, role := range []string{pki.RootRole.Name, "ca/" + ca.PlatformName, pki.TSARole.Name, pki.ArchiveTSARole.Name} {
		if c := s.pki.Cert(role); c != nil {
			out[role] = c.NotAfter
		}
	}
	if cfg := s.https.TLSConfig; cfg != nil && len(cfg.Certificates) > 0 && len(cfg.Certificates[0].Certificate) > 0 {
		if c, err := x509.ParseCertificate(cfg.Certificates[0].Certificate[0]); err == nil {
			out[tlsRole.Name] = c.NotAfter
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if ts, err := s.stores.Tenants.Tenants(ctx); err == nil {
		var earliest time.Time
		for _, t := range ts {
			if c := s.pki.Cert("ca/" + t.ID); c != nil && (earliest.IsZero() || c.NotAfter.Before(earliest)) {
				earliest = c.NotAfter
			}
		}
		if !earliest.IsZero() {
			out["ca/tenants-earliest"] = earliest
		}
	}
	return out
}

// serveMetrics serves the metrics listener, if any, until Shutdown.
func (s *Server) serveMetrics(errc chan<- error) {
	if s.obs.srv == nil {
		return
	}
	go func() { errc <- s.obs.srv.Serve(s.obs.ln) }()
}

// MetricsAddr returns the metrics listener's address, nil when off.
func (s *Server) MetricsAddr() net.Addr {
	if s.obs.ln == nil {
		return nil
	}
	return s.obs.ln.Addr()
}
