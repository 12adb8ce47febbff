package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/pkcs11"
	"github.com/signet-pki/signet/keys/remote"
)

// The roles of [Config.Role].
const (
	// RoleAPI serves users (the API, the recipients' pages, the PKI
	// endpoints) and holds no key backend credential: its keys are used
	// through the signer.
	RoleAPI = "api"
	// RoleSigner holds the key backend and serves only the key RPC
	// (keys/remote) to the api role, over mutual TLS.
	RoleSigner = "signer"
)

// DefaultSignerCertValidity is the validity of the transport
// certificates of a split deployment; each is renewed after two thirds.
const DefaultSignerCertValidity = 24 * time.Hour

// SignerConfig connects the two roles of a split deployment.
type SignerConfig struct {
	// URL is, for the api role, the signer's https://HOST:PORT.
	URL string `json:"url"`
	// Listen is, for the signer role, the address of the key RPC.
	Listen string `json:"listen"`
	// Hosts are, for the signer role, the DNS names and IP addresses in
	// its server certificate (default: the host of Listen, or localhost
	// and the loopback addresses for a wildcard).
	Hosts []string `json:"hosts"`
	// CertValidity is, for the signer role, the validity of the
	// transport certificates it issues (default 24h, at least 1m, at
	// most 30 days).
	CertValidity Duration `json:"cert_validity"`
}

func (s *SignerConfig) defaults() {
	if s == nil {
		return
	}
	if s.CertValidity == 0 {
		s.CertValidity = Duration(DefaultSignerCertValidity)
	}
	if len(s.Hosts) == 0 && s.Listen != "" {
		if host, _, err := net.SplitHostPort(s.Listen); err == nil {
			if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
				s.Hosts = []string{host}
			} else {
				s.Hosts = []string{"localhost", "127.0.0.1", "::1"}
			}
		}
	}
}

// validateSplit checks role and signer; its error is one line.
func (c *Config) validateSplit() error {
	s := c.Signer
	switch c.Role {
	case "":
		if s != nil {
			return errors.New(`signer is set but role is neither "api" nor "signer"`)
		}
		return nil
	case RoleAPI:
		if s == nil || s.URL == "" {
			return errors.New("role api needs signer.url, the signer's https://HOST:PORT")
		}
		if u, err := url.Parse(s.URL); err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
			return fmt.Errorf("signer.url %q is not https://HOST:PORT", s.URL)
		}
		if s.Listen != "" {
			return errors.New("role api: signer.listen belongs to the signer's configuration")
		}
	case RoleSigner:
		if s == nil || s.Listen == "" {
			return errors.New("role signer needs signer.listen, the address of its key RPC")
		}
		if _, _, err := net.SplitHostPort(s.Listen); err != nil {
			return fmt.Errorf("signer.listen: %w", err)
		}
		if s.URL != "" {
			return errors.New("role signer: signer.url belongs to the api role's configuration")
		}
	default:
		return fmt.Errorf(`role %q is neither "api" nor "signer" (nor "": one process)`, c.Role)
	}
	if v := time.Duration(s.CertValidity); v != 0 && (v < time.Minute || v > 30*24*time.Hour) {
		return fmt.Errorf("signer.cert_validity %v is outside 1m–720h", v)
	}
	return nil
}

// WithServiceKey sets the service key of the api role, in the form of the
// SIGNET_SERVICE_KEY environment variable, which the caller reads; ""
// means the data directory's service.key file.
func WithServiceKey(text string) Option { return func(o *options) { o.serviceKey = text } }

// checkNoKeyAccess refuses an api role given a key backend credential.
func checkNoKeyAccess(cfg Config, o options) error {
	if cfg.Role != RoleAPI {
		return nil
	}
	if o.masterKey != "" {
		return errors.New("server: role api: a master key is set (SIGNET_MASTER_KEY): the api role holds no key backend credential; only the signer has the master key")
	}
	// A data directory shared with the signer would put the master key
	// within the api process's reach.
	if p := datadir.File(cfg.DataDir, datadir.MasterKey); fileExists(p) {
		return fmt.Errorf("server: role api: %s holds a master key: the api role holds no key backend credential; move it (and keys/) to the signer's data directory", p)
	}
	return nil
}

// dialSigner enrols the api role with the signer, its enrolment key from
// the service key; the client is the key backend of the data directory.
func dialSigner(ctx context.Context, cfg Config, o options) (*remote.Client, error) {
	k, err := datadir.ReadServiceKey(cfg.DataDir, o.serviceKey)
	if err != nil {
		return nil, err
	}
	c, err := remote.Dial(ctx, remote.ClientConfig{URL: cfg.Signer.URL, EnrolmentKey: k.EnrolmentKey(), Now: o.now, Logger: o.logger})
	if err != nil {
		return nil, fmt.Errorf("server: signer %s: %w", cfg.Signer.URL, err)
	}
	return c, nil
}

