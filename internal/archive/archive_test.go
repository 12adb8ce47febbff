package archive_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/archive"
	"github.com/signet-pki/signet/internal/blob"
	"github.com/signet-pki/signet/internal/pdf/pdftest"
	"github.com/signet-pki/signet/internal/testpki"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/pades"
)

const margin = 180 * day

// service returns a renewal service over f with the archive TSA.
func (f *fixture) service(adjust func(*archive.Config)) *archive.Service {
	f.t.Helper()
	cfg := archive.Config{
		Workflow: f.wf, Timestamper: f.archTS, Fetcher: f.fetcher, Roots: f.roots,
		Margin: margin, Interval: day, Now: f.clock.Now, Logger: f.logger,
	}
	if adjust != nil {
		adjust(&cfg)
	}
	s, err := archive.New(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (f *fixture) runOnce(s *archive.Service, want archive.Result) {
	f.t.Helper()
	got, err := s.RunOnce(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	if got != want {
		f.t.Fatalf("pass at %s: %+v, want %+v", f.clock.Now().Format(time.DateOnly), got, want)
	}
}

// verify checks that tenant's version sum verifies VALID at the clock's
// time and returns its report.
func (f *fixture) verify(tenant, sum string) *pades.Report {
	f.t.Helper()
	b := f.read(tenant, sum)
	rep, err := pades.Verify(bytes.NewReader(b), int64(len(b)), pades.VerifyOptions{Roots: f.roots, Now: f.clock.Now})
	if err != nil {
		f.t.Fatal(err)
	}
	if !rep.Valid {
		for _, s := range rep.Signatures {
			f.t.Logf("%s %s: %s %s %s", s.Kind, s.Field, s.Indication, s.SubIndication, s.Reason)
		}
		f.t.Fatalf("version %s does not verify VALID at %s", sum, f.clock.Now().Format(time.DateOnly))
	}
	return rep
}

// TestRenewal: a completed envelope's sealed document is not renewed
// before its margin; inside it, a TSA or audit log that fails changes
// nothing and leaves it overdue (with the alert); then it is renewed:
// the envelope's document is the new version, which verifies VALID,
// passes qpdf --check, and document.archive_renewed is in the audit log;
// a second pass does nothing.
func TestRenewal(t *testing.T) {
	f := newFixture(t)
	e := f.completed("t1")
	sealed := e.Documents[0].SHA256
	f.verify("t1", sealed)
	s := f.service(nil)
	due := f.start.Add(2*365*day - margin)

	// A year on: not due.
	f.clock.Set(f.start.Add(365 * day))
	f.runOnce(s, archive.Result{Checked: 1})
	if st := s.Status(); st.Overdue != 0 || !st.NextDue.Equal(due) || !st.LastRun.Equal(f.clock.Now()) {
		t.Fatalf("status before the margin: %+v, next due want %s", st, due)
	}
	if strings.Contains(f.logged(), "ALERT") {
		t.Fatal("alert before anything was due")
	}

	// Inside the margin, with the TSA down: nothing changes.
	f.clock.Set(due.Add(day))
	before := f.size()
	f.archTS.failing.Store(true)
	f.runOnce(s, archive.Result{Checked: 1, Overdue: 1, Failed: 1})
	f.archTS.failing.Store(false)
	if got := f.envelope(e.ID).Documents[0].SHA256; got != sealed {
		t.Fatal("a renewal without a time-stamp changed the document")
	}
	if evs, _ := f.events(before); len(evs) != 0 {
		t.Fatalf("a failed renewal recorded %v", evs)
	}
	if st := s.Status(); st.Overdue != 1 || st.FailedTotal != 1 || st.RenewedTotal != 0 {
		t.Fatalf("status after a failed renewal: %+v", st)
	}
	if n := strings.Count(f.logged(), `msg="ALERT: archive renewal overdue" count=1`); n != 1 {
		t.Fatalf("%d overdue alerts after one failed pass:\n%s", n, f.logged())
	}

	// The audit log down: nothing changes either.
	f.recorder.failing.Store(true)
	f.runOnce(s, archive.Result{Checked: 1, Overdue: 1, Failed: 1})
	f.recorder.failing.Store(false)
	if got := f.envelope(e.ID).Documents[0].SHA256; got != sealed {
		t.Fatal("a renewal the audit log did not record changed the document")
	}

	// Renewed.
	before = f.size()
	f.runOnce(s, archive.Result{Checked: 1, Renewed: 1})
	renewed := f.envelope(e.ID).Documents[0].SHA256
	if renewed == sealed {
		t.Fatal("the envelope's document still names the sealed version")
	}
	old, cur := f.read("t1", sealed), f.read("t1", renewed)
	if !bytes.HasPrefix(cur, old) {
		t.Fatal("the renewed version does not extend the sealed one")
	}
	rep := f.verify("t1", renewed)
	last := rep.Signatures[len(rep.Signatures)-1]
	if last.Kind != "document-timestamp" || !strings.Contains(last.TimestampAuthority.Subject, "Archive TSA") || !last.TimestampTime.Equal(f.clock.Now()) {
		t.Fatalf("latest time-stamp: %s by %+v at %v", last.Kind, last.TimestampAuthority, last.TimestampTime)
	}
	if n := len(rep.Signatures); n != 4 {
		t.Fatalf("%d signatures and time-stamps, want 4 (signature, seal, seal's time-stamp, renewal)", n)
	}
	qpdfCheck(t, cur)
	evs, recs := f.events(before)
	if !slices.Equal(evs, []string{"document.archive_renewed"}) {
		t.Fatalf("events %v", evs)
	}
	for _, want := range []string{e.ID, renewed, `"previous_sha256":"` + sealed + `"`, `"document_id":"` + e.Documents[0].DocumentID + `"`,
		"Signing TSA", `"due":"` + due.Format(time.RFC3339) + `"`} {
		if !bytes.Contains(recs[0].Leaf, []byte(want)) {
			t.Fatalf("document.archive_renewed lacks %s: %s", want, recs[0].Leaf)
		}
	}
	st := s.Status()
	if want := f.start.Add(8*365*day - margin); st.Overdue != 0 || st.RenewedTotal != 1 || st.FailedTotal != 2 || !st.NextDue.Equal(want) {
		t.Fatalf("status after the renewal: %+v, next due want %s", st, want)
	}

	// A second pass does nothing.
	before = f.size()
	f.runOnce(s, archive.Result{Checked: 1})
	if got := f.envelope(e.ID).Documents[0].SHA256; got != renewed {
		t.Fatal("a second pass changed the document")
	}
	if evs, _ := f.events(before); len(evs) != 0 {
		t.Fatalf("a second pass recorded %v", evs)
	}
	// A new service (a restart) reads the renewed version's state afresh
	// and agrees.
	f.runOnce(f.service(nil), archive.Result{Checked: 1})
}

// TestRenewalThatWouldNotHelp: an archive authority whose own
// certificate is inside the margin is not used: nothing is stored or
// recorded, and the document stays overdue.
func TestRenewalThatWouldNotHelp(t *testing.T) {
	f := newFixture(t)
	e := f.completed("t1")
	s := f.service(func(c *archive.Config) { c.Timestamper = f.signTS })
	f.clock.Set(f.start.Add(2*365*day - margin + day))
	before := f.size()
	f.runOnce(s, archive.Result{Checked: 1, Overdue: 1, Failed: 1})
	if got := f.envelope(e.ID).Documents[0].SHA256; got != e.Documents[0].SHA256 {
		t.Fatal("a renewal that does not move the due date was stored")
	}
	if evs, _ := f.events(before); len(evs) != 0 {
		t.Fatalf("recorded %v", evs)
	}
	if !strings.Contains(f.logged(), "renewing does not help") {
		t.Fatalf("the log does not say why:\n%s", f.logged())
	}
}

// TestRenewalForWeakeningAlgorithms: a document whose latest time-stamp
// uses an algorithm scheduled to weaken (here ECDSA keys under 384 bits)
// is due a margin before that date, though its authority's certificate
// lasts longer; an archive authority with a stronger key renews it, one
// with a key as weak does not (nothing is stored, the document stays
// overdue).
func TestRenewalForWeakeningAlgorithms(t *testing.T) {
	for _, tc := range []struct {
		name  string
		alg   testpki.KeyAlg
		helps bool
	}{{"stronger key", testpki.ECDSAP384, true}, {"as weak", testpki.ECDSAP256, false}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			e := f.completed("t1")
			weak := f.start.Add(365 * day)
			archTS := f.tsa("Strong Archive TSA", tc.alg, f.start.Add(8*365*day))
			s := f.service(func(c *archive.Config) {
				c.Timestamper = archTS
				c.Weakenings = []archive.Weakening{{Key: "ECDSA", Bits: 384, From: weak, Source: "test"}}
			})
			f.clock.Set(weak.Add(-margin - day))
			f.runOnce(s, archive.Result{Checked: 1})
			if st := s.Status(); !st.NextDue.Equal(weak.Add(-margin)) {
				t.Fatalf("next due %s, want %s (the key weakens before the certificate expires)", st.NextDue, weak.Add(-margin))
			}
			f.clock.Set(weak.Add(-margin + day))
			if !tc.helps {
				f.runOnce(s, archive.Result{Checked: 1, Overdue: 1, Failed: 1})
				if got := f.envelope(e.ID).Documents[0].SHA256; got != e.Documents[0].SHA256 {
					t.Fatal("a renewal with a key as weak was stored")
				}
				return
			}
			f.runOnce(s, archive.Result{Checked: 1, Renewed: 1})
			renewed := f.envelope(e.ID).Documents[0].SHA256
			f.verify("t1", renewed)
			if st := s.Status(); !st.NextDue.Equal(f.start.Add(8*365*day-margin)) || st.Overdue != 0 {
				t.Fatalf("status after renewal: %+v", st)
			}
		})
	}
}

// TestConfigValidate refuses unusable configurations.
func TestConfigValidate(t *testing.T) {
	f := newFixture(t)
	ok := archive.Config{Workflow: f.wf, Timestamper: f.archTS, Fetcher: f.fetcher}
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, adjust := range map[string]func(*archive.Config){
		"no workflow":          func(c *archive.Config) { c.Workflow = nil },
		"no time-stamper":      func(c *archive.Config) { c.Timestamper = nil },
		"no fetcher":           func(c *archive.Config) { c.Fetcher = nil },
		"negative margin":      func(c *archive.Config) { c.Margin = -day },
		"margin too long":      func(c *archive.Config) { c.Margin = archive.MaxMargin + day },
		"negative interval":    func(c *archive.Config) { c.Interval = -time.Hour },
		"interval over margin": func(c *archive.Config) { c.Margin, c.Interval = day, day },
		"negative cache":       func(c *archive.Config) { c.CacheSize = -1 },
	} {
		c := ok
		adjust(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := archive.New(c); err == nil {
			t.Errorf("%s: New accepted it", name)
		}
	}
}

// qpdfCheck runs qpdf --check on doc.
func qpdfCheck(t *testing.T, doc []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "renewed.pdf")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	pdftest.Tool(t, "qpdf", "--check", path)
}

// counting is the workflow, counting the contents opened.
type counting struct {
	*workflow.Service
	opened atomic.Int32
}

func (c *counting) OpenContent(ctx context.Context, tenant, sum string) (blob.Reader, int64, error) {
	c.opened.Add(1)
	return c.Service.OpenContent(ctx, tenant, sum)
}

// TestPassReadsOnlyNewVersions: due dates are cached by version, so a
// second pass over unchanged documents opens none; a new envelope's
// document is read once. Documents of every tenant are checked.
func TestPassReadsOnlyNewVersions(t *testing.T) {
	f := newFixture(t)
	f.completed("t1")
	f.completed("t2")
	wf := &counting{Service: f.wf}
	s := f.service(func(c *archive.Config) { c.Workflow = wf })
	f.runOnce(s, archive.Result{Checked: 2})
	if n := wf.opened.Load(); n != 2 {
		t.Fatalf("first pass opened %d contents, want 2", n)
	}
	f.runOnce(s, archive.Result{Checked: 2})
	if n := wf.opened.Load(); n != 2 {
		t.Fatalf("second pass opened %d more contents", n-2)
	}
	f.completed("t1")
	f.runOnce(s, archive.Result{Checked: 3})
	if n := wf.opened.Load(); n != 3 {
		t.Fatalf("a pass after a new envelope opened %d contents, want 1", n-2)
	}
}

// TestRunStops: Run makes a pass and returns once its context ends.
func TestRunStops(t *testing.T) {
	f := newFixture(t)
	f.completed("t1")
	s := f.service(nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.Run(ctx)
	if st := s.Status(); st.LastRun.IsZero() {
		t.Fatal("Run made no pass")
	}
}
