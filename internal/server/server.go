package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/alert"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/archive"
	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/identity/passkey"
	"github.com/signet-pki/signet/internal/mail"
	"github.com/signet-pki/signet/internal/signing"
	"github.com/signet-pki/signet/internal/webhook"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/atrest"
	"github.com/signet-pki/signet/keys/remote"
	"github.com/signet-pki/signet/ltv"
	"github.com/signet-pki/signet/pades"
)

// An Option adjusts [New].
type Option func(*options)

type options struct {
	logger   *slog.Logger
	terminal io.Writer
	now      func() time.Time
	mounts   []func(api.Mux)
	openapi  [][]byte
	// smtpPassword is the SMTP password, read by the caller from the
	// environment variable the configuration names.
	smtpPassword string
	// s3Access and s3Secret are documents_s3's credentials.
	s3Access, s3Secret string
	// masterKey is the value of SIGNET_MASTER_KEY ("" when unset).
	masterKey string
	// serviceKey is the value of SIGNET_SERVICE_KEY, read by the api
	// role only.
	serviceKey string
	// secret returns the value of an environment variable the
	// configuration names (OIDC client secrets, the SMS gateway's
	// token); nil reads none.
	secret func(name string) string
	// clearAtRest makes the server store what it seals in clear, as
	// versions before encryption at rest did: tests only (export_test.go).
	clearAtRest bool
}

// WithSecrets sets how the values of the environment variables that the
// configuration names for secrets (identity.oidc[].client_secret_env,
// sms_gateway.token_env, pkcs11.pin_env) are read; cmd/signet passes the
// environment.
func WithSecrets(lookup func(name string) string) Option {
	return func(o *options) { o.secret = lookup }
}

// secretOf returns the value of the environment variable name, "" if
// unset or name is empty.
func (o options) secretOf(name string) string {
	if name == "" || o.secret == nil {
		return ""
	}
	return o.secret(name)
}

// WithMasterKey sets the master key of the software key backend, in the
// base64 form of the SIGNET_MASTER_KEY environment variable, which the
// caller reads; "" means the data directory's master.key file. The rules
// are those of [soft.LoadMasterKey], which every command shares.
func WithMasterKey(b64 string) Option { return func(o *options) { o.masterKey = b64 } }

// WithSMTPPassword sets the SMTP password (the configuration names only the
// environment variable that holds it; only cmd/ reads the environment).
func WithSMTPPassword(p string) Option { return func(o *options) { o.smtpPassword = p } }

// WithS3Credentials sets the access and secret keys of documents_s3,
// read by the caller from the environment variables the configuration
// names.
func WithS3Credentials(access, secret string) Option {
	return func(o *options) { o.s3Access, o.s3Secret = access, secret }
}

// WithLogger sets the structured logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithTerminal sets where the one-time bootstrap admin key is printed on
// first start (default os.Stdout). It is never logged.
func WithTerminal(w io.Writer) Option { return func(o *options) { o.terminal = w } }

// WithClock sets the clock of the PKI and the API (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithRoutes mounts extra routes, documented by an OpenAPI fragment, on the
// API router (inside authentication and the other middleware).
func WithRoutes(register func(api.Mux), openapi []byte) Option {
	return func(o *options) {
		o.mounts = append(o.mounts, register)
		if openapi != nil {
			o.openapi = append(o.openapi, openapi)
		}
	}
}

// A locker takes named locks that hold across every node of the
// deployment.
type locker interface {
	Lock(ctx context.Context, key string) (unlock func(), err error)
}

// A leaser runs fn while this node holds the lease name, until ctx ends.
type leaser interface {
	Run(ctx context.Context, name string, fn func(ctx context.Context))
}

