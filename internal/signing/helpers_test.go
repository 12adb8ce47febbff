package signing_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/blob"
	"github.com/signet-pki/signet/internal/identity"
	"github.com/signet-pki/signet/internal/identity/login"
	"github.com/signet-pki/signet/internal/identity/passkey"
	identitysqlite "github.com/signet-pki/signet/internal/identity/sqlite"
	"github.com/signet-pki/signet/internal/mail"
	"github.com/signet-pki/signet/internal/mail/mailtest"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/signing"
	signingsqlite "github.com/signet-pki/signet/internal/signing/sqlite"
	"github.com/signet-pki/signet/internal/sqldb"
	"github.com/signet-pki/signet/internal/workflow"
	workflowsqlite "github.com/signet-pki/signet/internal/workflow/sqlite"
	"github.com/signet-pki/signet/keys"
	"github.com/signet-pki/signet/keys/soft"
	keysqlite "github.com/signet-pki/signet/keys/sqlite"
	"github.com/signet-pki/signet/ltv"
	"github.com/signet-pki/signet/pades"
	"github.com/signet-pki/signet/pki/ca"
	"github.com/signet-pki/signet/pki/crl"
	"github.com/signet-pki/signet/tsa"
)

const tenant = "acme"

// clock is an injected, settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingLog is the real audit log, with a switch that makes recording
// fail (to test fail-closed paths) and a record of every event type.
type countingLog struct {
	log     *auditlog.Log
	failing atomic.Bool
	mu      sync.Mutex
	events  []auditlog.Event
}

func (c *countingLog) Record(ctx context.Context, e auditlog.Event) error {
	if c.failing.Load() {
		return errors.New("audit store down")
	}
	if err := c.log.Record(ctx, e); err != nil {
		return err
	}
	c.mu.Lock()
	c.events = append(c.events, e)
	c.mu.Unlock()
	return nil
}

func (c *countingLog) count(typ auditlog.EventType, outcome auditlog.Outcome) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, e := range c.events {
		if e.Type == typ && (outcome == "" || e.Outcome == outcome) {
			n++
		}
	}
	return n
}

// switchTSA is a Timestamper that can be made to fail.
type switchTSA struct {
	c    *tsa.Client
	down atomic.Bool
}

func (s *switchTSA) Timestamp(ctx context.Context, h crypto.Hash, d []byte) (*tsa.Token, error) {
	if s.down.Load() {
		return nil, errors.New("tsa: connection refused")
	}
	return s.c.Timestamp(ctx, h, d)
}

// seals is the tenants' seal keys from the key manager.
type seals struct {
	m  *keys.Manager
	mu sync.Mutex
	id map[string]string
}

func (s *seals) SealKey(ctx context.Context, t string) (crypto.Signer, ca.KeyRef, error) {
	s.mu.Lock()
	id, ok := s.id[t]
	if !ok {
		k, err := s.m.Create(ctx, keys.CreateRequest{Purpose: keys.PurposePlatformSeal, Algorithm: keys.ECDSAP256, Tenant: t, Label: "seal"})
		if err != nil {
			s.mu.Unlock()
			return nil, ca.KeyRef{}, err
		}
		id = k.ID
		s.id[t] = id
	}
	s.mu.Unlock()
	sg, ref, err := s.m.Signer(ctx, id, keys.PurposePlatformSeal)
	if err != nil {
		return nil, ca.KeyRef{}, err
	}
	return sg, ca.KeyRef{ID: ref.KeyID, Version: "1"}, nil
}

// env is a complete recipient-side stack: real audit log, CA, key
// backend, TSA over HTTP, CRLs over HTTP, SQLite stores, blob store,
// workflow and SMTP to a capturing server.
type env struct {
	t        testing.TB
	clock    *clock
	audit    *countingLog
	mailbox  *mailtest.Server
	tsa      *switchTSA
	wf       *workflow.Service
	svc      *signing.Service
	notifier *signing.Notifier
	cfg      signing.Config
	wfCfg    workflow.Config // without notifier and completer, which each node makes
	store    *signingsqlite.Store
	wfStore  *workflowsqlite.Store
	blobs    *blob.FS
	root     *x509.Certificate
	api      http.Handler
	docCount int
	// dir holds every file of the env (databases, blobs, keys).
	dir string
	// logs receives every log line of the services and of the API's
	// request logger.
	logs *lockedBuffer
	// users is the identity store (in signet.db) of the registered
	// users behind passkey recipients, and passkeys the relying party.
	users    identity.Store
	passkeys *passkey.Service
	// totpSealer seals the registered users' TOTP secrets, as the login
	// service's sealer does.
	totpSealer login.Sealer
	// authz counts the authorizer's decisions by effect.
	authz *testAuthorizer
}

