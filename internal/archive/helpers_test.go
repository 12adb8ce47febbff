package archive_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/blob"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/testpki"
	"github.com/signet-pki/signet/internal/workflow"
	workflowsqlite "github.com/signet-pki/signet/internal/workflow/sqlite"
	"github.com/signet-pki/signet/keys/atrest/atresttest"
	"github.com/signet-pki/signet/ltv"
	"github.com/signet-pki/signet/pades"
	"github.com/signet-pki/signet/tsa"
)

const day = 24 * time.Hour

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// fetcher is a pades.ValidationFetcher over the test root: each leaf's
// chain and a good OCSP response from the root, produced at the clock's
// time.
type fetcher struct {
	root  *testpki.CA
	clock *clock
}

func (f *fetcher) Collect(_ context.Context, leaf *x509.Certificate, _ []*x509.Certificate) (*ltv.Data, error) {
	now := f.clock.Now()
	resp, err := ocsp.CreateResponse(f.root.Cert, f.root.Cert, ocsp.Response{
		Status: ocsp.Good, SerialNumber: leaf.SerialNumber, ThisUpdate: now, NextUpdate: now.Add(7 * day), ProducedAt: now,
	}, f.root.Key)
	if err != nil {
		return nil, err
	}
	return &ltv.Data{Certs: []*x509.Certificate{leaf, f.root.Cert}, OCSPs: [][]byte{resp}}, nil
}

// switchTS is a time-stamper that can be made to fail.
type switchTS struct {
	pades.Timestamper
	failing atomic.Bool
}

func (s *switchTS) Timestamp(ctx context.Context, h crypto.Hash, digest []byte) (*tsa.Token, error) {
	if s.failing.Load() {
		return nil, errors.New("tsa: connection refused")
	}
	return s.Timestamper.Timestamp(ctx, h, digest)
}

// switchAudit is an audit recorder over the real log that can be made
// to fail.
type switchAudit struct {
	rec     auditlog.Recorder
	failing atomic.Bool
}

func (s *switchAudit) Record(ctx context.Context, e auditlog.Event) error {
	if s.failing.Load() {
		return errors.New("auditlog: storage unavailable")
	}
	return s.rec.Record(ctx, e)
}

type nobody struct{}

func (nobody) Notify(context.Context, workflow.Notification) error { return nil }

// fixture is a workflow over SQLite, the filesystem blob store, sealed
// contents and the real audit log, whose completed documents are sealed
// at B-LTA by a signer and a "signing" TSA whose certificate expires
// two years after start; the archive TSA's expires after eight.
type fixture struct {
	t        *testing.T
	start    time.Time
	clock    *clock
	root     *testpki.CA
	roots    *x509.CertPool
	signer   crypto.Signer
	cert     *x509.Certificate
	fetcher  *fetcher
	signTS   *switchTS
	archTS   *switchTS
	audit    *auditlog.MemStore
	recorder *switchAudit
	wf       *workflow.Service
	logs     *bytes.Buffer
	logger   *slog.Logger
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	start := time.Now().UTC().Truncate(time.Second)
	f := &fixture{t: t, start: start, clock: &clock{t: start}, logs: &bytes.Buffer{}}
	f.logger = slog.New(slog.NewTextHandler(lockedWriter{w: f.logs}, nil))
	var err error
	if f.root, err = testpki.NewRoot("Archive Test Root", testpki.ECDSAP256); err != nil {
		t.Fatal(err)
	}
	f.roots = x509.NewCertPool()
	f.roots.AddCert(f.root.Cert)
	if f.cert, f.signer, err = f.root.IssueSigner("Seal", testpki.ECDSAP256, testpki.LeafOptions{NotAfter: start.Add(3 * 365 * day)}); err != nil {
		t.Fatal(err)
	}
	f.fetcher = &fetcher{root: f.root, clock: f.clock}
	f.signTS = f.tsa("Signing TSA", testpki.ECDSAP256, start.Add(2*365*day))
	f.archTS = f.tsa("Archive TSA", testpki.ECDSAP256, start.Add(8*365*day))

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
	f.audit = auditlog.NewMemStore()
	log, err := auditlog.New(ctx, auditlog.Config{Storage: f.audit, Keys: keys, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { log.Shutdown(context.Background()) })
	f.recorder = &switchAudit{rec: log}
	if f.wf, err = workflow.New(workflow.Config{
		Documents: st, Envelopes: st, Blobs: bs, Audit: f.recorder, Keys: &atresttest.KeyRing{},
		Notifier: nobody{}, Completer: completer{f}, Now: f.clock.Now,
	}); err != nil {
		t.Fatal(err)
	}
	return f
}

// tsa serves a TSA named name with a key of alg, on the fixture's clock,
// whose certificate expires at notAfter.
func (f *fixture) tsa(name string, alg testpki.KeyAlg, notAfter time.Time) *switchTS {
	f.t.Helper()
	cert, key, err := f.root.IssueTSA(name, alg, testpki.LeafOptions{NotAfter: notAfter})
	if err != nil {
		f.t.Fatal(err)
	}
	srv := httptest.NewServer(&tsa.Server{Signer: key, Certificate: cert, Policy: []int{1, 3, 6, 1, 4, 1, 55555, 1, 2}, Now: f.clock.Now})
	f.t.Cleanup(srv.Close)
	return &switchTS{Timestamper: &tsa.Client{URLs: []string{srv.URL}, Roots: f.roots, Now: f.clock.Now}}
}

// lockedWriter serializes the log's writes.
type lockedWriter struct{ w io.Writer }

var logMu sync.Mutex

func (l lockedWriter) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	return l.w.Write(p)
}