// Server is a running Signet service: the HTTPS API and the plain-HTTP
// PKI endpoints over one data directory.
type Server struct {
	cfg    Config
	logger *slog.Logger

	dir      *datadir.Dir
	stores   *datadir.Services
	audit    *auditTrail
	pki      *pkiRoles
	accounts *accounts.Service
	workflow *workflow.Service
	people   *people
	passkeys *passkey.Service
	// alerts evaluates the alert rules (nil when alerts.disabled).
	alerts *alert.Engine
	// signer is the api role's key backend, nil in one process.
	signer *remote.Client
	// identitySealer seals users' second-factor secrets; the login
	// service and the recipients' TOTP level share it.
	identitySealer *datadir.Sealer
	// keyRing gives the tenants' object keys under which stored data is
	// sealed at rest (keys/atrest): workflow, signing and identity
	// fields, document contents and the PKI's records of signer
	// certificates. nil seals nothing.
	keyRing workflow.KeyRing
	// atRest is the key custody's key ring behind keyRing; it also
	// crypto-shreds deleted tenants.
	atRest *atrest.Service
	// timestamper gets signature time-stamps; archiveTimestamper gets
	// document and archive time-stamps (B-LTA, archive renewal, evidence
	// manifests), which must outlive the signatures they protect; fetcher
	// collects validation data (certificates, OCSP, CRLs). Set by
	// openSigning.
	timestamper, archiveTimestamper pades.Timestamper
	fetcher                         *ltv.Fetcher
	// sealer seals completed documents with the tenants' seal keys.
	sealer *signing.Sealer
	// archive renews completed documents' time-stamps (nil when
	// archive.disabled).
	archive *archive.Service
	// webhooks delivers events to the tenants' endpoints (nil without
	// keys at rest).
	webhooks *webhook.Service
	// outbox is the spool e-mail goes to without an SMTP server (nil
	// with one).
	outbox *mail.Spool
	// background runs the workflow scheduler, certificate renewal and
	// blob garbage collection started by Run; Shutdown cancels it and
	// waits for them.
	background     sync.WaitGroup
	stopBackground context.CancelFunc
	backgroundCtx  context.Context

	// obs holds the metrics and the tracer (metrics.go).
	obs observability

	router  *api.Router
	handler http.Handler
	openapi []byte

	https, pkiHTTP *http.Server
	ln, pkiLn      net.Listener

	// leases run what must run on one node at a time (see
	// [datadir.Dir.Coordination]); publishing is set while this node
	// holds the checkpoint publisher's.
	leases     leaser
	locks      locker
	publishing atomic.Bool

	closers  []func() error // in reverse order of opening
	shutOnce sync.Once
	shutErr  error
	closed   atomic.Bool
}

// New initializes the data directory if needed (see [datadir]), opens
// every store, sets up the PKI, binds the listeners and returns the
// server, ready to [Server.Run]. On first start it prints the bootstrap
// admin API key to the terminal, once everything else has succeeded. If a
// step fails, New closes whatever it had opened and returns an error that
// names what failed (the file, or the setting and address).
func New(ctx context.Context, cfg Config, opts ...Option) (*Server, error) {
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := options{logger: slog.Default(), terminal: os.Stdout, now: time.Now}
	for _, f := range opts {
		f(&o)
	}
	if cfg.Role == RoleSigner {
		return nil, errors.New("server: role signer is served by NewSigner")
	}
	if err := checkNoKeyAccess(cfg, o); err != nil {
		return nil, err
	}
	// Files the configuration names are read first, so that a missing one
	// stops the start before anything is created or bound.
	files, err := cfg.readFiles()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, logger: o.logger}
	s.backgroundCtx, s.stopBackground = context.WithCancel(context.Background())
	if err := s.open(ctx, o, files); err != nil {
		// What was opened so far is closed in reverse order.
		s.stopBackground()
		s.closeAll()
		return nil, err
	}
	return s, nil
}

