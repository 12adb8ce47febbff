package server_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/signet-pki/signet/auditlog"
	auditsqlite "github.com/signet-pki/signet/auditlog/sqlite"
	"github.com/signet-pki/signet/evidence"
	"github.com/signet-pki/signet/internal/apiclient"
	"github.com/signet-pki/signet/internal/authz"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/pades"
)

// party is a tenant with its sender key, for the evidence tests.
type party struct {
	tenant apiclient.Tenant
	sender *apiclient.Client
}

func (r *running) party(ctx context.Context, name string) party {
	r.t.Helper()
	c := &apiclient.Client{Base: r.base, HTTP: r.client}
	admin := c.WithAuth("Bearer " + r.bootstrapKey())
	ten, err := admin.CreateTenant(ctx, name)
	if err != nil {
		r.t.Fatal(err)
	}
	secret, err := admin.CreateKey(ctx, ten.ID, "sender", []string{authz.RoleSender}, nil)
	if err != nil {
		r.t.Fatal(err)
	}
	return party{tenant: ten, sender: c.WithAuth("Bearer " + secret)}
}

// envelope uploads a document titled title and creates an envelope to
// signers (name, e-mail pairs) in sequence; send sends it.
func (p party) envelope(t testing.TB, ctx context.Context, title string, signers [][2]string, send bool) (workflow.Envelope, workflow.Document) {
	t.Helper()
	var sample bytes.Buffer
	if err := pdf.WriteSample(&sample, pdf.SampleOptions{Pages: 1, Title: title}); err != nil {
		t.Fatal(err)
	}
	doc, err := p.sender.Upload(ctx, title+".pdf", sample.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	req := workflow.CreateRequest{Subject: title, Documents: []string{doc.ID}}
	for i, s := range signers {
		req.Recipients = append(req.Recipients, workflow.RecipientInput{Role: workflow.RoleSigner, Name: s[0], Email: s[1], Order: i + 1})
	}
	e, err := p.sender.CreateEnvelope(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if send {
		if e, err = p.sender.Send(ctx, e.ID); err != nil {
			t.Fatal(err)
		}
	}
	return e, doc
}

// signAll has every signer sign, in order, through the e-mailed links.
func (r *running) signAll(ctx context.Context, signers [][2]string) {
	r.t.Helper()
	c := &apiclient.Client{Base: r.base, HTTP: r.client}
	mb := &apiclient.Mailbox{Inbox: r.srv.Outbox()}
	for _, s := range signers {
		link, err := mb.Link(ctx, s[1], 1)
		if err != nil {
			r.t.Fatal(err)
		}
		rc, err := mb.Authenticate(ctx, c, s[1], link)
		if err != nil {
			r.t.Fatalf("%s: %v", s[0], err)
		}
		if _, err := rc.View(ctx); err != nil {
			r.t.Fatal(err)
		}
		if err := rc.Consent(ctx); err != nil {
			r.t.Fatal(err)
		}
		if _, err := rc.Sign(ctx); err != nil {
			r.t.Fatalf("%s: sign: %v", s[0], err)
		}
	}
}

// evidence fetches an envelope's bundle.
func (r *running) evidence(secret, id string) resp {
	r.t.Helper()
	return r.do("GET", "/v1/envelopes/"+id+"/evidence", strings.TrimPrefix(secret, "Bearer "), nil)
}

// unzip returns a bundle's files by path.
func unzip(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("not a ZIP: %v", err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		out[f.Name] = data
	}
	return out
}

// TestEvidenceBundle completes a three-recipient envelope and checks its
// bundle, fetched over HTTP, file by file: the manifest's hashes, its
// signature (openssl), every event of the envelope and only those, each
// inclusion proof, the PDFs, and nothing of another tenant's envelope
// recorded in the same log.
func TestEvidenceBundle(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, dir, nil)
	a, b := r.party(ctx, "Evidence Corp"), r.party(ctx, "Other Corp")

	other := [][2]string{{"Mallory Otherperson", "mallory.other@elsewhere.example"}}
	oe, odoc := b.envelope(t, ctx, "Other agreement", other, true)
	r.signAll(ctx, other)

	signers := [][2]string{{"Alice Evidence", "alice@evidence.example"}, {"Bob Evidence", "bob@evidence.example"}, {"Carol Evidence", "carol@evidence.example"}}
	e, doc := a.envelope(t, ctx, "Evidence agreement", signers, true)
	r.signAll(ctx, signers)
	if got, err := a.sender.Envelope(ctx, e.ID); err != nil || got.Status != workflow.StatusCompleted {
		t.Fatalf("envelope %v %v", got.Status, err)
	}
	if err := r.srv.PublishCheckpoint(ctx); err != nil {
		t.Fatal(err)
	}

	res := r.evidence(a.sender.Authorization, e.ID)
	if res.status != http.StatusOK {
		t.Fatalf("evidence: %d %s", res.status, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/zip" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := res.header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment;") || !strings.Contains(cd, e.ID) {
		t.Errorf("Content-Disposition %q", cd)
	}
	files := unzip(t, res.body)
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	t.Logf("bundle: %d files, %d bytes: %s", len(files), len(res.body), strings.Join(names, " "))

	// The manifest lists every other file with its hash and size.
	var m evidence.Manifest
	if err := json.Unmarshal(files[evidence.PathManifest], &m); err != nil {
		t.Fatal(err)
	}
	if m.Format != evidence.Format || m.EnvelopeID != e.ID || m.Tenant != a.tenant.ID {
		t.Errorf("manifest header %+v", m)
	}
	listed := map[string]bool{evidence.PathManifest: true, evidence.PathManifestSignature: true}
	for _, f := range m.Files {
		data, ok := files[f.Path]
		sum := sha256.Sum256(data)
		if !ok || hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(data)) != f.Size {
			t.Errorf("manifest entry %s does not match the file", f.Path)
		}
		listed[f.Path] = true
	}
	for n := range files {
		if !listed[n] {
			t.Errorf("file %s is not in the manifest", n)
		}
	}
	for _, p := range []string{evidence.PathReadme, evidence.PathEnvelope, evidence.PathCertificate, evidence.PathCheckpoint,
		evidence.PathAnchorIndex, evidence.PathLatestCheckpoint, evidence.PathConsistency, evidence.PathLogKey, evidence.PathRoot,
		"documents/" + doc.ID + "/original.pdf", "documents/" + doc.ID + "/final.pdf"} {
		if _, ok := files[p]; !ok {
			t.Errorf("no %s", p)
		}
	}

	// Every event of the envelope, and only those, each proven.
	st, err := auditsqlite.Open(filepath.Join(dir, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.EnvelopeRecords(ctx, a.tenant.ID, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(files[evidence.PathLogKey])))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	types := map[string]int{}
	for _, rec := range recs {
		if rec.Type == string(auditlog.AuditExported) {
			continue // recorded after the bundle was gathered
		}
		n := fmt.Sprint(rec.Index)
		want[evidence.PathEvents+n+".json"] = true
		leaf := files[evidence.PathEvents+n+".json"]
		if !bytes.Equal(leaf, rec.Leaf) {
			t.Errorf("event %d missing or different", rec.Index)
			continue
		}
		head, _, err := auditlog.VerifyReceipt(files[evidence.PathEvents+n+".tlog-proof"], v, leaf)
		if err != nil {
			t.Errorf("event %d: receipt: %v", rec.Index, err)
		} else if !bytes.Equal(files[evidence.PathEvents+n+".tlog-proof"][len(files[evidence.PathEvents+n+".tlog-proof"])-len(files[evidence.PathCheckpoint]):], files[evidence.PathCheckpoint]) {
			t.Errorf("event %d: proof to checkpoint %d, not the bundle's", rec.Index, head.Size)
		}
		types[rec.Type]++
	}
	for n := range files {
		if strings.HasPrefix(n, evidence.PathEvents) && strings.HasSuffix(n, ".json") && !want[n] {
			t.Errorf("bundle holds %s, not an event of the envelope", n)
		}
	}
	if types["signature.created"] < 3 || types["envelope.completed"] != 1 || types["envelope.sent"] != 1 {
		t.Errorf("event types %v", types)
	}

	// The PDFs verify against the root.
	for _, p := range []string{"documents/" + doc.ID + "/final.pdf", evidence.PathCertificate} {
		rep, err := pades.Verify(bytes.NewReader(files[p]), int64(len(files[p])), pades.VerifyOptions{Roots: r.roots()})
		if err != nil || !rep.Valid {
			t.Errorf("%s does not verify: %v %+v", p, err, rep)
		}
	}
	if orig := sha256.Sum256(files["documents/"+doc.ID+"/original.pdf"]); hex.EncodeToString(orig[:]) != doc.SHA256 {
		t.Error("original.pdf is not the uploaded document")
	}

	// Nothing of the other tenant's envelope.
	for _, s := range []string{b.tenant.ID, oe.ID, odoc.ID, odoc.SHA256, other[0][0], other[0][1], "Other agreement"} {
		for n, data := range files {
			if bytes.Contains(data, []byte(s)) {
				t.Errorf("%s holds %q of another tenant", n, s)
			}
		}
	}
	var ev evidence.Envelope
	if err := json.Unmarshal(files[evidence.PathEnvelope], &ev); err != nil || len(ev.Recipients) != 3 || ev.Status != "completed" {
		t.Errorf("envelope.json: %v %+v", err, ev)
	}

	// A second download needs no new checkpoint: the first one's
	// audit.exported waits for a later bundle.
	if again := r.evidence(a.sender.Authorization, e.ID); again.status != http.StatusOK {
		t.Errorf("second download: %d %s", again.status, again.body)
	}

	// The other tenant cannot fetch it; the export was recorded.
	if res := r.evidence(b.sender.Authorization, e.ID); res.status != http.StatusNotFound {
		t.Errorf("other tenant: %d %s", res.status, res.body)
	}
	recs, _ = st.EnvelopeRecords(ctx, a.tenant.ID, e.ID)
	if last := recs[len(recs)-1]; last.Type != string(auditlog.AuditExported) {
		t.Errorf("last event of the envelope is %s, want audit.exported", last.Type)
	}

	opensslChecks(t, files)

	// Offline: the bundle verifies from the ZIP alone, now and ten years
	// on; each tampering of it is named; the other envelope's bundle
	// gives an event to insert.
	if err := r.srv.PublishCheckpoint(ctx); err != nil {
		t.Fatal(err)
	}
	ob := r.evidence(b.sender.Authorization, oe.ID)
	if ob.status != http.StatusOK {
		t.Fatalf("other evidence: %d %s", ob.status, ob.body)
	}
	checkOffline(t, r.roots(), res.body, unzip(t, ob.body))

	// Deleting the tenant crypto-shreds its keys: the service can no
	// longer produce evidence, and the bundle already produced still
	// verifies, since it needs nothing of the server.
	if del := r.do("DELETE", "/v1/tenants/"+a.tenant.ID, r.bootstrapKey(), nil); del.status != http.StatusNoContent && del.status != http.StatusOK {
		t.Fatalf("delete tenant: %d %s", del.status, del.body)
	}
	if res := r.evidence(a.sender.Authorization, e.ID); res.status == http.StatusOK {
		t.Error("a deleted tenant's key still fetched evidence")
	}
	if rep := verifyBundle(t, r.roots(), res.body, time.Now()); !rep.Valid() {
		t.Errorf("after the tenant's deletion: %s %s %+v", rep.Indication, rep.SubIndication, rep.Findings)
	}
}

// verifyBundle verifies bundle offline as of at.
func verifyBundle(t *testing.T, roots *x509.CertPool, bundle []byte, at time.Time) *evidence.Report {
	t.Helper()
	rep, err := evidence.Verify(bytes.NewReader(bundle), int64(len(bundle)), evidence.VerifyOptions{Roots: roots, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return rep
}

// rezip writes files as a ZIP, in path order.
func rezip(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// checkOffline verifies a bundle made by the server: VALID now and ten
// years on, and each tampering detected and named. other is another
// envelope's bundle.
func checkOffline(t *testing.T, roots *x509.CertPool, bundle []byte, other map[string][]byte) {
	t.Helper()
	now := time.Now()
	for _, at := range []time.Time{now, now.AddDate(10, 0, 0)} {
		rep := verifyBundle(t, roots, bundle, at)
		if !rep.Valid() {
			t.Fatalf("at %s: %s %s %+v", at.Format(time.RFC3339), rep.Indication, rep.SubIndication, rep.Findings)
		}
	}
	if rep := verifyBundle(t, roots, bundle, now.AddDate(25, 0, 0)); rep.Indication != evidence.Indeterminate {
		t.Errorf("25 years on: %s, want INDETERMINATE", rep.Indication)
	}
	files := unzip(t, bundle)
	var events []string
	for n := range files {
		if strings.HasPrefix(n, evidence.PathEvents) && strings.HasSuffix(n, ".json") {
			events = append(events, n)
		}
	}
	sort.Strings(events)
	var sent string // the envelope.sent event, which a transition names
	for _, n := range events {
		if ev, err := evidence.ParseEvent(files[n]); err == nil && ev.Type == string(auditlog.EnvelopeSent) {
			sent = n
		}
	}
	if sent == "" {
		t.Fatal("the bundle has no envelope.sent event")
	}
	if bytes.Equal(other[evidence.PathLatestCheckpoint], files[evidence.PathCheckpoint]) {
		t.Fatal("the other bundle's latest checkpoint is this bundle's checkpoint")
	}
	var foreign string
	for n := range other {
		if strings.HasPrefix(n, evidence.PathEvents) && strings.HasSuffix(n, ".json") && files[n] == nil {
			foreign = strings.TrimSuffix(n, ".json")
			break
		}
	}
	var docPath string
	for n := range files {
		if strings.HasSuffix(n, "/final.pdf") {
			docPath = n
		}
	}
	var anchors []evidence.AnchorEntry
	if err := json.Unmarshal(files[evidence.PathAnchorIndex], &anchors); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		tamper func(f map[string][]byte)
		codes  []string
	}{
		{"replaced PDF", func(f map[string][]byte) { f[docPath] = otherFinal(other) }, []string{"file-modified"}},
		{"dropped event", func(f map[string][]byte) {
			delete(f, sent)
			delete(f, strings.TrimSuffix(sent, ".json")+".tlog-proof")
		}, []string{"file-missing", "event-missing", "story-not-sent"}},
		{"altered event", func(f map[string][]byte) {
			f[events[0]] = bytes.Replace(f[events[0]], []byte(`"outcome":"success"`), []byte(`"outcome":"failure"`), 1)
		}, []string{"file-modified", "event-receipt"}},
		{"swapped checkpoint", func(f map[string][]byte) { f[evidence.PathCheckpoint] = other[evidence.PathLatestCheckpoint] }, []string{"file-modified", "receipt-checkpoint"}},
		{"stripped anchor", func(f map[string][]byte) {
			for _, a := range anchors {
				delete(f, evidence.PathAnchors+a.File)
			}
			f[evidence.PathAnchorIndex] = []byte("[]")
		}, []string{"file-missing", "anchor-missing"}},
		{"manifest entry changed", func(f map[string][]byte) {
			f[evidence.PathManifest] = bytes.Replace(f[evidence.PathManifest], []byte(`"size": `), []byte(`"size": 1`), 1)
		}, []string{"manifest-signature"}},
		{"event of another envelope inserted", func(f map[string][]byte) {
			f[foreign+".json"] = other[foreign+".json"]
			f[foreign+".tlog-proof"] = other[foreign+".tlog-proof"]
		}, []string{"file-unlisted", "event-foreign-envelope"}},
	}
	if foreign == "" {
		t.Fatal("the other bundle has no event to insert")
	}
	for _, tc := range tests {
		f := map[string][]byte{}
		for n, d := range files {
			f[n] = d
		}
		tc.tamper(f)
		rep := verifyBundle(t, roots, rezip(t, f), now)
		if rep.Indication == evidence.Valid {
			t.Errorf("%s: still VALID", tc.name)
			continue
		}
		for _, c := range tc.codes {
			if !rep.Has(c) {
				var got []string
				for _, fi := range rep.Findings {
					got = append(got, fi.Code)
				}
				t.Errorf("%s: no finding %q (got %v)", tc.name, c, got)
			}
		}
	}
}

// otherFinal returns the final PDF of another bundle.
func otherFinal(other map[string][]byte) []byte {
	for n, d := range other {
		if strings.HasSuffix(n, "/final.pdf") {
			return d
		}
	}
	return nil
}

// opensslChecks verifies the manifest's signature and the checkpoint's
// time-stamp anchor with openssl, as README.txt tells a reader to.
func opensslChecks(t *testing.T, files map[string][]byte) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatal("openssl is not installed; run make test, which installs it")
	}
	d := t.TempDir()
	for n, data := range files {
		p := filepath.Join(d, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run := func(name string, args ...string) {
		cmd := exec.Command("openssl", args...)
		cmd.Dir = d
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: openssl %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
	run("manifest", "cms", "-verify", "-binary", "-content", "manifest.json", "-inform", "DER", "-in", "manifest.p7s",
		"-CAfile", "trust/root.pem", "-purpose", "any", "-out", os.DevNull)
	body, _, _ := bytes.Cut(files[evidence.PathCheckpoint], []byte("\n\n"))
	if err := os.WriteFile(filepath.Join(d, "checkpoint-body.txt"), append(body, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	var chain []byte
	for n, data := range files {
		if strings.HasPrefix(n, "validation/certs/") {
			chain = append(chain, data...)
		}
	}
	if err := os.WriteFile(filepath.Join(d, "chain.pem"), chain, 0o600); err != nil {
		t.Fatal(err)
	}
	run("anchor", "ts", "-verify", "-in", "audit/anchors/0.tst", "-token_in", "-data", "checkpoint-body.txt",
		"-CAfile", "trust/root.pem", "-untrusted", "chain.pem")
	n := 0
	for name := range files {
		switch {
		case strings.HasPrefix(name, "validation/ocsp/"):
			cmd := exec.Command("openssl", "ocsp", "-respin", name, "-CAfile", "trust/root.pem", "-verify_other", "chain.pem")
			cmd.Dir = d
			if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Response verify OK") {
				t.Errorf("openssl ocsp %s: %v\n%s", name, err, out)
			}
			n++
		case strings.HasPrefix(name, "validation/crl/"):
			run("crl", "crl", "-inform", "DER", "-in", name, "-noout", "-text")
			n++
		case strings.HasPrefix(name, "validation/timestamps/"):
			run("token", "ts", "-reply", "-in", name, "-token_in", "-text")
			n++
		case strings.HasPrefix(name, evidence.PathEvents) && strings.HasSuffix(name, ".json"):
			// The leaf hash by hand, as README.txt shows it.
			cmd := exec.Command("sh", "-c", `printf '\0' | cat - "$1" | openssl dgst -sha256 -r`, "sh", name)
			cmd.Dir = d
			out, err := cmd.Output()
			want := tlog.RecordHash(files[name])
			if err != nil || !strings.HasPrefix(string(out), hex.EncodeToString(want[:])) {
				t.Errorf("leaf hash of %s by hand: %q %v", name, out, err)
			}
		}
	}
	if n == 0 {
		t.Error("no validation data to check by hand")
	}
}

// TestEvidenceNeedsAudit: while the audit log cannot record the export,
// no bundle is answered; once it can, the bundle comes.
func TestEvidenceNeedsAudit(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "data")
	r := start(t, dir, nil)
	a := r.party(ctx, "Audited Corp")
	e, _ := a.envelope(t, ctx, "Draft", [][2]string{{"Dan Draft", "dan@draft.example"}}, false)
	if res := r.evidence(a.sender.Authorization, e.ID); res.status != http.StatusServiceUnavailable || !contains(string(res.body), "checkpoint-pending") || res.header.Get("Retry-After") == "" {
		t.Errorf("before a checkpoint: %d %s", res.status, res.body)
	}
	if err := r.srv.PublishCheckpoint(ctx); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	res := r.evidence(a.sender.Authorization, e.ID)
	// What fails first is whatever records first: the tenant's seal
	// certificate (issued on first use), the time-stamps of the manifest
	// (the built-in TSA records each use of its key), audit.exported.
	if res.status != http.StatusServiceUnavailable || !strings.HasPrefix(res.header.Get("Content-Type"), "application/problem+json") {
		t.Errorf("audit log locked: %d %s %s", res.status, res.header.Get("Content-Type"), res.body)
	}
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if res := r.evidence(a.sender.Authorization, e.ID); res.status != http.StatusOK {
		t.Errorf("audit log released: %d %s", res.status, res.body)
	}
}
