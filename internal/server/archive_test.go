package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	auditsqlite "github.com/signet-pki/signet/auditlog/sqlite"
	"github.com/signet-pki/signet/internal/apiclient"
	"github.com/signet-pki/signet/internal/archive"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/pades"
)

// movedClock runs at the pace of real time, moved by an offset the test
// sets (the outbox orders messages by their time, so it must advance).
type movedClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *movedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Set moves the clock so that it reads t now.
func (c *movedClock) Set(t time.Time) {
	c.mu.Lock()
	c.offset = time.Until(t)
	c.mu.Unlock()
}

// TestArchiveRenewal: a completed envelope's sealed document is not due
// today; restarted with the clock moved to three weeks before the
// built-in TSA's certificate expires (inside the renewal margin; the TSA
// gets a new certificate at start), the server renews it: the envelope's
// document is a new version that extends the sealed one with a document
// time-stamp, verifies VALID at that time, the audit log holds
// document.archive_renewed, and the platform administrator reads the
// status at GET /v1/archive/status (a tenant's key may not).
func TestArchiveRenewal(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	clk := &movedClock{}
	// The certificates name the PKI listener's address (OCSP, CRLs), which
	// the restarted server must keep, as a deployment does.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pkiAddr := l.Addr().String()
	l.Close()
	fixedPKI := func(c *server.Config) { c.PKIListen = pkiAddr }
	r := start(t, dir, fixedPKI, server.WithClock(clk.Now))
	admin := r.bootstrapKey()
	client := &apiclient.Client{Base: r.base, HTTP: &http.Client{Timeout: time.Minute,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.roots(), MinVersion: tls.VersionTLS13}}}}
	tenant, err := client.WithAuth("Bearer "+admin).CreateTenant(ctx, "Archive Inc.")
	if err != nil {
		t.Fatal(err)
	}
	secret, err := client.WithAuth("Bearer "+admin).CreateKey(ctx, tenant.ID, "sender", []string{authz.RoleSender}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sender := client.WithAuth("Bearer " + secret)
	var sample bytes.Buffer
	if err := pdf.WriteSample(&sample, pdf.SampleOptions{Pages: 1, Title: "Archived agreement"}); err != nil {
		t.Fatal(err)
	}
	doc, err := sender.Upload(ctx, "agreement.pdf", sample.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	e, err := sender.CreateEnvelope(ctx, workflow.CreateRequest{Subject: "Agreement", Documents: []string{doc.ID},
		Recipients: []workflow.RecipientInput{{Role: workflow.RoleSigner, Name: "Alice", Email: "alice@example.com", Order: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sender.Send(ctx, e.ID); err != nil {
		t.Fatal(err)
	}
	mb := &apiclient.Mailbox{Inbox: r.srv.Outbox()}
	link, err := mb.Link(ctx, "alice@example.com", 1)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := mb.Authenticate(ctx, client, "alice@example.com", link)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.View(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rc.Consent(ctx); err != nil {
		t.Fatal(err)
	}
	if res, err := rc.Sign(ctx); err != nil || !res.Completed {
		t.Fatalf("sign: %+v, %v", res, err)
	}
	sealed, err := sender.Content(ctx, e.ID, doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	done, err := sender.Envelope(ctx, e.ID)
	if err != nil || done.Status != workflow.StatusCompleted {
		t.Fatalf("envelope after signing: %v", err)
	}
	sealedSHA := done.Documents[0].SHA256
	// Today nothing is due.
	if res, err := r.srv.RunArchiveOnce(ctx); err != nil || res.Checked != 1 || res.Renewed != 0 || res.Overdue != 0 || res.Failed != 0 {
		t.Fatalf("pass today: %+v, %v", res, err)
	}
	rep, err := pades.Verify(bytes.NewReader(sealed), int64(len(sealed)), pades.VerifyOptions{Roots: r.roots()})
	if err != nil {
		t.Fatal(err)
	}
	tsaExpiry := rep.Signatures[len(rep.Signatures)-1].TimestampAuthority.NotAfter
	r.stop()

	// Three weeks before the TSA's certificate expires.
	later := tsaExpiry.Add(-21 * 24 * time.Hour)
	clk.Set(later)
	r2 := start(t, dir, fixedPKI, server.WithClock(clk.Now))
	// The server's own pass at start may have renewed it already; passes
	// run one at a time, so after this one it is renewed, once.
	if res, err := r2.srv.RunArchiveOnce(ctx); err != nil || res.Checked != 1 || res.Overdue != 0 || res.Failed != 0 {
		t.Fatalf("pass inside the margin: %+v, %v\n%s", res, err, r2.logs.String())
	}
	// The server's TLS certificate was renewed at start too: the client
	// checks it at the moved clock.
	r2.client = &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r2.roots(), MinVersion: tls.VersionTLS13, Time: clk.Now}}}
	sender2 := &apiclient.Client{Base: r2.base, HTTP: r2.client, Authorization: "Bearer " + secret}
	cur, err := sender2.Envelope(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	renewed, err := sender2.Content(ctx, e.ID, doc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if cur.Documents[0].SHA256 == sealedSHA || !bytes.HasPrefix(renewed, sealed) || len(renewed) == len(sealed) {
		t.Fatal("the envelope's document was not renewed")
	}
	rep, err = pades.Verify(bytes.NewReader(renewed), int64(len(renewed)), pades.VerifyOptions{Roots: r2.roots(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	last := rep.Signatures[len(rep.Signatures)-1]
	if !rep.Valid || last.Kind != "document-timestamp" || !last.TimestampAuthority.NotAfter.After(later.Add(archive.DefaultMargin)) {
		for _, s := range rep.Signatures {
			t.Logf("%s %s: %s %s", s.Kind, s.Field, s.Indication, s.Reason)
		}
		t.Fatalf("renewed document: valid %v, latest %s by a certificate expiring %v", rep.Valid, last.Kind, last.TimestampAuthority.NotAfter)
	}

	// The status, for the platform administrator only.
	res := r2.do("GET", "/v1/archive/status", admin, nil)
	var st archive.Status
	if res.status != http.StatusOK || json.Unmarshal(res.body, &st) != nil {
		t.Fatalf("status: %d %s", res.status, res.body)
	}
	if st.Overdue != 0 || st.RenewedTotal != 1 || st.LastRun.IsZero() || !st.NextDue.After(later) {
		t.Fatalf("status %+v", st)
	}
	if res := r2.do("GET", "/v1/archive/status", secret, nil); res.status != http.StatusForbidden {
		t.Fatalf("status for a tenant's key: %d %s", res.status, res.body)
	}

	// The evidence bundle carries the renewed version and the renewal
	// event, and tells a consistent story with them.
	if err := r2.srv.PublishCheckpoint(ctx); err != nil {
		t.Fatal(err)
	}
	bundle := r2.evidence(secret, e.ID)
	if bundle.status != http.StatusOK {
		t.Fatalf("evidence: %d %s", bundle.status, bundle.body)
	}
	if final := unzip(t, bundle.body)["documents/"+doc.ID+"/final.pdf"]; !bytes.Equal(final, renewed) {
		t.Error("the bundle's final.pdf is not the renewed version")
	}
	if rep := verifyBundle(t, r2.roots(), bundle.body, clk.Now()); !rep.Valid() {
		t.Errorf("bundle after renewal: %s %s %+v", rep.Indication, rep.SubIndication, rep.Findings)
	}
	r2.stop()

	// The audit log holds the renewal, once.
	log, err := auditsqlite.Open(filepath.Join(dir, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	size, err := log.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := log.Records(ctx, 0, size)
	if err != nil {
		t.Fatal(err)
	}
	var renewals []auditlog.Record
	for _, rec := range recs {
		if rec.Type == string(auditlog.DocumentArchiveRenewed) {
			renewals = append(renewals, rec)
		}
	}
	if len(renewals) != 1 {
		t.Fatalf("%d document.archive_renewed events", len(renewals))
	}
	for _, want := range []string{e.ID, cur.Documents[0].SHA256, `"previous_sha256":"` + sealedSHA + `"`} {
		if !bytes.Contains(renewals[0].Leaf, []byte(want)) {
			t.Fatalf("document.archive_renewed lacks %s: %s", want, renewals[0].Leaf)
		}
	}
}
