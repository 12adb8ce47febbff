package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/auditlog/anchor"
	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/archive"
	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/evidence"
	"github.com/signet-pki/signet/internal/identity/login"
	"github.com/signet-pki/signet/internal/identity/passkey"
	"github.com/signet-pki/signet/internal/mail"
	"github.com/signet-pki/signet/internal/mail/sms"
	"github.com/signet-pki/signet/internal/signing"
	"github.com/signet-pki/signet/internal/verify"
	"github.com/signet-pki/signet/internal/webhook"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/keys/atrest"
	"github.com/signet-pki/signet/ltv"
	"github.com/signet-pki/signet/pki"
	"github.com/signet-pki/signet/pki/ca"
	"github.com/signet-pki/signet/tsa"
)

// The subsystem openers of [New]. Each builds one part from what the
// earlier ones built; what they open is closed by the data directory or
// registered in s.closers.

// openListeners binds the PKI listener, then the HTTPS one.
func (s *Server) openListeners() (ln, pkiLn net.Listener, err error) {
	if pkiLn, err = listen("pki_listen", s.cfg.PKIListen); err != nil {
		return nil, nil, err
	}
	s.closers = append(s.closers, ignoreClosed(pkiLn.Close))
	if ln, err = listen("listen", s.cfg.Listen); err != nil {
		return nil, nil, err
	}
	s.closers = append(s.closers, ignoreClosed(ln.Close))
	return ln, pkiLn, nil
}

// pkiURL is the base URL of the PKI listener.
// pkiURL is the base URL of the PKI endpoints in certificates: pki_url,
// or the PKI listener's own address.
func (s *Server) pkiURL() string {
	if s.cfg.PKIURL != "" {
		return strings.TrimSuffix(s.cfg.PKIURL, "/")
	}
	return "http://" + s.pkiLn.Addr().String()
}

// auditTrail is the audit log with its storage, the handle that checks it
// accepts writes, and its checkpoint publisher.
type auditTrail struct {
	log       *auditlog.Log
	store     auditlog.Storage
	writable  func(context.Context) error
	publisher *auditlog.Publisher
}