// open wires the subsystems in the order they depend on each other,
// appending to s.closers whatever it opens; New closes them if open
// fails.
func (s *Server) open(ctx context.Context, o options, files configFiles) (err error) {
	dopts := datadir.Options{MasterKey: o.masterKey, Now: o.now,
		DatabaseURL: s.cfg.DatabaseURL, DatabaseAdminURL: s.cfg.DatabaseAdminURL, DocumentsS3: s.cfg.documentsS3(o)}
	// The PKCS#11 token, if configured, is opened first: an absent token
	// or a wrong PIN stops the start before anything is created. It
	// closes after the data directory (closers run in reverse).
	hsm, err := openPKCS11(ctx, s.cfg, o)
	if err != nil {
		return err
	}
	if hsm != nil {
		s.closers = append(s.closers, hsm.Close)
		dopts.Backends = []keys.Backend{hsm}
		dopts.AtRestBackend = s.cfg.atRestBackend()
	}
	if s.cfg.Role == RoleAPI {
		// The api role's keys are the signer's: the key manager and the
		// PKI use them through keys/remote.
		if s.signer, err = dialSigner(ctx, s.cfg, o); err != nil {
			return err
		}
		s.closers = append(s.closers, func() error { s.signer.Close(); return nil })
		dopts.Backend, dopts.ServiceKey = s.signer, o.serviceKey
		// The signer's further backends (its PKCS#11 token), so that
		// keys on them resolve and new tenant keys may go there.
		dopts.Backends = s.signer.Backends()
		if dopts.AtRestBackend, err = signerAtRestBackend(s.cfg, dopts.Backends); err != nil {
			return err
		}
	}
	if s.dir, err = datadir.Open(s.cfg.DataDir, dopts); err != nil {
		return err
	}
	s.closers = append(s.closers, s.dir.Close)
	if s.stores, err = s.dir.Services(ctx); err != nil {
		return err
	}
	// The PKI's address goes into certificates and into the audit log's
	// anchoring (its built-in TSA).
	if s.ln, s.pkiLn, err = s.openListeners(); err != nil {
		return err
	}
	if s.audit, err = openAudit(ctx, s.dir); err != nil {
		return err
	}
	if err := s.openObservability(); err != nil {
		return err
	}
	if err := s.openAlerts(o); err != nil {
		return err
	}
	var locks locker
	if locks, s.leases, err = s.dir.Coordination(ctx); err != nil {
		return err
	}
	// What a first start creates (the checkpoint key, the PKI's roots and
	// keys, the bootstrap administrator) is created once: nodes starting
	// together on one database take turns.
	unlock, err := locks.Lock(ctx, "server/start")
	if err != nil {
		return fmt.Errorf("server: start-up lock: %w", err)
	}
	defer unlock()
	s.locks = locks
	// The key manager (it records through the log) holds the checkpoint
	// key, created on first start before the PKI's keys.
	checkpointKey, err := s.dir.CheckpointSigner(ctx)
	if err != nil {
		return err
	}
	// The keys at rest: what the PKI, the workflow, the recipient side
	// and the login service store is sealed under each object's data
	// key, wrapped by its tenant's key in custody.
	if !o.clearAtRest {
		if s.atRest, err = s.dir.AtRest(ctx); err != nil {
			return err
		}
		s.keyRing = s.atRest
	}
	if s.pki, err = openPKI(ctx, s.dir, s.audit.log, s.stores.Tenants, s.pkiURL(), o, s.keyRing); err != nil {
		return err
	}
	if s.audit.publisher, err = s.openPublisher(checkpointKey, o); err != nil {
		return err
	}
	tlsCfg, err := s.tlsConfig(ctx, files.tlsPair)
	if err != nil {
		return err
	}
	mailer, err := s.openMailer(ctx, o)
	if err != nil {
		return err
	}
	mailer = s.obs.mailer(mailer)
	if err := s.openWebhooks(o); err != nil {
		return err
	}
	sg, err := s.openSigning(ctx, mailer, files.tsaRoots, o)
	if err != nil {
		return err
	}
	if err := s.openArchive(o); err != nil {
		return err
	}
	if err := s.openHTTP(ctx, tlsCfg, sg, o); err != nil {
		return err
	}
	s.connectObservability()
	// After the metrics' hooks, which the alerts' hooks chain onto.
	s.watchAuthorities()
	// Bootstrap administrator, last: the key is printed only by a start
	// that succeeds, so a failed first start leaves it for the next one.
	if err := s.bootstrap(ctx, o.terminal); err != nil {
		return err
	}
	if s.cfg.SMTP.Addr == "" {
		o.logger.WarnContext(ctx, "no SMTP server configured: recipient e-mails are written to the data directory's outbox", "dir", s.dir.Outbox())
	}
	return nil
}