// Passkey relying party of the tests.
const (
	rpID     = "signet.example"
	rpOrigin = "https://signet.example"
)

// testAuthorizer stands in for internal/access in front of the recipient
// routes: it decides with internal/authz (each tenant's strict default
// policy, the env's clock) and answers as internal/access does.
type testAuthorizer struct {
	now       func() time.Time
	mu        sync.Mutex
	decisions map[authz.Effect]int
}

func (a *testAuthorizer) Authorize(ctx context.Context, p api.Principal, c api.AccessCheck) error {
	act, err := authz.ParseAction(c.Action)
	if err != nil {
		return &api.Error{Kind: api.KindInternal, Detail: "unknown action", Err: err}
	}
	if p.Kind != api.PrincipalRecipient {
		return &api.Error{Kind: api.KindForbidden, Type: "forbidden", Detail: "the test authorizer knows recipients only"}
	}
	ap := authz.Principal{Kind: authz.KindRecipient, ID: p.ID, Tenant: p.Tenant, Envelope: p.Envelope,
		StrongAuth: authz.Authentication{Method: authz.Method(p.StrongAuth.Method), At: p.StrongAuth.At}}
	req := authz.Request{Action: act, Tenant: c.Tenant, Envelope: c.Envelope, HighAssurance: c.HighAssurance}
	if req.Tenant == "" {
		req.Tenant = p.Tenant
	}
	d := authz.Decide(ap, req, authz.TenantPolicy{Tenant: p.Tenant}, a.now())
	a.mu.Lock()
	a.decisions[d.Effect]++
	a.mu.Unlock()
	switch d.Effect {
	case authz.Allow:
		return nil
	case authz.StepUpRequired:
		return &api.Error{Kind: api.KindUnauthorized, Type: "step-up-required", Detail: d.Reason}
	}
	return &api.Error{Kind: api.KindForbidden, Type: "forbidden", Detail: "not permitted: " + d.Reason}
}

func (a *testAuthorizer) count(e authz.Effect) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.decisions[e]
}

// lockedBuffer is a log destination safe for concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// envOptions adjust a new env: the locks of its services, and its
// configurations before the first node is built.
type envOptions struct {
	locks  workflow.Locker
	adjust func(cfg *signing.Config, wf *workflow.Config)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvLocks(t, nil)
}

// newEnvLocks is newEnv whose workflow and signing service take their
// locks from locks (nil: in-process locks of their own).
func newEnvLocks(t *testing.T, locks workflow.Locker) *env {
	t.Helper()
	return newEnvOptions(t, envOptions{locks: locks})
}