func openAudit(ctx context.Context, dir *datadir.Dir) (*auditTrail, error) {
	a := &auditTrail{}
	var err error
	if a.log, err = dir.AuditLog(ctx); err != nil {
		return nil, err
	}
	if a.store, err = dir.AuditStore(ctx); err != nil {
		return nil, err
	}
	if a.writable, err = dir.AuditWritable(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// openPublisher sets up the audit log's checkpoints, signed by signer and
// anchored by an RFC 3161 time-stamp from the built-in TSA, a copy in the
// write-once directory and the configured witnesses, and attaches the
// publisher to the log.
func (s *Server) openPublisher(signer note.Signer, o options) (*auditlog.Publisher, error) {
	sinkDir, err := s.dir.Checkpoints()
	if err != nil {
		return nil, err
	}
	// The service's own requests to its PKI are answered in process,
	// outside the listener's per-client limits.
	anchorTSA := s.obs.tsaClient(&tsa.Client{URLs: []string{s.pkiURL() + "/tsa"}, HTTPClient: &http.Client{Transport: localTransport{s.pki}}})
	anchorers := []auditlog.Anchorer{logBound{&anchor.Timestamper{Client: anchorTSA, Now: o.now}}}
	if !s.dir.Postgres() {
		// The write-once copies are the node's own: with several nodes
		// on one database, whichever publishes would keep a part of
		// them, so there the time-stamps and witnesses anchor alone.
		anchorers = append(anchorers, &anchor.SinkAnchorer{Sink: &anchor.FileSink{Dir: sinkDir}, Name: "file:" + sinkDir, Now: o.now})
	}
	store := s.audit.store
	for _, w := range s.cfg.Witnesses {
		k, err := anchor.ParseCosignerKey(w.Key)
		if err != nil {
			return nil, fmt.Errorf("server: witness %s: %w", w.URL, err)
		}
		anchorers = append(anchorers, &anchor.Witness{Key: k, URL: w.URL, Now: o.now,
			ProofFrom: func(ctx context.Context, oldSize, newSize int64) (tlog.TreeProof, error) {
				return auditlog.ConsistencyProof(ctx, store, oldSize, newSize)
			}})
	}
	p, err := auditlog.NewPublisher(store, auditlog.PublisherConfig{
		Origin: datadir.AuditOrigin, Signer: signer, Every: 10000, Interval: 10 * time.Second, Now: o.now, Logger: o.logger,
		Anchorers: anchorers,
	})
	if err != nil {
		return nil, err
	}
	s.audit.log.SetPublisher(p)
	return p, nil
}

// openMailer returns the SMTP mailer, or without an SMTP server the
// outbox spool of the data directory, whose messages are sealed under
// the data directory's outbox key (and those spooled in clear by an
// earlier version sealed now).
func (s *Server) openMailer(ctx context.Context, o options) (mail.Mailer, error) {
	c := s.cfg.SMTP
	if c.Addr == "" {
		key, err := s.dir.OutboxKey(ctx)
		if err != nil {
			return nil, err
		}
		s.outbox = &mail.Spool{Dir: s.dir.Outbox(), Key: key, Now: o.now}
		if _, err := s.outbox.SealClear(ctx); err != nil {
			return nil, err
		}
		return s.outbox, nil
	}
	host, port, err := c.hostPort()
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return mail.NewSMTP(mail.Config{Host: host, Port: port, From: c.From,
		Username: c.Username, Password: o.smtpPassword, RequireTLS: c.StartTLS})
}

// The keys at rest are the workflow's and the recipient side's key ring.
var _ workflow.KeyRing = (*atrest.Service)(nil)

// openSigning builds the envelope workflow and the recipient side
// (links, codes, signatures, the completion seal) over the stores, the
// PKI and the time-stamp authority: the built-in one, or the configured
// ones trusted through tsaRootCerts.
func (s *Server) openSigning(ctx context.Context, mailer mail.Mailer, tsaRootCerts []*x509.Certificate, o options) (*signing.Service, error) {
	codeKey, err := s.dir.RecipientCodeKey(ctx)
	if err != nil {
		return nil, err
	}
	p := s.pki
	rootCert := p.Cert("ca/" + ca.RootName)
	roots := x509.NewCertPool()
	roots.AddCert(rootCert)
	tsaURLs, tsaHTTP, tsaRoots := s.cfg.TSAURLs, tsaHTTPClient(), roots
	validationRoots := []*x509.Certificate{rootCert}
	if len(tsaURLs) == 0 {
		// The built-in TSA answers in process: the token is requested,
		// issued and checked exactly as over the PKI listener.
		tsaURLs = []string{s.pkiURL() + "/tsa"}
		tsaHTTP = &http.Client{Transport: localTransport{p}}
	} else {
		tsaRoots = x509.NewCertPool()
		for _, c := range tsaRootCerts {
			tsaRoots.AddCert(c)
		}
		validationRoots = append(validationRoots, tsaRootCerts...)
	}
	st := s.stores
	var gateway *sms.Gateway
	if g := s.cfg.SMSGateway; g != nil {
		if gateway, err = sms.New(sms.Config{URL: g.URL, Token: o.secretOf(g.TokenEnv), Timeout: time.Duration(g.Timeout)}); err != nil {
			return nil, fmt.Errorf("server: sms_gateway: %w", err)
		}
	}
	if s.identitySealer, err = s.dir.IdentitySealer(ctx); err != nil {
		return nil, err
	}
	passkeys, err := passkey.New(s.cfg.webAuthn(), st.Identity, o.now)
	if err != nil {
		return nil, fmt.Errorf("server: identity.webauthn: %w", err)
	}
	s.passkeys = passkeys
	s.timestamper = &tsa.Client{URLs: tsaURLs, Roots: tsaRoots, HTTPClient: tsaHTTP, Now: o.now}
	s.archiveTimestamper = s.timestamper
	if len(s.cfg.TSAURLs) == 0 {
		// The built-in archive TSA, whose certificate from the root
		// outlives the TSA's: the latest time-stamp of sealed documents.
		s.archiveTimestamper = &tsa.Client{URLs: []string{s.pkiURL() + pki.ArchiveTSAPath}, Roots: tsaRoots, HTTPClient: tsaHTTP, Now: o.now}
	}
	s.fetcher = &ltv.Fetcher{Roots: validationRoots, HTTPClient: &http.Client{Transport: ownPKI{[]string{s.pkiLn.Addr().String(), strings.TrimPrefix(s.pkiURL(), "http://")}, localTransport{p}, http.DefaultTransport}}}
	cfg := signing.Config{
		Store: st.Signing, Mailer: mailer, Audit: s.audit.log, CA: p.authority, Seal: p,
		Timestamper: s.timestamper, ArchiveTimestamper: s.archiveTimestamper,
		Fetcher: s.fetcher,
		LinkURL: "https://" + s.ln.Addr().String() + "/sign", CodeKey: codeKey,
		Now: o.now, Logger: o.logger, Locks: s.locks,
		AllowLinkOnly: s.cfg.AllowLinkOnlyRecipients,
		Passkeys:      passkeys, Users: st.Identity,
		TOTPEnrolments: st.Identity, TOTPSecrets: login.TOTPKeys{Sealer: s.identitySealer, Keys: s.keyRing},
		Keys:        s.keyRing,
		ObserveSign: s.obs.signHook(),
	}
	if gateway != nil {
		cfg.SMS = gateway
	}
	if s.webhooks != nil {
		cfg.Webhooks = s.webhooks
	}
	// The workflow calls the notifier and the sealer, which need nothing
	// of it; the service calls the workflow.
	notifier, err := signing.NewNotifier(cfg)
	if err != nil {
		return nil, err
	}
	sealer, err := signing.NewSealer(cfg)
	if err != nil {
		return nil, err
	}
	s.sealer = sealer
	if s.workflow, err = workflow.New(workflow.Config{Documents: st.Documents, Envelopes: st.Envelopes, Blobs: st.Blobs, Audit: s.audit.log,
		Locks: s.locks, Notifier: notifier, Completer: sealer, MaxDocumentSize: s.cfg.MaxUploadSize, MaxDecodedSize: s.cfg.MaxDecodedSize, Now: o.now, Logger: o.logger,
		AllowLinkOnly: s.cfg.AllowLinkOnlyRecipients, SMSGateway: gateway != nil, Keys: s.keyRing,
		Retention: time.Duration(s.cfg.Retention.FinishedEnvelopes), Webhooks: s.workflowWebhooks()}); err != nil {
		return nil, err
	}
	// Rows stored in clear (before the service had keys) are sealed
	// before anything reads them: reads of such rows fail closed.
	if n, err := s.workflow.SealStored(ctx); err != nil {
		return nil, fmt.Errorf("server: sealing stored workflow fields: %w", err)
	} else if n > 0 {
		o.logger.InfoContext(ctx, "sealed workflow fields stored in clear", "rows", n)
	}
	sg, err := signing.New(cfg, s.workflow, notifier)
	if err != nil {
		return nil, err
	}
	// Recipient sessions stored in clear are refused with keys: drop them.
	if n, err := sg.PurgeClearSessions(ctx); err != nil {
		return nil, fmt.Errorf("server: purging recipient sessions stored in clear: %w", err)
	} else if n > 0 {
		o.logger.InfoContext(ctx, "removed recipient sessions stored in clear", "sessions", n)
	}
	return sg, nil
}

// openHTTP builds the API router with its handlers and OpenAPI document,
// the middleware, and the HTTPS and PKI servers.
func (s *Server) openHTTP(ctx context.Context, tlsCfg *tls.Config, sg *signing.Service, o options) error {
	cfg := s.cfg
	s.router = api.NewRouter()
	s.accounts = &accounts.Service{Tenants: s.stores.Tenants, Keys: s.stores.APIKeys, Tokens: s.stores.Tokens,
		Recorder: s.audit.log, Provision: s.pki.provisionTenant, Now: o.now}
	if s.atRest != nil {
		// A deleted tenant's data keys are crypto-shredded: its KEK's
		// versions are destroyed in custody.
		s.accounts.ShredTenant = s.atRest.ShredTenant
	}
	(&accounts.Handler{Service: s.accounts}).Register(s.router)
	(&api.Health{Checks: s.checks()}).Register(s.router)
	av, adminAPIs, err := s.openAdmin(ctx, o)
	if err != nil {
		return err
	}
	(&workflow.Handler{Service: s.workflow, Audit: av}).Register(s.router)
	(&signing.Handler{Service: sg}).Register(s.router)
	s.openVerify(o)
	ev, err := s.openEvidence(ctx, o)
	if err != nil {
		return err
	}
	(&evidence.Handler{Service: ev}).Register(s.router)
	(&archive.Handler{Service: s.archive}).Register(s.router)
	(&webhook.Handler{Service: s.webhooks}).Register(s.router)
	fragments := [][]byte{api.OpenAPI, accounts.OpenAPI, workflow.OpenAPI, signing.OpenAPI, verify.OpenAPI, evidence.OpenAPI, archive.OpenAPI, webhook.OpenAPI, s.openWeb()}
	fragments = append(fragments, adminAPIs...)
	var more [][]byte
	if s.people, more, err = s.openPeople(ctx, o); err != nil {
		return err
	}
	fragments = append(fragments, more...)
	for _, m := range o.mounts {
		m(s.router)
	}
	fragments = append(fragments, o.openapi...)
	if s.openapi, err = api.MergeOpenAPI(api.OpenAPIBase, fragments...); err != nil {
		return err
	}
	s.router.Handle("GET /v1/openapi.json", api.ServeOpenAPI(s.openapi))
	declared, err := api.OpenAPIAccess(s.openapi)
	if err != nil {
		return err
	}
	idemKey, err := s.dir.IdempotencyHashKey(ctx)
	if err != nil {
		return err
	}
	idemBodyKey, err := s.dir.IdempotencyBodyKey(ctx)
	if err != nil {
		return err
	}
	s.handler = api.Chain(s.router, api.Stack{
		Logger:  o.logger,
		MaxBody: cfg.MaxUploadSize + 1<<20,
		Limiter: s.obs.limiter(api.NewRateLimiter(*cfg.RateLimits)),
		Auth: &api.Authenticator{Credentials: s.accounts.Verifier(), Sessions: s.people.login,
			Public: func(r *http.Request) bool {
				// The routes the OpenAPI document declares public, and
				// those whose handlers authenticate their own principal,
				// need no credential.
				_, pattern := s.router.Handler(r)
				return declared[pattern].Public || selfAuthenticated(r)
			}},
		Gate: &api.Gate{Router: s.router, Access: declared, Authorizer: s.people.authorizer,
			SelfAuthenticated: selfAuthenticated, PendingAllowed: login.PendingAllowed},
		Idempotency: &api.Idempotency{Store: s.stores.Idempotency, MaxBody: cfg.MaxUploadSize + 1<<20, Now: o.now, HashKey: idemKey, BodyKey: idemBodyKey},
		Observer:    s.obs.requestObserver(),
	})
	errLog := slog.NewLogLogger(o.logger.Handler(), slog.LevelWarn)
	s.https = &http.Server{
		Handler: limitBodyRead(limitResponseWrite(s.handler, time.Duration(cfg.BodyReadTimeout), cfg.BodyMinRate, o.logger),
			time.Duration(cfg.BodyReadTimeout), cfg.BodyMinRate, o.logger),
		TLSConfig: tlsCfg, ErrorLog: errLog,
		ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
	}
	s.pkiHTTP = pki.HTTPServer(s.pki, *cfg.PKILimits)
	s.pkiHTTP.ErrorLog = errLog
	return nil
}

// openVerify mounts the public verification (POST /v1/verify), trusting
// what the server trusts: its root and the configured TSAs' roots.
func (s *Server) openVerify(o options) {
	roots := x509.NewCertPool()
	for _, c := range s.fetcher.Roots {
		roots.AddCert(c)
	}
	cfg := verify.Config{Roots: roots, MaxBody: s.cfg.MaxUploadSize, Now: o.now}
	if r := s.cfg.VerifyRateLimit; r != nil {
		cfg.Rate = *r
	}
	verify.New(cfg).Register(s.router)
}

// openEvidence builds the evidence bundles' service: the workflow, the
// audit log's storage and tenant keys, the tenants' seal, the archive
// time-stamp authority, the root and the log's verifier keys (audit.pub,
// which the checkpoint key's opening keeps current).
func (s *Server) openEvidence(ctx context.Context, o options) (*evidence.Service, error) {
	keys, err := s.dir.AuditKeys(ctx)
	if err != nil {
		return nil, err
	}
	pub := s.dir.File(datadir.AuditPub)
	return evidence.New(evidence.Config{
		Workflow: s.workflow, Audit: s.audit.store, Recorder: s.audit.log, AuditKeys: keys,
		Sealer: s.sealer, Timestamper: s.archiveTimestamper, Root: s.pki.Cert("ca/" + ca.RootName),
		LogKeys: func(context.Context) (string, error) {
			b, err := os.ReadFile(pub)
			return string(b), err
		},
		Now: o.now,
	})
}

// logBound marks the built-in TSA's anchorer: each time-stamp is a use of
// the TSA key, recorded in the audit log it anchors, so the publisher's
// last checkpoint at shutdown (after the log has closed) is left to the
// next start's first one.
type logBound struct{ auditlog.Anchorer }

// AnchorsThroughLog implements [auditlog.LogBoundAnchorer].
func (logBound) AnchorsThroughLog() bool { return true }