// Signer is the signer role of a split deployment: the key backend of
// the data directory (the sealed software store, opened with the master
// key), and the PKCS#11 token of the configuration if any, behind the
// key RPC of keys/remote, over mutual TLS with
// certificates of its transport CA. It opens nothing else of the data
// directory: no audit log (the api role's key manager records every
// operation), no service database.
type Signer struct {
	logger *slog.Logger
	dir    *datadir.Dir
	// hsm is the configured PKCS#11 token (nil without one).
	hsm   *pkcs11.Backend
	ln    net.Listener
	srv   *http.Server
	certs *remote.CertHolder

	background sync.WaitGroup
	stop       context.CancelFunc
	bgCtx      context.Context
	shutOnce   sync.Once
	shutErr    error
}

// NewSigner opens the key backend of cfg's data directory, mints the
// transport CA and the signer's certificate, and binds signer.listen.
func NewSigner(ctx context.Context, cfg Config, opts ...Option) (*Signer, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Role != RoleSigner {
		return nil, errors.New("server: NewSigner needs role signer")
	}
	o := options{logger: slog.Default(), now: time.Now}
	for _, f := range opts {
		f(&o)
	}
	s := &Signer{logger: o.logger}
	s.bgCtx, s.stop = context.WithCancel(context.Background())
	if err := s.open(ctx, cfg, o); err != nil {
		s.stop()
		if s.ln != nil {
			s.ln.Close()
		}
		if s.dir != nil {
			s.dir.Close()
		}
		if s.hsm != nil {
			s.hsm.Close()
		}
		return nil, err
	}
	return s, nil
}

func (s *Signer) open(ctx context.Context, cfg Config, o options) error {
	var err error
	// The token first: an absent token or a wrong PIN stops the start
	// before anything is created.
	if s.hsm, err = openPKCS11(ctx, cfg, o); err != nil {
		return err
	}
	var others []keys.Backend
	if s.hsm != nil {
		others = append(others, s.hsm)
	}
	// On PostgreSQL the sealed keys are in the database (soft_keys).
	if s.dir, err = datadir.Open(cfg.DataDir, datadir.Options{MasterKey: o.masterKey, Now: o.now,
		DatabaseURL: cfg.DatabaseURL, DatabaseAdminURL: cfg.DatabaseAdminURL}); err != nil {
		return err
	}
	backend, err := s.dir.KeyBackend(ctx)
	if err != nil {
		return err
	}
	k, err := s.dir.ServiceKey(ctx)
	if err != nil {
		return err
	}
	ca, err := remote.NewTransportCA(o.now)
	if err != nil {
		return err
	}
	validity := time.Duration(cfg.Signer.CertValidity)
	if s.certs, err = remote.NewCertHolder(ctx, remote.ServerIssuer(ca, cfg.Signer.Hosts, validity), o.now, o.logger); err != nil {
		return err
	}
	if s.srv, err = remote.NewServer(remote.HandlerConfig{Backend: backend, Backends: others, CA: ca, EnrolmentKey: k.EnrolmentKey(),
		ClientValidity: validity, Logger: o.logger, Now: o.now}, s.certs); err != nil {
		return err
	}
	if s.ln, err = listen("signer.listen", cfg.Signer.Listen); err != nil {
		return err
	}
	return nil
}

// Addr returns the key RPC's address.
func (s *Signer) Addr() net.Addr { return s.ln.Addr() }

// Run serves the key RPC and renews the signer's certificate until ctx
// is done or [Signer.Shutdown] is called.
func (s *Signer) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.ServeTLS(s.ln, "", "") }()
	s.background.Go(func() { s.certs.Run(s.bgCtx, s.certs.Interval()) })
	s.logger.InfoContext(ctx, "signet signer serving the key RPC", "https", "https://"+s.ln.Addr().String())
	return awaitStop(ctx, errc, s.Shutdown)
}

// Shutdown stops serving (waiting for calls in flight until ctx's
// deadline), stops the renewals and closes the key backends. It is safe
// to call more than once.
func (s *Signer) Shutdown(ctx context.Context) error {
	s.shutOnce.Do(func() {
		var errs []error
		if err := s.srv.Shutdown(ctx); err != nil {
			errs = append(errs, err, s.srv.Close())
		}
		s.stop()
		s.background.Wait()
		errs = append(errs, ignoreClosed(s.ln.Close)(), s.dir.Close())
		if s.hsm != nil {
			errs = append(errs, s.hsm.Close())
		}
		s.shutErr = errors.Join(errs...)
	})
	return s.shutErr
}

func fileExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
