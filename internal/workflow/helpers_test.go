package workflow_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/blob"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/workflow"
	workflowsqlite "github.com/signet-pki/signet/internal/workflow/sqlite"
)

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

// outbox is a Notifier that keeps what it was asked to send; failing
// makes it refuse.
type outbox struct {
	mu      sync.Mutex
	sent    []workflow.Notification
	failing atomic.Bool
	// gate, when set, holds every Notify until it is closed.
	gate atomic.Pointer[chan struct{}]
	// purged are the envelopes whose recipients' rows were purged.
	purged []string
}

// PurgeRecipients implements workflow.RecipientsPurger.
func (o *outbox) PurgeRecipients(_ context.Context, envelopeID string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.purged = append(o.purged, envelopeID)
	return nil
}

// wasPurged reports whether the recipients' rows of envelope id were
// purged.
func (o *outbox) wasPurged(id string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Contains(o.purged, id)
}

func (o *outbox) Notify(ctx context.Context, n workflow.Notification) error {
	if g := o.gate.Load(); g != nil {
		select {
		case <-*g:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if o.failing.Load() {
		return errors.New("smtp: connection refused")
	}
	o.mu.Lock()
	o.sent = append(o.sent, n)
	o.mu.Unlock()
	return nil
}

// take returns and forgets the notifications so far.
func (o *outbox) take() []workflow.Notification {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.sent
	o.sent = nil
	return s
}

// sealer is a Completer that appends a marker to each document's current
// version and stores the result, as the real seal appends an incremental
// update.
type sealer struct {
	failing atomic.Bool
	// calls counts the seals made.
	calls atomic.Int32
}

func (s *sealer) Complete(ctx context.Context, e *workflow.Envelope, c workflow.Contents) (map[string]string, error) {
	if s.failing.Load() {
		return nil, errors.New("tsa: unavailable")
	}
	s.calls.Add(1)
	out := map[string]string{}
	for _, d := range e.Documents {
		sum, err := appendContent(ctx, c, e.Tenant, d.SHA256, "%sealed\n")
		if err != nil {
			return nil, err
		}
		out[d.DocumentID] = sum
	}
	return out, nil
}

// appendContent appends suffix to tenant's content sum, as a signature
// does.
func appendContent(ctx context.Context, c workflow.Contents, tenant, sum, suffix string) (string, error) {
	name, _, err := c.AppendContent(ctx, tenant, sum, strings.NewReader(suffix))
	return name, err
}

// switchable is an audit Recorder over the real log that can be made to
// fail, to check that actions fail closed.
type switchable struct {
	rec     auditlog.Recorder
	failing atomic.Bool
}

func (s *switchable) Record(ctx context.Context, e auditlog.Event) error {
	if s.failing.Load() {
		return errors.New("auditlog: storage unavailable")
	}
	return s.rec.Record(ctx, e)
}

// env is a workflow service over real components: SQLite in a temporary
// directory, the filesystem blob store and the audit log on its memory
// store.
type env struct {
	t        testing.TB
	dir      string
	clock    *clock
	store    *workflowsqlite.Store
	blobs    *blob.FS
	audit    *auditlog.MemStore
	recorder *switchable
	outbox   *outbox
	sealer   *sealer
	svc      *workflow.Service
	srv      *httptest.Server
	// cfg is the service's configuration, from which [env.node] builds
	// more services over the same stores.
	cfg workflow.Config
}

const maxUpload = 256 << 10

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvConfig(t, nil)
}

// newEnvConfig is newEnv with the service configuration adjusted by
// adjust (if not nil).
func newEnvConfig(t testing.TB, adjust func(*workflow.Config)) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := workflowsqlite.Open(ctx, filepath.Join(dir, "signet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bs, err := blob.NewFS(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := auditlog.NewDerivedKeys(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	ms := auditlog.NewMemStore()
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	log, err := auditlog.New(ctx, auditlog.Config{Storage: ms, Keys: keys, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Shutdown(context.Background()) })
	e := &env{t: t, dir: dir, clock: clk, store: st, blobs: bs, audit: ms,
		recorder: &switchable{rec: log}, outbox: &outbox{}, sealer: &sealer{}}
	cfg := workflow.Config{
		Documents: st, Envelopes: st, Blobs: bs, Audit: e.recorder,
		Notifier: e.outbox, Completer: e.sealer, MaxDocumentSize: maxUpload, Now: clk.Now,
	}
	if adjust != nil {
		adjust(&cfg)
	}
	e.cfg = cfg
	e.svc, err = workflow.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rt := api.NewRouter()
	(&workflow.Handler{Service: e.svc}).Register(rt)
	e.srv = httptest.NewServer(testAuth(rt))
	t.Cleanup(e.srv.Close)
	return e
}

// testAuth stands in for the API-key middleware: the principal comes from
// the X-Test-Principal header as tenant/key-id/action,action.
func testAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := r.Header.Get("X-Test-Principal"); h != "" {
			parts := strings.SplitN(h, "/", 3)
			p := api.Principal{Kind: api.PrincipalAPIKey, Tenant: parts[0], ID: parts[1], Platform: parts[0] == "", Actions: strings.Split(parts[2], ",")}
			r = r.WithContext(api.WithPrincipal(r.Context(), p))
		}
		next.ServeHTTP(w, r)
	})
}