// listen binds the TCP address addr of the setting name; its error names
// both, e.g. "server: listen 127.0.0.1:8443: address already in use".
func listen(name, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	var op *net.OpError
	if errors.As(err, &op) {
		err = op.Err
	}
	var sc *os.SyscallError
	if errors.As(err, &sc) {
		err = sc.Err
	}
	return nil, fmt.Errorf("server: %s %s: %w", name, addr, err)
}

func ignoreClosed(f func() error) func() error {
	return func() error {
		if err := f(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	}
}

// tlsConfig returns the HTTPS listener's TLS configuration: the
// configured key pair if any, else a certificate of the internal PKI.
func (s *Server) tlsConfig(ctx context.Context, configured *tls.Certificate) (*tls.Config, error) {
	minV, _ := s.cfg.tlsMinVersion()
	c := &tls.Config{MinVersion: minV}
	if configured != nil {
		c.Certificates = []tls.Certificate{*configured}
		return c, nil
	}
	kp, err := s.pki.tlsCertificate(ctx, s.cfg.TLSHosts)
	if err != nil {
		return nil, err
	}
	c.Certificates = []tls.Certificate{kp}
	return c, nil
}

// bootstrap creates the platform administrator's API key on first start
// and prints it once to terminal.
func (s *Server) bootstrap(ctx context.Context, terminal io.Writer) error {
	secret, err := s.accounts.Bootstrap(ctx)
	if err != nil || secret == "" {
		return err
	}
	_, err = fmt.Fprintf(terminal, "signet: bootstrap administrator API key (shown once, store it now):\n\n    %s\n\n", secret)
	return err
}

// Addr returns the HTTPS listener's address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Outbox returns the spool of sealed messages the server writes its
// e-mail to when no SMTP server is configured (`signet quickstart` reads
// its signers' links and codes there), or nil when one is.
func (s *Server) Outbox() *mail.Spool { return s.outbox }

// PKIAddr returns the plain-HTTP PKI listener's address.
func (s *Server) PKIAddr() net.Addr { return s.pkiLn.Addr() }

// Handler returns the API handler with its middleware, for in-process
// use.
func (s *Server) Handler() http.Handler { return s.handler }

// Router returns the API router, whose Patterns list every route.
func (s *Server) Router() *api.Router { return s.router }

// OpenAPI returns the assembled OpenAPI document.
func (s *Server) OpenAPI() []byte { return s.openapi }

// Run serves HTTPS and the PKI endpoints until ctx is done or
// [Server.Shutdown] is called, then shuts down gracefully (with a 30 s
// deadline when ctx ended). It returns nil after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	errc := make(chan error, 3)
	go func() { errc <- s.https.ServeTLS(s.ln, "", "") }()
	go func() { errc <- s.pkiHTTP.Serve(s.pkiLn) }()
	s.serveMetrics(errc)
	// What must run once per deployment runs under a lease: on SQLite
	// this process holds them all; on PostgreSQL one node at a time
	// holds each, and another takes over when it stops or dies.
	renewer := s.pki.renewer
	pub := s.audit.publisher
	singles := []struct {
		name string
		run  func(context.Context)
	}{
		{"audit-publisher", func(ctx context.Context) {
			s.publishing.Store(true)
			defer s.publishing.Store(false)
			pub.Run(ctx)
		}},
		{"workflow-scheduler", func(ctx context.Context) { s.workflow.RunScheduler(ctx, workflow.DefaultTick) }},
		{"blob-gc", s.collectBlobs},
		{"pki-renewals", func(ctx context.Context) { renewer.Run(ctx, time.Hour) }},
	}
	if s.archive != nil {
		singles = append(singles, struct {
			name string
			run  func(context.Context)
		}{"archive-renewal", s.archive.Run})
	}
	for _, single := range singles {
		s.background.Go(func() { s.leases.Run(s.backgroundCtx, single.name, single.run) })
	}
	if s.signer != nil {
		// The api role's client certificate, renewed before it expires.
		certs := s.signer.Certificates()
		s.background.Go(func() { certs.Run(s.backgroundCtx, certs.Interval()) })
	}
	s.startAlerts()
	// Every node delivers webhooks (each delivery claimed by one).
	s.background.Go(func() { s.runWebhooks(s.backgroundCtx) })
	// Every node sends the notifications its own requests hand over.
	s.background.Go(func() { s.workflow.RunNotifiers(s.backgroundCtx) })
	if s.dir.Postgres() {
		// Every node adopts what the others did to the PKI: new tenants'
		// CAs, renewed certificates.
		s.background.Go(func() { s.refreshPKI(s.backgroundCtx, pkiRefreshInterval) })
	}
	s.logger.InfoContext(ctx, "signet serving", "https", "https://"+s.ln.Addr().String(), "pki", "http://"+s.pkiLn.Addr().String())
	return awaitStop(ctx, errc, s.Shutdown)
}

