package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/anchor"
	auditsqlite "github.com/signet-pki/signet/auditlog/sqlite"
	"github.com/signet-pki/signet/internal/accounts"
	accountssqlite "github.com/signet-pki/signet/internal/accounts/sqlite"
	"github.com/signet-pki/signet/internal/api"
	apisqlite "github.com/signet-pki/signet/internal/api/sqlite"
	"github.com/signet-pki/signet/internal/blob"
	"github.com/signet-pki/signet/internal/mail"
	"github.com/signet-pki/signet/internal/signing"
	signingsqlite "github.com/signet-pki/signet/internal/signing/sqlite"
	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/internal/workflow"
	workflowsqlite "github.com/signet-pki/signet/internal/workflow/sqlite"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/soft"
	keysqlite "github.com/signet-pki/signet/keys/sqlite"
	"github.com/signet-pki/signet/ltv"
	"github.com/signet-pki/signet/pki"
	"github.com/signet-pki/signet/pki/ca"
	casqlite "github.com/signet-pki/signet/pki/ca/sqlite"
	"github.com/signet-pki/signet/pki/crl"
	"github.com/signet-pki/signet/pki/ocsp"
	"github.com/signet-pki/signet/tsa"
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
	// masterKey is the value of SIGNET_MASTER_KEY ("" when unset).
	masterKey string
}

// WithMasterKey sets the master key of the software key backend, in the
// base64 form of the SIGNET_MASTER_KEY environment variable, which the
// caller reads; "" means the data directory's master.key file. The rules
// are those of [soft.LoadMasterKey], which every command shares.
func WithMasterKey(b64 string) Option { return func(o *options) { o.masterKey = b64 } }

// WithSMTPPassword sets the SMTP password (the configuration names only the
// environment variable that holds it; only cmd/ reads the environment).
func WithSMTPPassword(p string) Option { return func(o *options) { o.smtpPassword = p } }

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

// Server is a running Signet service: the HTTPS API and the plain-HTTP
// PKI endpoints over one data directory.
type Server struct {
	cfg    Config
	logger *slog.Logger

	pool       *sqldb.Pool // signet.db
	db         *sql.DB     // signet.db's writer (pool.Writer())
	api        *apisqlite.Store
	accountsDB *accountssqlite.Store
	accounts   *accounts.Service
	auditStore *auditsqlite.Store
	audit      *auditlog.Log
	publisher  *auditlog.Publisher
	auditProbe *sql.DB
	workflow   *workflow.Service
	blobs      *blob.FS
	// background runs the workflow scheduler, certificate renewal and
	// blob garbage collection started by Run; Shutdown cancels it and
	// waits for them.
	background     sync.WaitGroup
	stopBackground context.CancelFunc
	backgroundCtx  context.Context
	keyMeta        *keysqlite.Store
	keys           *keys.Manager
	caStore        *casqlite.Store
	pki            *pkiRoles

	router  *api.Router
	handler http.Handler
	openapi []byte

	https, pkiHTTP *http.Server
	ln, pkiLn      net.Listener

	closers  []func() error // in reverse order of opening
	shutOnce sync.Once
	shutErr  error
	closed   atomic.Bool
}

// New initializes the data directory if needed (see the package doc),
// opens every store, sets up the PKI, binds the listeners and returns the
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
	// Files the configuration names are read first, so that a missing one
	// stops the start before anything is created or bound.
	tsaRootCerts, err := cfg.tsaRoots()
	if err != nil {
		return nil, err
	}
	tlsPair, err := cfg.tlsKeyPair()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, logger: o.logger}
	s.backgroundCtx, s.stopBackground = context.WithCancel(context.Background())
	// Whatever fails below, what was opened so far is closed in reverse
	// order (s stays set: the result is only returned on success).
	started := false
	defer func() {
		if !started {
			s.stopBackground()
			s.closeAll()
		}
	}()
	if err := s.open(ctx, o, tsaRootCerts, tlsPair); err != nil {
		return nil, err
	}
	started = true
	return s, nil
}