// logged returns what was logged so far.
func (f *fixture) logged() string {
	logMu.Lock()
	defer logMu.Unlock()
	return f.logs.String()
}

// sign appends to tenant's version sum a signature by the fixture's
// signer at level (with the signing TSA) and returns the new version.
func (f *fixture) sign(ctx context.Context, c workflow.Contents, tenant, sum string, level pades.Level, reason string) (string, error) {
	rd, size, err := c.OpenContent(ctx, tenant, sum)
	if err != nil {
		return "", err
	}
	defer rd.Close()
	// B-LT and B-LTA read back what they wrote: a file.
	out, err := os.CreateTemp(f.t.TempDir(), "signed-*.pdf")
	if err != nil {
		return "", err
	}
	defer out.Close()
	if err := pades.Sign(ctx, out, rd, size, pades.Options{
		Signer: f.signer, Certificates: []*x509.Certificate{f.cert}, Level: level,
		Timestamper: f.signTS, Fetcher: f.fetcher, Name: "Seal", Reason: reason, Time: f.clock.Now(),
	}); err != nil {
		return "", err
	}
	if _, err := out.Seek(size, io.SeekStart); err != nil {
		return "", err
	}
	next, _, err := c.AppendContent(ctx, tenant, sum, out)
	return next, err
}

// completer seals every document at B-LTA, as the tenant seal does.
type completer struct{ f *fixture }

func (c completer) Complete(ctx context.Context, e *workflow.Envelope, contents workflow.Contents) (map[string]string, error) {
	out := map[string]string{}
	for _, d := range e.Documents {
		sum, err := c.f.sign(ctx, contents, e.Tenant, d.SHA256, pades.LevelBLTA, "Sealed on completion")
		if err != nil {
			return nil, err
		}
		out[d.DocumentID] = sum
	}
	return out, nil
}

// completed returns a completed envelope of tenant with one document,
// signed by one signer (B-T) and sealed (B-LTA) at the clock's time.
func (f *fixture) completed(tenant string) *workflow.Envelope {
	f.t.Helper()
	ctx := context.Background()
	sender := workflow.Actor{Tenant: tenant, Kind: auditlog.ActorService, ID: "key-" + tenant}
	var doc bytes.Buffer
	if err := pdf.WriteSample(&doc, pdf.SampleOptions{Pages: 1, Title: "Contract"}); err != nil {
		f.t.Fatal(err)
	}
	d, err := f.wf.Upload(ctx, sender, "contract.pdf", &doc)
	if err != nil {
		f.t.Fatal(err)
	}
	e, err := f.wf.CreateEnvelope(ctx, sender, workflow.CreateRequest{Subject: "Please sign", Documents: []string{d.ID},
		Recipients: []workflow.RecipientInput{{Role: workflow.RoleSigner, Name: "R", Email: "r@example.com", Order: 1}}})
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.wf.Send(ctx, sender, e.ID); err != nil {
		f.t.Fatal(err)
	}
	r := workflow.Actor{Kind: auditlog.ActorRecipient, ID: e.Recipients[0].ID}
	if _, err := f.wf.MarkViewed(ctx, r, e.ID); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.wf.ConsentRecorded(ctx, r, e.ID); err != nil {
		f.t.Fatal(err)
	}
	lctx, unlock, err := f.wf.LockDocument(ctx, d.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	next, err := f.sign(lctx, f.wf, tenant, d.SHA256, pades.LevelBT, "Signed")
	if err == nil {
		_, err = f.wf.RecipientSigned(lctx, r, e.ID, d.ID, next)
	}
	unlock()
	if err != nil {
		f.t.Fatal(err)
	}
	done, err := f.wf.Complete(ctx, e.ID)
	if err != nil || done.Status != workflow.StatusCompleted {
		f.t.Fatalf("complete: %v", err)
	}
	return done
}

// envelope returns envelope id as stored.
func (f *fixture) envelope(id string) *workflow.Envelope {
	f.t.Helper()
	e, err := f.wf.Envelope(context.Background(), workflow.ArchiveActor, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return e
}

// read returns tenant's version sum.
func (f *fixture) read(tenant, sum string) []byte {
	f.t.Helper()
	rd, _, err := f.wf.OpenContent(context.Background(), tenant, sum)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rd.Close()
	b, err := io.ReadAll(rd)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

// events returns the types of the audit events from index from on.
func (f *fixture) events(from int64) ([]string, []auditlog.Record) {
	f.t.Helper()
	ctx := context.Background()
	n, _ := f.audit.Size(ctx)
	recs, err := f.audit.Records(ctx, from, n)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.Type)
	}
	return out, recs
}

func (f *fixture) size() int64 {
	n, err := f.audit.Size(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}