// Shutdown stops the server in this order: stop accepting connections
// and wait for in-flight API requests until ctx's deadline, then close
// the remaining connections (their requests' contexts are canceled, so a
// signing aborts before writing); stop the workflow scheduler; drain the
// audit log; publish and anchor a last checkpoint; stop the PKI listener;
// close the stores. It is safe to call more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutOnce.Do(func() {
		var errs []error
		if err := s.https.Shutdown(ctx); err != nil {
			errs = append(errs, err, s.https.Close())
		}
		// The node that publishes checkpoints publishes the last ones;
		// on PostgreSQL the others leave their events to it (or to the
		// node that takes its lease over).
		publisher := s.publishing.Load() || !s.dir.Postgres()
		s.stopBackground()
		s.background.Wait()
		// A checkpoint over everything done, time-stamped while the audit
		// log still records the TSA key's use; then drain the log and sign
		// a last checkpoint over that use too (anchored in the write-once
		// directory; its time-stamp would need the closed log, so the next
		// start's first checkpoint carries one).
		if publisher {
			if _, err := s.audit.publisher.Publish(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		if err := s.audit.log.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		if publisher {
			if err := s.audit.publisher.Shutdown(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		if err := s.pkiHTTP.Shutdown(ctx); err != nil {
			errs = append(errs, err, s.pkiHTTP.Close())
		}
		errs = append(errs, s.closeAll())
		s.shutErr = errors.Join(errs...)
	})
	return s.shutErr
}

func (s *Server) closeAll() error {
	if s.closed.Swap(true) {
		return nil
	}
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	return errors.Join(errs...)
}

// tsaHTTPClient is the HTTP client of signature time-stamps: every
// recipient signature asks the TSA once, so it keeps as many idle
// connections as signatures run at once (net/http keeps two per host by
// default and would open a new connection for most requests).
func tsaHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: t}
}

// awaitStop waits until ctx is done or serving failed (errc; a closed
// server is no failure), then shuts down, giving calls in flight 30 s.
func awaitStop(ctx context.Context, errc <-chan error, shutdown func(context.Context) error) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	return errors.Join(err, shutdown(sctx))
}