// open does the work of [New] on s, appending to s.closers whatever it
// opens; New closes them if open fails.
func (s *Server) open(ctx context.Context, o options, tsaRootCerts []*x509.Certificate, tlsPair *tls.Certificate) (err error) {
	cfg := s.cfg
	dir := cfg.DataDir
	for _, d := range []string{dir, filepath.Join(dir, "blobs"), filepath.Join(dir, "pki")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("server: data directory: %w", err)
		}
	}

	// Service database: one group-committing writer and read-only
	// connections, shared by the api, workflow, signing and PKI-role
	// tables.
	if s.pool, err = sqldb.OpenPool(ctx, filepath.Join(dir, "signet.db"), migrations, readConns); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.closers = append(s.closers, s.pool.Close)
	s.db = s.pool.Writer()
	if s.api, err = apisqlite.New(ctx, s.pool); err != nil {
		return err
	}
	if s.accountsDB, err = accountssqlite.New(ctx, s.pool); err != nil {
		return err
	}

	// Listeners: the PKI's address goes into certificates and into the
	// audit log's anchoring (its built-in TSA).
	if s.pkiLn, err = listen("pki_listen", cfg.PKIListen); err != nil {
		return err
	}
	s.closers = append(s.closers, ignoreClosed(s.pkiLn.Close))
	if s.ln, err = listen("listen", cfg.Listen); err != nil {
		return err
	}
	s.closers = append(s.closers, ignoreClosed(s.ln.Close))

	// Audit log. Its checkpoint publisher follows the key manager, which
	// holds the checkpoint key and records through the log.
	sinkDir := filepath.Join(dir, "checkpoints")
	if err := os.MkdirAll(sinkDir, 0o700); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	secret, err := soft.LoadKeyFile(filepath.Join(dir, "audit.master"), rand.Reader)
	if err != nil {
		return fmt.Errorf("server: audit key: %w", err)
	}
	tk, err := auditlog.NewDerivedKeys(secret)
	clear(secret)
	if err != nil {
		return err
	}
	if s.auditStore, err = auditsqlite.Open(filepath.Join(dir, "audit.db")); err != nil {
		return err
	}
	s.closers = append(s.closers, s.auditStore.Close)
	if s.audit, err = auditlog.New(ctx, auditlog.Config{Storage: s.auditStore, Keys: tk, Now: o.now}); err != nil {
		return err
	}
	s.closers = append(s.closers, func() error { return s.audit.Shutdown(context.Background()) })
	if s.auditProbe, err = openProbe(filepath.Join(dir, "audit.db")); err != nil {
		return err
	}
	s.closers = append(s.closers, s.auditProbe.Close)

	// Keys.
	mk, err := soft.LoadMasterKey(filepath.Join(dir, "master.key"), o.masterKey, filepath.Join(dir, "keys"), rand.Reader)
	if err != nil {
		return fmt.Errorf("server: master key: %w", err)
	}
	backend, err := soft.New(soft.Config{Dir: filepath.Join(dir, "keys"), MasterKey: mk})
	ckm := hmac.New(sha256.New, mk)
	ckm.Write([]byte("signet recipient codes"))
	codeKey := ckm.Sum(nil)
	clear(mk)
	if err != nil {
		return err
	}
	if s.keyMeta, err = keysqlite.Open(ctx, filepath.Join(dir, "keys.db")); err != nil {
		return err
	}
	s.closers = append(s.closers, s.keyMeta.Close)
	if s.keys, err = keys.New(ctx, keys.Config{Store: s.keyMeta, Backends: []keys.Backend{backend}, Recorder: s.audit, Now: o.now}); err != nil {
		return err
	}

	// Checkpoints of the audit log, signed by the key store's checkpoint
	// key and anchored by an RFC 3161 time-stamp from the built-in TSA, a
	// copy in the write-once directory and the configured witnesses.
	anchorTSA := &tsa.Client{URLs: []string{"http://" + s.pkiLn.Addr().String() + "/tsa"}}
	anchorers := []auditlog.Anchorer{
		&anchor.Timestamper{Client: anchorTSA, Now: o.now},
		&anchor.SinkAnchorer{Sink: &anchor.FileSink{Dir: sinkDir}, Name: "file:" + sinkDir, Now: o.now},
	}
	for _, w := range cfg.Witnesses {
		k, err := anchor.ParseCosignerKey(w.Key)
		if err != nil {
			return fmt.Errorf("server: witness %s: %w", w.URL, err)
		}
		anchorers = append(anchorers, &anchor.Witness{Key: k, URL: w.URL, Now: o.now,
			ProofFrom: func(ctx context.Context, oldSize, newSize int64) (tlog.TreeProof, error) {
				return auditlog.ConsistencyProof(ctx, s.auditStore, oldSize, newSize)
			}})
	}
	checkpointKey, err := CheckpointSigner(ctx, dir, AuditOrigin, s.keys)
	if err != nil {
		return err
	}
	s.publisher, err = auditlog.NewPublisher(s.auditStore, auditlog.PublisherConfig{
		Origin: AuditOrigin, Signer: checkpointKey, Every: 10000, Interval: 10 * time.Second, Now: o.now, Logger: o.logger,
		Anchorers: anchorers,
	})
	if err != nil {
		return err
	}
	s.audit.SetPublisher(s.publisher)

	// PKI.
	if s.caStore, err = casqlite.Open(ctx, filepath.Join(dir, "pki.db")); err != nil {
		return err
	}
	s.closers = append(s.closers, s.caStore.Close)
	p := &pkiRoles{db: s.db, keys: s.keys, now: o.now, renewer: &ca.Renewer{Logger: o.logger, Now: o.now}}
	crls := &crl.Publisher{Source: s.caStore, Now: o.now, Logger: o.logger}
	if p.authority, err = ca.New(ca.Config{
		Store: s.caStore, Recorder: s.audit, BaseURL: "http://" + s.pkiLn.Addr().String(), Now: o.now,
		Keys: ca.BackendKeys{Backend: backend, Algorithm: keys.ECDSAP256},
	}); err != nil {
		return err
	}
	if p.PKI, err = pki.New(pki.Config{
		Store: p, Authority: p.authority, CRLs: crls, Renewer: p.renewer, Now: o.now,
		OCSP: &ocsp.Responder{Store: s.caStore, Now: o.now, Logger: o.logger},
	}); err != nil {
		return err
	}
	s.pki = p
	// The service's own requests to its PKI (checkpoint time-stamps,
	// validation data) are answered in process, outside the listener's
	// per-client limits.
	anchorTSA.HTTPClient = &http.Client{Transport: localTransport{p}}
	tenants, err := s.accountsDB.Tenants(ctx)
	if err != nil {
		return err
	}
	var ids []string
	for _, t := range tenants {
		ids = append(ids, t.ID)
	}
	if err := p.SetUp(ctx, ids); err != nil {
		return err
	}
	if err := writePEM(filepath.Join(dir, "pki", "root.pem"), p.Cert("ca/"+ca.RootName).Raw, 0o600); err != nil {
		return err
	}

	// TLS.
	tlsCfg, err := s.tlsConfig(ctx, tlsPair)
	if err != nil {
		return err
	}

	// API.
	s.router = api.NewRouter()
	fragments := [][]byte{api.OpenAPI, accounts.OpenAPI}
	s.accounts = &accounts.Service{Tenants: s.accountsDB, Keys: s.accountsDB, Recorder: s.audit, Provision: p.provisionTenant, Now: o.now}
	(&accounts.Handler{Service: s.accounts}).Register(s.router)
	(&api.Health{Checks: s.checks()}).Register(s.router)
	blobs, err := blob.NewFS(filepath.Join(dir, "blobs"))
	if err != nil {
		return err
	}
	s.blobs = blobs
	wfStore, err := workflowsqlite.New(ctx, s.pool)
	if err != nil {
		return err
	}
	sgStore, err := signingsqlite.New(ctx, s.pool)
	if err != nil {
		return err
	}
	var mailer mail.Mailer = &mail.Spool{Dir: filepath.Join(dir, "outbox"), Now: o.now}
	if cfg.SMTP.Addr != "" {
		host, port, _ := net.SplitHostPort(cfg.SMTP.Addr)
		pn, _ := strconv.Atoi(port)
		if mailer, err = mail.NewSMTP(mail.Config{Host: host, Port: pn, From: cfg.SMTP.From,
			Username: cfg.SMTP.Username, Password: o.smtpPassword, RequireTLS: cfg.SMTP.StartTLS}); err != nil {
			return err
		}
	}
	rootCert := p.Cert("ca/" + ca.RootName)
	pool := x509.NewCertPool()
	pool.AddCert(rootCert)
	tsaURLs, tsaHTTP, tsaRoots := cfg.TSAURLs, tsaHTTPClient(), pool
	validationRoots := []*x509.Certificate{rootCert}
	if len(tsaURLs) == 0 {
		// The built-in TSA answers in process: the token is requested,
		// issued and checked exactly as over the PKI listener.
		tsaURLs = []string{"http://" + s.pkiLn.Addr().String() + "/tsa"}
		tsaHTTP = &http.Client{Transport: localTransport{p}}
	} else {
		tsaRoots = x509.NewCertPool()
		for _, c := range tsaRootCerts {
			tsaRoots.AddCert(c)
		}
		validationRoots = append(validationRoots, tsaRootCerts...)
	}
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o700); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	sg, err := signing.New(signing.Config{
		Store: sgStore, Blobs: blobs, Mailer: mailer, Audit: s.audit, CA: p.authority, Seal: p,
		Timestamper: &tsa.Client{URLs: tsaURLs, Roots: tsaRoots, HTTPClient: tsaHTTP},
		Fetcher:     &ltv.Fetcher{Roots: validationRoots, HTTPClient: &http.Client{Transport: ownPKI{s.pkiLn.Addr().String(), localTransport{p}, http.DefaultTransport}}},
		LinkURL:     "https://" + s.ln.Addr().String() + "/sign", CodeKey: codeKey,
		TempDir: filepath.Join(dir, "tmp"), Now: o.now, Logger: o.logger,
	})
	if err != nil {
		return err
	}
	wf, err := workflow.New(workflow.Config{Documents: wfStore, Envelopes: wfStore, Blobs: blobs, Audit: s.audit,
		Notifier: sg, Completer: sg, MaxDocumentSize: cfg.MaxUploadSize, MaxDecodedSize: cfg.MaxDecodedSize, Now: o.now, Logger: o.logger})
	if err != nil {
		return err
	}
	sg.Bind(wf)
	s.workflow = wf
	(&workflow.Handler{Service: wf}).Register(s.router)
	(&signing.Handler{Service: sg}).Register(s.router)
	fragments = append(fragments, workflow.OpenAPI, signing.OpenAPI)
	for _, m := range o.mounts {
		m(s.router)
	}
	fragments = append(fragments, o.openapi...)
	if s.openapi, err = api.MergeOpenAPI(api.OpenAPIBase, fragments...); err != nil {
		return err
	}
	s.router.Handle("GET /v1/openapi.json", api.ServeOpenAPI(s.openapi))
	limiter := api.NewRateLimiter(*cfg.RateLimits)
	s.handler = api.Chain(s.router, api.Stack{
		Logger:      o.logger,
		MaxBody:     cfg.MaxUploadSize + 1<<20,
		Limiter:     limiter,
		Auth:        &api.Authenticator{Credentials: s.accounts.Verifier()},
		Idempotency: &api.Idempotency{Store: s.api, MaxBody: cfg.MaxUploadSize + 1<<20, Now: o.now},
	})
	errLog := slog.NewLogLogger(o.logger.Handler(), slog.LevelWarn)
	bodyTimeout := time.Duration(cfg.BodyReadTimeout)
	s.https = &http.Server{
		Handler: limitBodyRead(s.handler, bodyTimeout, cfg.BodyMinRate, o.logger), TLSConfig: tlsCfg, ErrorLog: errLog,
		ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
	}
	s.pkiHTTP = pki.HTTPServer(p, *cfg.PKILimits)
	s.pkiHTTP.ErrorLog = errLog

	// Bootstrap administrator, last: the key is printed only by a start
	// that succeeds, so a failed first start leaves it for the next one.
	if err := s.bootstrap(ctx, o.terminal); err != nil {
		return err
	}
	if cfg.SMTP.Addr == "" {
		o.logger.WarnContext(ctx, "no SMTP server configured: recipient e-mails are written to the data directory's outbox", "dir", filepath.Join(dir, "outbox"))
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

func writePEM(path string, der []byte, mode os.FileMode) error {
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writeFileAtomic(path, b, mode); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// Addr returns the HTTPS listener's address.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

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
	errc := make(chan error, 2)
	go func() { errc <- s.https.ServeTLS(s.ln, "", "") }()
	go func() { errc <- s.pkiHTTP.Serve(s.pkiLn) }()
	s.publisher.Start(context.WithoutCancel(ctx))
	renewer := s.pki.renewer
	s.background.Add(3)
	go func() {
		defer s.background.Done()
		s.workflow.Run(s.backgroundCtx, workflow.DefaultTick)
	}()
	go func() {
		defer s.background.Done()
		s.collectBlobs(s.backgroundCtx)
	}()
	go func() {
		defer s.background.Done()
		renewer.Run(s.backgroundCtx, time.Hour)
	}()
	s.logger.InfoContext(ctx, "signet serving", "https", "https://"+s.ln.Addr().String(), "pki", "http://"+s.pkiLn.Addr().String())
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
	return errors.Join(err, s.Shutdown(sctx))
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
		s.stopBackground()
		s.background.Wait()
		// A checkpoint over everything done, time-stamped while the audit
		// log still records the TSA key's use; then drain the log and sign
		// a last checkpoint over that use too (anchored in the write-once
		// directory; its time-stamp would need the closed log, so the next
		// start's first checkpoint carries one).
		if _, err := s.publisher.Publish(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := s.audit.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := s.publisher.Shutdown(ctx); err != nil {
			errs = append(errs, err)
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

// AuditOrigin names a data directory's audit log in its checkpoints.
const AuditOrigin = "signet.local/audit"

// readConns is the number of read-only connections to signet.db: reads of
// envelopes, links, sessions and keys run beside the single writer (WAL).
const readConns = 4

// tsaHTTPClient is the HTTP client of signature time-stamps: every
// recipient signature asks the TSA once, so it keeps as many idle
// connections as signatures run at once (net/http keeps two per host by
// default and would open a new connection for most requests).
func tsaHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: t}
}