// newEnvOptions is newEnv adjusted by o.
func newEnvOptions(t testing.TB, o envOptions) *env {
	t.Helper()
	locks := o.locks
	ctx := context.Background()
	dir := t.TempDir()
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	master := make([]byte, 32)
	rand.Read(master)
	tk, err := auditlog.NewDerivedKeys(master)
	if err != nil {
		t.Fatal(err)
	}
	alog, err := auditlog.New(ctx, auditlog.Config{Storage: auditlog.NewMemStore(), Keys: tk})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { alog.Shutdown(context.Background()) })
	audit := &countingLog{log: alog}

	backend, err := soft.New(soft.Config{Dir: filepath.Join(dir, "keys"), MasterKey: master})
	if err != nil {
		t.Fatal(err)
	}
	keyMeta, err := keysqlite.Open(ctx, filepath.Join(dir, "keys.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keyMeta.Close() })
	km, err := keys.New(ctx, keys.Config{Store: keyMeta, Backends: []keys.Backend{backend}, Recorder: audit})
	if err != nil {
		t.Fatal(err)
	}

	// The PKI endpoints: CA certificates, CRLs and the TSA.
	var pkiHandler atomic.Value
	pkiSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pkiHandler.Load().(http.Handler).ServeHTTP(w, r)
	}))
	t.Cleanup(pkiSrv.Close)
	caStore := ca.NewMemStore()
	auth, err := ca.New(ca.Config{
		Store: caStore, Recorder: audit, BaseURL: pkiSrv.URL, Now: clk.Now,
		Keys: ca.BackendKeys{Backend: backend, Algorithm: keys.ECDSAP256},
	})
	if err != nil {
		t.Fatal(err)
	}
	rootKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	root, err := auth.NewRoot(ctx, rootKey, ca.KeyRef{ID: "root", Version: "1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	platKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	plat, err := auth.NewIssuing(ctx, ca.IssuingRequest{Name: ca.PlatformName, Signer: platKey, Key: ca.KeyRef{ID: "platform", Version: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	tenKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ten, err := auth.NewIssuing(ctx, ca.IssuingRequest{Name: tenant, Tenant: tenant, Signer: tenKey, Key: ca.KeyRef{ID: "tenant", Version: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	tsaKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tsaCert, err := auth.IssueTSA(ctx, ca.PlatformName, tsaKey.Public(), ca.KeyRef{ID: "tsa", Version: "1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	archiveKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	archiveCert, err := auth.IssueArchiveTSA(ctx, archiveKey.Public(), ca.KeyRef{ID: "tsa-archive", Version: "1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	crls := &crl.Publisher{Source: caStore, Now: clk.Now}
	for _, iss := range []*ca.Issuer{root, plat, ten} {
		if err := crls.SetIssuer(iss.Name, iss.Certificate, iss.Signer); err != nil {
			t.Fatal(err)
		}
	}
	tsaSrv := &tsa.Server{Signer: tsaKey, Certificate: tsaCert, Chain: []*x509.Certificate{plat.Certificate},
		Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 1, 2}, Hash: crypto.SHA256, Now: clk.Now}
	byName := map[string]*x509.Certificate{ca.RootName: root.Certificate, ca.PlatformName: plat.Certificate, tenant: ten.Certificate}
	mux := http.NewServeMux()
	mux.Handle("/crl/", http.StripPrefix("/crl", crls))
	mux.Handle("/tsa", tsaSrv)
	mux.Handle("/tsa/archive", &tsa.Server{Signer: archiveKey, Certificate: archiveCert,
		Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 32473, 1, 2}, Hash: crypto.SHA384, Now: clk.Now})
	mux.HandleFunc("/ca/{file}", func(w http.ResponseWriter, r *http.Request) {
		c := byName[strings.TrimSuffix(r.PathValue("file"), ".crt")]
		if c == nil {
			http.NotFound(w, r)
			return
		}
		w.Write(c.Raw)
	})
	pkiHandler.Store(http.Handler(mux))
	roots := x509.NewCertPool()
	roots.AddCert(root.Certificate)
	ts := &switchTSA{c: &tsa.Client{URLs: []string{pkiSrv.URL + "/tsa"}, Roots: roots}}

	box, err := mailtest.New(mailtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { box.Close() })
	mailer, err := mail.NewSMTP(mail.Config{Host: box.Host(), Port: box.Port(), From: "signet@example.org"})
	if err != nil {
		t.Fatal(err)
	}

	// One service database for both stores, as the server has.
	pool, err := sqldb.OpenPool(ctx, filepath.Join(dir, "signet.db"), nil, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	wfStore, err := workflowsqlite.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	st, err := signingsqlite.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := blob.NewFS(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	users, err := identitysqlite.New(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	pks, err := passkey.New(passkey.Config{RPID: rpID, RPName: "Signet", Origins: []string{rpOrigin}, Timeout: 5 * time.Minute}, users, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	codeKey := make([]byte, 32)
	rand.Read(codeKey)
	totpSealer := newGCMSealer(t)
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := signing.Config{
		Store: st, Mailer: mailer, Audit: audit, CA: auth,
		Seal: &seals{m: km, id: map[string]string{}}, Timestamper: ts,
		ArchiveTimestamper: &tsa.Client{URLs: []string{pkiSrv.URL + "/tsa/archive"}, Roots: roots},
		Fetcher:            &ltv.Fetcher{Roots: []*x509.Certificate{root.Certificate}},
		LinkURL:            "https://signet.example/sign", CodeKey: codeKey, Now: clk.Now,
		Locks: locks, Logger: logger, Passkeys: pks, Users: users,
		TOTPSecrets: login.TOTPKeys{Sealer: totpSealer}, TOTPEnrolments: users,
	}
	e := &env{
		t: t, clock: clk, audit: audit, mailbox: box, tsa: ts, cfg: cfg, store: st, wfStore: wfStore,
		blobs: blobs, root: root.Certificate, dir: dir, logs: logs, users: users, passkeys: pks, totpSealer: totpSealer,
		authz: &testAuthorizer{now: clk.Now, decisions: map[authz.Effect]int{}},
		wfCfg: workflow.Config{Documents: wfStore, Envelopes: wfStore, Blobs: blobs, Audit: audit, Now: clk.Now, Locks: locks, Logger: logger},
	}
	if o.adjust != nil {
		o.adjust(&e.cfg, &e.wfCfg)
	}
	n := e.node()
	e.wf, e.svc, e.notifier, e.api = n.wf, n.svc, n.notifier, n.api
	return e
}

// A node is a Signet node's recipient side over the env's stores, audit
// log, PKI and mailer, with its own notifier, sealer, workflow and
// signing service, and the recipient API in front of them.
type node struct {
	wf       *workflow.Service
	svc      *signing.Service
	notifier *signing.Notifier
	api      http.Handler
}

// node builds a node as the server does: the notifier and the sealer
// first, then the workflow that calls them, then the service over the
// workflow.
func (e *env) node() *node {
	e.t.Helper()
	notifier, err := signing.NewNotifier(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	sealer, err := signing.NewSealer(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	wfCfg := e.wfCfg
	wfCfg.Notifier, wfCfg.Completer = notifier, sealer
	wf, err := workflow.New(wfCfg)
	if err != nil {
		e.t.Fatal(err)
	}
	svc, err := signing.New(e.cfg, wf, notifier)
	if err != nil {
		e.t.Fatal(err)
	}
	router := http.NewServeMux()
	(&signing.Handler{Service: svc}).Register(router)
	logger := e.cfg.Logger
	h := apiKeys(router)
	// The server's gate puts the authorizer into every request's
	// context; the session routes ask it.
	withLogger := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := api.WithAuthorizer(r.Context(), e.authz)
		if logger != nil {
			ctx = api.WithLogger(ctx, logger)
		}
		h.ServeHTTP(w, r.WithContext(ctx))
	})
	return &node{wf: wf, svc: svc, notifier: notifier, api: withLogger}
}

// testKeys are the API keys apiKeys knows, by their secret.
var testKeys = map[string]api.Principal{
	"sender":   {Kind: api.PrincipalAPIKey, ID: "key_sender", Tenant: tenant, Roles: []string{"sender"}, Actions: []string{"envelope.send"}},
	"globex":   {Kind: api.PrincipalAPIKey, ID: "key_globex", Tenant: "globex", Roles: []string{"sender"}, Actions: []string{"envelope.send"}},
	"platform": {Kind: api.PrincipalAPIKey, ID: "key_admin", Platform: true, Actions: []string{"tenant.admin"}},
}

// apiKeys stands in for the server's API-key authentication in front of
// next: "Authorization: Bearer <name>" acts as testKeys[name]; any other
// request goes through without a principal.
func apiKeys(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if name, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			if p, ok := testKeys[name]; ok {
				r = r.WithContext(api.WithPrincipal(r.Context(), p))
			}
		}
		next.ServeHTTP(w, r)
	})
}

var sender = workflow.Actor{Tenant: tenant, Kind: auditlog.ActorService, ID: "key_sender"}

// newEnvelope uploads ndocs sample documents and sends an envelope to
// recipients, returning it.
func (e *env) newEnvelope(ndocs int, recipients ...workflow.RecipientInput) *workflow.Envelope {
	e.t.Helper()
	ctx := context.Background()
	var ids []string
	for i := 0; i < ndocs; i++ {
		e.docCount++
		var b bytes.Buffer
		if err := pdf.WriteSample(&b, pdf.SampleOptions{Pages: 1, Title: "Contract " + strings.Repeat("I", e.docCount)}); err != nil {
			e.t.Fatal(err)
		}
		d, err := e.wf.Upload(ctx, sender, "contract.pdf", &b)
		if err != nil {
			e.t.Fatal(err)
		}
		ids = append(ids, d.ID)
	}
	env, err := e.wf.CreateEnvelope(ctx, sender, workflow.CreateRequest{
		Subject: "Employment contract", Documents: ids, Recipients: recipients,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if env, err = e.wf.Send(ctx, sender, env.ID); err != nil {
		e.t.Fatal(err)
	}
	return env
}

func signer(name, email string, order int) workflow.RecipientInput {
	return workflow.RecipientInput{Role: workflow.RoleSigner, Name: name, Email: email, Auth: workflow.AuthEmailOTP, Order: order}
}

var (
	linkRE = regexp.MustCompile(`https://signet\.example/sign#([A-Za-z0-9_-]{43})`)
	codeRE = regexp.MustCompile(`your Signet code is ([0-9]{6})`)
)

// link waits for the n-th email to addr (1-based) and returns the link
// token in it.
func (e *env) link(addr string, n int) string {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msgs, err := e.mailbox.Wait(ctx, addr, n)
	if err != nil {
		e.t.Fatal(err)
	}
	m := linkRE.FindStringSubmatch(msgs[n-1].Body)
	if m == nil {
		e.t.Fatalf("message %d to %s has no link: %q", n, addr, msgs[n-1].Subject)
	}
	return m[1]
}

// lastCode returns the code in the newest email to addr.
func (e *env) lastCode(addr string) string {
	e.t.Helper()
	msgs := e.mailbox.To(addr)
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := codeRE.FindStringSubmatch(msgs[i].Body); m != nil {
			return m[1]
		}
	}
	e.t.Fatalf("no code sent to %s", addr)
	return ""
}

// call performs a request against the recipient API and decodes a JSON
// answer into out (if not nil). It returns the status and, for errors,
// the problem.
func (e *env) call(method, path, scheme, token string, body any, out any) (int, api.Problem) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if scheme != "" {
		req.Header.Set("Authorization", scheme+" "+token)
	}
	w := httptest.NewRecorder()
	e.api.ServeHTTP(w, req)
	var p api.Problem
	if w.Code >= 400 {
		if ct := w.Header().Get("Content-Type"); ct != api.ContentTypeProblem {
			e.t.Fatalf("%s %s: status %d with content type %q, want problem+json", method, path, w.Code, ct)
		}
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
			e.t.Fatalf("%s %s: problem body: %v", method, path, err)
		}
		return w.Code, p
	}
	if out != nil {
		if b, ok := out.(*[]byte); ok {
			*b = w.Body.Bytes()
		} else if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			e.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return w.Code, p
}

// session runs code + verify for the link token and returns the session
// token.
func (e *env) session(addr, link string) string {
	e.t.Helper()
	if st, p := e.call("POST", "/v1/recipient/code", "Link", link, nil, nil); st != http.StatusAccepted {
		e.t.Fatalf("code: %d %+v", st, p)
	}
	var v struct{ Session string }
	if st, p := e.call("POST", "/v1/recipient/verify", "Link", link, map[string]string{"code": e.lastCode(addr)}, &v); st != http.StatusOK {
		e.t.Fatalf("verify: %d %+v", st, p)
	}
	return v.Session
}

// signAs consents and signs with session ss.
func (e *env) signAs(ss string) signing.SignResult {
	e.t.Helper()
	if st, p := e.call("POST", "/v1/recipient/consent", "Session", ss, map[string]bool{"consent": true}, nil); st != http.StatusOK {
		e.t.Fatalf("consent: %d %+v", st, p)
	}
	var res signing.SignResult
	if st, p := e.call("POST", "/v1/recipient/sign", "Session", ss, nil, &res); st != http.StatusOK {
		e.t.Fatalf("sign: %d %+v", st, p)
	}
	return res
}

// verifyPDF checks b with pades.Verify against the test root.
func (e *env) verifyPDF(b []byte) *pades.Report {
	e.t.Helper()
	return e.verifyPDFAt(b, time.Now())
}

// verifyPDFAt is verifyPDF with the validation time at.
func (e *env) verifyPDFAt(b []byte, at time.Time) *pades.Report {
	e.t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(e.root)
	rep, err := pades.Verify(bytes.NewReader(b), int64(len(b)), pades.VerifyOptions{Roots: roots, Now: func() time.Time { return at }})
	if err != nil {
		e.t.Fatal(err)
	}
	return rep
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