const allActions = "document.read,document.upload,envelope.read,envelope.prepare,envelope.send,envelope.void"

// actor returns the service-level actor of tenant's test key.
func actor(tenant string) workflow.Actor {
	return workflow.Actor{Tenant: tenant, Kind: auditlog.ActorService, ID: "key-" + tenant, CorrelationID: "req-test"}
}

func recipientActor(id string) workflow.Actor {
	return workflow.Actor{Kind: auditlog.ActorRecipient, ID: id, CorrelationID: "req-recipient"}
}

// do sends an API request as tenant's key with every sender action.
func (e *env) do(tenant, method, path, contentType string, body []byte) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("X-Test-Principal", tenant+"/key-"+tenant+"/"+allActions)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (e *env) doJSON(tenant, method, path string, v any) (*http.Response, []byte) {
	e.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(tenant, method, path, "application/json", b)
}

// counts is what the stores hold: rows per table, blobs and audit events.
type counts struct {
	documents, envelopes, transitions, blobs int
	events                                   int64
}

func (e *env) counts() counts {
	e.t.Helper()
	ctx := context.Background()
	var c counts
	for table, dst := range map[string]*int{
		"workflow_documents": &c.documents, "workflow_envelopes": &c.envelopes, "workflow_transitions": &c.transitions,
	} {
		if err := e.store.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM "+table).Scan(dst); err != nil {
			e.t.Fatal(err)
		}
	}
	e.blobs.Walk(ctx, func(string) error { c.blobs++; return nil })
	n, err := e.audit.Size(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	c.events = n
	return c
}

// events returns the types (with outcome) of the audit events from index
// from on.
func (e *env) events(from int64) []string {
	e.t.Helper()
	ctx := context.Background()
	n, _ := e.audit.Size(ctx)
	recs, err := e.audit.Records(ctx, from, n)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		var leaf struct {
			Outcome string `json:"outcome"`
		}
		json.Unmarshal(r.Leaf, &leaf)
		out = append(out, r.Type+":"+leaf.Outcome)
	}
	return out
}

// samplePDF returns a valid PDF of pages pages.
func samplePDF(t testing.TB, pages int, title string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := pdf.WriteSample(&b, pdf.SampleOptions{Pages: pages, Title: title}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withUpdate returns base with an incremental update made by fn.
func withUpdate(t testing.TB, base []byte, fn func(r *pdf.Reader, u *pdf.Update)) []byte {
	t.Helper()
	r, err := pdf.Open(bytes.NewReader(base), int64(len(base)))
	if err != nil {
		t.Fatal(err)
	}
	u := pdf.NewUpdate(r)
	fn(r, u)
	built, err := u.Build()
	if err != nil {
		t.Fatal(err)
	}
	return append(bytes.Clone(base), built.Data...)
}

// setCatalog returns base whose catalog gets key = v.
func setCatalog(t testing.TB, base []byte, key pdf.Name, v pdf.Object) []byte {
	return withUpdate(t, base, func(r *pdf.Reader, u *pdf.Update) {
		ref, cat, err := r.Catalog()
		if err != nil {
			t.Fatal(err)
		}
		c := cat.Clone()
		c[key] = v
		u.Set(ref, c)
	})
}

// encryptedPDF encrypts a sample with qpdf (AES-256).
func encryptedPDF(t testing.TB) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pdf"), filepath.Join(dir, "out.pdf")
	if err := os.WriteFile(in, samplePDF(t, 1, "secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := runTool("qpdf", "--encrypt", "user", "owner", "256", "--", in, out); err != nil {
		t.Fatalf("qpdf (make test installs it): %v", err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// appendBlob stores blob sum followed by suffix as a revision of sum.
func appendBlob(ctx context.Context, bs blob.Store, sum, suffix string) (string, error) {
	name, _, err := bs.Append(ctx, sum, strings.NewReader(suffix))
	return name, err
}
