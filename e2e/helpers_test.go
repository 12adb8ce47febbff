package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	auditsqlite "github.com/signet-pki/signet/auditlog/sqlite"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/apiclient"
	"github.com/signet-pki/signet/internal/mail/mailtest"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/pades"
)

var bootstrapKeyRE = regexp.MustCompile(`\bsk_[A-Za-z0-9_-]+`)

// instance is a running server over a data directory, restartable on the
// same ports (certificates name the PKI address, so it must not move).
type instance struct {
	t       *testing.T
	dir     string
	listen  string
	pki     string
	mailbox *mailtest.Server
	limits  *api.RateLimits
	// configure, if set, changes the configuration before each start.
	configure func(*server.Config)
	// logs, if set, receives the server's log at debug level.
	logs *syncBuffer
	// options are given to each start.
	options []server.Option

	srv    *server.Server
	stop   context.CancelFunc
	done   chan error
	admin  string
	client *apiclient.Client
	roots  *x509.CertPool
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// start starts a server over a fresh data directory. limits nil means
// the defaults.
func start(t *testing.T, limits *api.RateLimits) *instance {
	t.Helper()
	return startWith(t, limits, nil)
}

// startWith is start with a configuration change applied at each start.
func startWith(t *testing.T, limits *api.RateLimits, configure func(*server.Config)) *instance {
	t.Helper()
	in := newInstance(t)
	in.limits, in.configure = limits, configure
	return in.launch()
}

// startLogged is start with the server's log, at debug level, kept in
// logs.
func startLogged(t *testing.T, logs *syncBuffer) *instance {
	t.Helper()
	in := newInstance(t)
	in.logs = logs
	return in.launch()
}

// newInstance returns an instance over a fresh data directory with its
// own SMTP server, not started.
func newInstance(t *testing.T) *instance {
	t.Helper()
	box, err := mailtest.New(mailtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { box.Close() })
	return &instance{t: t, dir: filepath.Join(t.TempDir(), "data"), listen: freeAddr(t), pki: freeAddr(t), mailbox: box}
}

// launch starts in for the first time and stops it when the test ends.
func (in *instance) launch() *instance {
	in.up()
	in.t.Cleanup(in.down)
	return in
}

// up starts the server; the first start yields the bootstrap key.
func (in *instance) up() {
	in.t.Helper()
	var term bytes.Buffer
	cfg := server.Config{
		DataDir: in.dir, Listen: in.listen, PKIListen: in.pki, RateLimits: in.limits,
		SMTP: server.SMTPConfig{Addr: in.mailbox.Addr(), From: "signet@e2e.invalid"},
	}
	if in.configure != nil {
		in.configure(&cfg)
	}
	logger := slog.New(slog.DiscardHandler)
	if in.logs != nil {
		logger = slog.New(slog.NewJSONHandler(in.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv, err := server.New(context.Background(), cfg, append([]server.Option{server.WithTerminal(&term), server.WithLogger(logger)}, in.options...)...)
	if err != nil {
		in.t.Fatal(err)
	}
	if k := bootstrapKeyRE.FindString(term.String()); k != "" {
		in.admin = k
	}
	ctx, stop := context.WithCancel(context.Background())
	in.srv, in.stop, in.done = srv, stop, make(chan error, 1)
	go func() { in.done <- srv.Run(ctx) }()
	pemBytes, err := os.ReadFile(filepath.Join(in.dir, "pki", "root.pem"))
	if err != nil {
		in.t.Fatal(err)
	}
	in.roots = x509.NewCertPool()
	in.roots.AppendCertsFromPEM(pemBytes)
	hc := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: in.roots, MinVersion: tls.VersionTLS13}, MaxIdleConnsPerHost: 64,
	}}
	in.client = &apiclient.Client{Base: "https://" + srv.Addr().String(), HTTP: hc}
}

// down shuts the server down gracefully.
func (in *instance) down() {
	if in.srv == nil {
		return
	}
	in.stop()
	if err := <-in.done; err != nil {
		in.t.Errorf("server shutdown: %v", err)
	}
	in.client.HTTP.CloseIdleConnections()
	in.srv = nil
}

// sender creates a tenant and returns a client with a tenant API key.
func (in *instance) sender(name string) (*apiclient.Client, string) {
	in.t.Helper()
	ctx := context.Background()
	admin := in.client.WithAuth("Bearer " + in.admin)
	tn, err := admin.CreateTenant(ctx, name)
	if err != nil {
		in.t.Fatal(err)
	}
	secret, err := admin.CreateKey(ctx, tn.ID, "e2e", []string{"sender"}, nil)
	if err != nil {
		in.t.Fatal(err)
	}
	return in.client.WithAuth("Bearer " + secret), tn.ID
}

func samplePDF(t testing.TB, title string, padding int64) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := pdf.WriteSample(&b, pdf.SampleOptions{Pages: 2, Title: title, Padding: padding}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// envelope uploads a document and sends an envelope to signers in
// sequence (routing orders 1, 2, …).
func envelope(ctx context.Context, c *apiclient.Client, title string, pdfBytes []byte, signers ...string) (workflow.Envelope, error) {
	d, err := c.Upload(ctx, title+".pdf", pdfBytes)
	if err != nil {
		return workflow.Envelope{}, err
	}
	req := workflow.CreateRequest{Subject: title, Documents: []string{d.ID}}
	for i, s := range signers {
		name := strings.ToUpper(s[:1]) + s[1:strings.IndexByte(s, '@')]
		req.Recipients = append(req.Recipients, workflow.RecipientInput{Role: workflow.RoleSigner, Name: name, Email: s, Order: i + 1})
	}
	e, err := c.CreateEnvelope(ctx, req)
	if err != nil {
		return workflow.Envelope{}, err
	}
	return c.Send(ctx, e.ID)
}

// signAs runs one recipient's whole part: the nth link emailed to addr,
// code, view, consent, sign.
func (in *instance) signAs(ctx context.Context, addr string, nthLink int) (*apiclient.Client, error) {
	mb := &apiclient.Mailbox{Inbox: in.mailbox.Sent()}
	link, err := mb.Link(ctx, addr, nthLink)
	if err != nil {
		return nil, err
	}
	rc, err := mb.Authenticate(ctx, in.client, addr, link)
	if err != nil {
		return nil, fmt.Errorf("authenticate %s: %w", addr, err)
	}
	if _, err := rc.View(ctx); err != nil {
		return nil, err
	}
	if err := rc.Consent(ctx); err != nil {
		return nil, err
	}
	if _, err := rc.Sign(ctx); err != nil {
		return nil, fmt.Errorf("sign as %s: %w", addr, err)
	}
	return rc, nil
}

// checkPDF verifies b at B-LTA with pades.Verify, pdfsig and qpdf: every
// approval signature valid and at PAdES-B-LTA, wantApprovals of them.
func (in *instance) checkPDF(t *testing.T, b []byte, wantApprovals int, tools bool) {
	t.Helper()
	rep, err := pades.Verify(bytes.NewReader(b), int64(len(b)), pades.VerifyOptions{Roots: in.roots})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Valid {
		js, _ := json.MarshalIndent(rep, "", "  ")
		t.Fatalf("document not valid:\n%s", js)
	}
	n := 0
	for _, s := range rep.Signatures {
		if s.Kind != "approval" {
			continue
		}
		n++
		if s.Indication != pades.TotalPassed || s.Level != "PAdES-B-LTA" {
			t.Errorf("signature %s: %s %s", s.Field, s.Indication, s.Level)
		}
	}
	if n != wantApprovals {
		t.Errorf("%d approval signatures, want %d", n, wantApprovals)
	}
	if !tools {
		return
	}
	path := filepath.Join(t.TempDir(), "signed.pdf")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("qpdf", "--check", path).CombinedOutput(); err != nil {
		t.Fatalf("qpdf --check: %v\n%s", err, out)
	}
	out, err := exec.Command("pdfsig", "-nocert", path).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfsig: %v\n%s", err, out)
	}
	if c := strings.Count(string(out), "Signature Validation: Signature is Valid."); c != wantApprovals || strings.Contains(string(out), "Invalid") {
		t.Fatalf("pdfsig: %d valid signatures, want %d:\n%s", c, wantApprovals, out)
	}
}

// auditRecords reads the audit log from disk (the server must be down)
// and checks that indexes are consecutive and ids unique.
func (in *instance) auditRecords(t *testing.T) []auditlog.Record {
	t.Helper()
	ctx := context.Background()
	st, err := auditsqlite.Open(filepath.Join(in.dir, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, err := st.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := st.Records(ctx, 0, n)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for i, r := range recs {
		if r.Index != int64(i) {
			t.Fatalf("audit record %d has index %d", i, r.Index)
		}
		if ids[r.ID] {
			t.Fatalf("audit event id %s recorded twice", r.ID)
		}
		ids[r.ID] = true
	}
	return recs
}

// leafEnvelope returns the envelope id an audit leaf is about.
func leafEnvelope(t *testing.T, leaf []byte) string {
	var m map[string]any
	if err := json.Unmarshal(leaf, &m); err != nil {
		t.Fatal(err)
	}
	if s, ok := m["subject"].(map[string]any); ok {
		if id, ok := s["envelope_id"].(string); ok {
			return id
		}
	}
	return ""
}

// syncBuffer is a bytes.Buffer safe for concurrent writers (a server's
// log).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// Bytes returns a copy of what was written so far.
func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.b.Bytes())
}

// String returns what was written so far.
func (b *syncBuffer) String() string { return string(b.Bytes()) }
