package workflow_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/keys/atrest"
	"github.com/signet-pki/signet/keys/atrest/atresttest"
	"github.com/signet-pki/signet/keys/dataseal"
)

func newKeyRing() *atresttest.KeyRing { return &atresttest.KeyRing{} }

// newSealedEnv is a test environment whose contents are sealed under
// ring, with further adjustments.
func newSealedEnv(t testing.TB, adjust func(*workflow.Config)) (*env, *atresttest.KeyRing) {
	ring := newKeyRing()
	e := newEnvConfig(t, func(c *workflow.Config) {
		c.Keys = ring
		if adjust != nil {
			adjust(c)
		}
	})
	return e, ring
}

// textMarker is planted in documents to find plaintext at rest.
const textMarker = "PLAINTEXT-MARKER-4f1d"

// markedPDF is a sample PDF that carries textMarker in its title.
func markedPDF(t *testing.T) []byte {
	doc := samplePDF(t, 2, textMarker)
	if !bytes.Contains(doc, []byte(textMarker)) {
		t.Fatal("the sample does not carry the textMarker in clear")
	}
	return doc
}

// grepFiles returns the files under dir whose bytes contain s.
func grepFiles(t *testing.T, dir, s string) []string {
	t.Helper()
	var hits []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte(s)) {
			hits = append(hits, p)
		}
		return nil
	})
	return hits
}

// content returns tenant's content row sha.
func (e *env) content(tenant, sha string) (*workflow.Content, error) {
	return e.store.Content(context.Background(), tenant, sha)
}

// readContent reads tenant's content sha through the service.
func (e *env) readContent(tenant, sha string) ([]byte, error) {
	rd, size, err := e.svc.OpenContent(context.Background(), tenant, sha)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	b, err := io.ReadAll(rd)
	if err == nil && int64(len(b)) != size {
		err = errors.New("size mismatch")
	}
	return b, err
}

// TestSealedUploadDownload: with keys, the blob store holds a sealed
// stream, not the PDF; the database and the blob files hold no plaintext
// textMarker; the download is the upload; random access works.
func TestSealedUploadDownload(t *testing.T) {
	e, ring := newSealedEnv(t, nil)
	doc := markedPDF(t)
	resp, body := e.do("t1", "POST", "/v1/documents?name=contract.pdf", "application/pdf", doc)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	d := sum(doc)
	c, err := e.content("t1", d)
	if err != nil {
		t.Fatal(err)
	}
	if c.Blob == d || c.Size != int64(len(doc)) || !ring.Has("t1", workflow.ContentObject(d)) {
		t.Fatalf("content row %+v", c)
	}
	if _, _, err := e.blobs.Open(context.Background(), d); err == nil {
		t.Fatal("the plaintext is stored under its own hash")
	}
	var id string
	if i := bytes.Index(body, []byte(`"id":"`)); i >= 0 {
		id = string(body[i+6 : i+6+bytes.IndexByte(body[i+6:], '"')])
	}
	resp, got := e.do("t1", "GET", "/v1/documents/"+id+"/content", "", nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, doc) {
		t.Fatalf("download: %d, equal %v", resp.StatusCode, bytes.Equal(got, doc))
	}
	// A range request reads a window through the sealed reader.
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/documents/"+id+"/content", nil)
	req.Header.Set("X-Test-Principal", "t1/key-t1/"+allActions)
	req.Header.Set("Range", "bytes=10-29")
	rr, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	part, _ := io.ReadAll(rr.Body)
	rr.Body.Close()
	if rr.StatusCode != http.StatusPartialContent || !bytes.Equal(part, doc[10:30]) {
		t.Fatalf("range: %d %q", rr.StatusCode, part)
	}
	if hits := grepFiles(t, e.dir, textMarker); len(hits) != 0 {
		t.Fatalf("plaintext textMarker at rest in %q", hits)
	}
	// The digest state, kept sealed, is the plaintext's.
	h, err := e.svc.ContentDigest(context.Background(), "t1", d)
	if err != nil || hex.EncodeToString(h.Sum(nil)) != d {
		t.Fatalf("ContentDigest: %v", err)
	}
	// Uploading the same bytes again reuses the content.
	if _, err := e.svc.Upload(context.Background(), actor("t1"), "again.pdf", bytes.NewReader(doc)); err != nil {
		t.Fatal(err)
	}
	if c := e.counts(); c.blobs != 1 || c.documents != 2 {
		t.Fatalf("counts after the same upload twice: %+v", c)
	}
}

// TestSealedPerTenant: the same PDF of two tenants is two ciphertexts
// under two keys, and neither opens as the other's.
func TestSealedPerTenant(t *testing.T) {
	e, ring := newSealedEnv(t, nil)
	ctx := context.Background()
	doc := markedPDF(t)
	for _, tenant := range []string{"t1", "t2"} {
		if _, err := e.svc.Upload(ctx, actor(tenant), "same.pdf", bytes.NewReader(doc)); err != nil {
			t.Fatal(err)
		}
	}
	d := sum(doc)
	c1, err1 := e.content("t1", d)
	c2, err2 := e.content("t2", d)
	if err1 != nil || err2 != nil || c1.Blob == c2.Blob {
		t.Fatalf("contents %+v %+v (%v %v)", c1, c2, err1, err2)
	}
	if c := e.counts(); c.blobs != 2 {
		t.Fatalf("%d blobs, want two ciphertexts", c.blobs)
	}
	// t2's ciphertext opened with t1's key and AD fails.
	kek, _ := ring.ObjectKEK(ctx, "t1", workflow.ContentObject(d), false)
	raw, size, err := e.blobs.Open(ctx, c2.Blob)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ad := dataseal.AD{Tenant: "t1", Object: workflow.ContentObject(d), Field: workflow.FieldPDF}
	if _, err := dataseal.NewReaderAt(ctx, kek, ad, raw, size); !errors.Is(err, dataseal.ErrAuth) {
		t.Fatalf("another tenant's ciphertext under this tenant's key: %v", err)
	}
	for _, tenant := range []string{"t1", "t2"} {
		if b, err := e.readContent(tenant, d); err != nil || !bytes.Equal(b, doc) {
			t.Fatalf("%s reads its content: %v", tenant, err)
		}
	}
}

// TestSealedTamper: a ciphertext changed at rest is refused, not served.
func TestSealedTamper(t *testing.T) {
	e, _ := newSealedEnv(t, nil)
	doc := markedPDF(t)
	d, err := e.svc.Upload(context.Background(), actor("t1"), "x.pdf", bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := e.content("t1", d.SHA256)
	p := filepath.Join(e.dir, "blobs", c.Blob[:2], c.Blob[2:])
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := e.readContent("t1", d.SHA256); !errors.Is(err, dataseal.ErrAuth) {
		t.Fatalf("tampered content read: %v", err)
	}
}

// TestSealedEnvelopeFlow signs and seals an envelope with sealed
// contents: every version is a sealed content of its own whose plaintext
// is the previous one followed by the update.
func TestSealedEnvelopeFlow(t *testing.T) {
	e, _ := newSealedEnv(t, nil)
	ctx := context.Background()
	doc := markedPDF(t)
	d, err := e.svc.Upload(ctx, actor("t1"), "x.pdf", bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	env := e.draft("t1", []string{d.ID}, "signer:1", "signer:2")
	if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
		t.Fatal(err)
	}
	e.sign(env.ID, env.Recipients[0].ID)
	e.sign(env.ID, env.Recipients[1].ID)
	done, err := e.svc.Complete(ctx, env.ID)
	if err != nil || done.Status != workflow.StatusCompleted {
		t.Fatalf("complete: %v", err)
	}
	want := string(doc) + "%signed by " + env.Recipients[0].ID + "\n%signed by " + env.Recipients[1].ID + "\n%sealed\n"
	final := done.Documents[0].SHA256
	if final != sum([]byte(want)) {
		t.Fatalf("sealed version %s, want the hash of the expected bytes", final)
	}
	got, err := e.readContent("t1", final)
	if err != nil || string(got) != want {
		t.Fatalf("sealed version: %v, equal %v", err, string(got) == want)
	}
	h, err := e.svc.ContentDigest(ctx, "t1", final)
	if err != nil || hex.EncodeToString(h.Sum(nil)) != final {
		t.Fatalf("digest of the sealed version: %v", err)
	}
	rd, got2, err := e.svc.OpenEnvelopeDocument(ctx, actor("t1"), env.ID, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rd)
	rd.Close()
	if string(b) != want || got2.SHA256 != final {
		t.Fatal("envelope document download differs")
	}
	// Four versions, four ciphertexts, no plaintext at rest.
	if c := e.counts(); c.blobs != 4 {
		t.Fatalf("%d blobs, want 4", c.blobs)
	}
	if hits := grepFiles(t, e.dir, textMarker); len(hits) != 0 {
		t.Fatalf("plaintext textMarker at rest in %q", hits)
	}
}

// TestDeleteDocument deletes documents over HTTP: refused while an
// unfinished envelope has them, audited by hash, the content shredded
// once nothing of the tenant uses it, its ciphertext left for garbage
// collection but unreadable.
func TestDeleteDocument(t *testing.T) {
	e, ring := newSealedEnv(t, nil)
	ctx := context.Background()
	doc := markedPDF(t)
	d1, err := e.svc.Upload(ctx, actor("t1"), "one.pdf", bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	d2, err := e.svc.Upload(ctx, actor("t1"), "two.pdf", bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	other := e.upload("t1", "other")
	obj := workflow.ContentObject(d1.SHA256)
	c, _ := e.content("t1", d1.SHA256)

	env := e.draft("t1", []string{other.ID}, "signer:1")
	resp, body := e.do("t1", "DELETE", "/v1/documents/"+other.ID, "", nil)
	if p := problem(t, resp, body); resp.StatusCode != http.StatusConflict || !strings.HasSuffix(p.Type, "document-in-use") {
		t.Fatalf("deleting a draft's document: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.do("t2", "DELETE", "/v1/documents/"+d1.ID, "", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("another tenant deletes: %d %s", resp.StatusCode, body)
	}
	before, _ := e.audit.Size(ctx)
	if resp, body := e.do("t1", "DELETE", "/v1/documents/"+d1.ID, "", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	if got := e.events(before); !slices.Equal(got, []string{"document.deleted:success"}) {
		t.Fatalf("events %v", got)
	}
	recs, _ := e.audit.Records(ctx, before, before+1)
	if !bytes.Contains(recs[0].Leaf, []byte(d1.SHA256)) || bytes.Contains(recs[0].Leaf, []byte(textMarker)) {
		t.Fatalf("document.deleted does not name the hash, or names content: %s", recs[0].Leaf)
	}
	if resp, _ := e.do("t1", "GET", "/v1/documents/"+d1.ID, "", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("deleted document still there: %d", resp.StatusCode)
	}
	if resp, _ := e.do("t1", "DELETE", "/v1/documents/"+d1.ID, "", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("deleted twice: %d", resp.StatusCode)
	}
	// d2 has the same bytes: the content stays.
	if b, err := e.readContent("t1", d2.SHA256); err != nil || !bytes.Equal(b, doc) || ring.Shredded("t1", obj) {
		t.Fatalf("content of a remaining document: %v", err)
	}
	if !ring.Shredded("t1", workflow.DocumentObject(d1.ID)) {
		t.Fatal("the deleted document's fields were not shredded")
	}
	if resp, body := e.do("t1", "DELETE", "/v1/documents/"+d2.ID, "", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	if !ring.Shredded("t1", obj) {
		t.Fatal("the content of the last deleted document was not shredded")
	}
	if _, err := e.content("t1", d1.SHA256); !errors.Is(err, workflow.ErrNoRecord) {
		t.Fatalf("content row after shredding: %v", err)
	}
	// The ciphertext is still there, and no key opens it.
	raw, size, err := e.blobs.Open(ctx, c.Blob)
	if err != nil {
		t.Fatalf("ciphertext gone before garbage collection: %v", err)
	}
	raw.Close()
	if _, err := ring.ObjectKEK(ctx, "t1", obj, false); !errors.Is(err, atrest.ErrNoKey) {
		t.Fatalf("key after shredding: %v", err)
	}
	if size == 0 {
		t.Fatal("empty ciphertext")
	}
	// Once the envelope is voided, its document can go.
	if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Void(ctx, actor("t1"), env.ID, "no longer needed"); err != nil {
		t.Fatal(err)
	}
	if resp, body := e.do("t1", "DELETE", "/v1/documents/"+other.ID, "", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete after void: %d %s", resp.StatusCode, body)
	}
	// The voided envelope still uses the content.
	if ring.Shredded("t1", workflow.ContentObject(other.SHA256)) {
		t.Fatal("content of a voided envelope's document shredded with the document")
	}
	if _, err := e.readContent("t1", other.SHA256); err != nil {
		t.Fatal(err)
	}
}

// TestRetentionPurge: the scheduler purges envelopes finished longer ago
// than the retention period, records envelope.purged with the hashes,
// shreds the keys of the versions nothing else uses and of the
// envelope's fields; the ciphertexts stay until garbage collection but
// cannot be decrypted, and the audit log still verifies.
func TestRetentionPurge(t *testing.T) {
	e, ring := newSealedEnv(t, func(c *workflow.Config) { c.Retention = 24 * time.Hour })
	ctx := context.Background()
	d, err := e.svc.Upload(ctx, actor("t1"), "x.pdf", bytes.NewReader(markedPDF(t)))
	if err != nil {
		t.Fatal(err)
	}
	env := e.draft("t1", []string{d.ID}, "signer:1")
	if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
		t.Fatal(err)
	}
	e.sign(env.ID, env.Recipients[0].ID)
	signed := e.get(env.ID).Documents[0].SHA256
	done, err := e.svc.Complete(ctx, env.ID)
	if err != nil {
		t.Fatal(err)
	}
	open := e.draft("t1", []string{d.ID}, "signer:1") // not finished: kept
	cur := done.Documents[0].SHA256
	// The envelope keeps its original and current versions; the signed
	// one in between is used by nothing once sealed (garbage collection
	// shreds it).
	var versions []*workflow.Content
	for _, name := range []string{cur, signed} {
		c, err := e.content("t1", name)
		if err != nil {
			t.Fatal(err)
		}
		versions = append(versions, c)
	}
	// Within the retention period nothing goes.
	e.clock.Advance(23 * time.Hour)
	if _, err := e.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Envelope(ctx, actor("t1"), env.ID); err != nil {
		t.Fatalf("purged within the retention period: %v", err)
	}
	e.clock.Advance(2 * time.Hour)
	before, _ := e.audit.Size(ctx)
	if _, err := e.svc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Envelope(ctx, actor("t1"), env.ID); !errors.Is(err, workflow.ErrNotFound) {
		t.Fatalf("envelope after its purge: %v", err)
	}
	if _, err := e.svc.Envelope(ctx, actor("t1"), open.ID); err != nil {
		t.Fatalf("unfinished envelope purged: %v", err)
	}
	if got := e.events(before); !slices.Equal(got, []string{"envelope.purged:success"}) {
		t.Fatalf("events %v", got)
	}
	recs, _ := e.audit.Records(ctx, before, before+1)
	if !bytes.Contains(recs[0].Leaf, []byte(`"documents":"`+min(cur, d.SHA256)+","+max(cur, d.SHA256)+`"`)) || bytes.Contains(recs[0].Leaf, []byte(textMarker)) {
		t.Fatalf("envelope.purged does not name the versions' hashes: %s", recs[0].Leaf)
	}
	if !ring.Shredded("t1", workflow.EnvelopeObject(env.ID)) || !ring.Shredded("t1", workflow.RecipientObject(env.ID, env.Recipients[0].ID)) {
		t.Fatal("envelope fields not shredded")
	}
	if !e.outbox.wasPurged(env.ID) || e.outbox.wasPurged(open.ID) {
		t.Fatal("the recipient side's rows of the purged envelope (only) were not purged")
	}
	// The upload is still a document: its content stays readable; the
	// signed and sealed versions are shredded.
	if _, err := e.readContent("t1", d.SHA256); err != nil {
		t.Fatalf("the document's own content: %v", err)
	}
	if _, err := e.readContent("t1", signed); err != nil || ring.Shredded("t1", workflow.ContentObject(signed)) {
		t.Fatalf("the intermediate version, left to garbage collection: %v", err)
	}
	for _, c := range versions[:1] {
		raw, size, err := e.blobs.Open(ctx, c.Blob)
		if err != nil {
			t.Fatalf("ciphertext gone before garbage collection: %v", err)
		}
		_, kerr := ring.ObjectKEK(ctx, "t1", workflow.ContentObject(c.SHA256), false)
		raw.Close()
		if !errors.Is(kerr, atrest.ErrNoKey) || size == 0 {
			t.Fatalf("purged version %s: key %v", c.SHA256[:8], kerr)
		}
		if _, err := e.readContent("t1", c.SHA256); err == nil {
			t.Fatal("a purged version still reads")
		}
	}
	// The audit log verifies over the purge.
	skey, vkey, err := note.GenerateKey(rand.Reader, "signet.test/audit")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	pub, err := auditlog.NewPublisher(e.audit, auditlog.PublisherConfig{Origin: "signet.test/audit", Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := auditlog.Verify(ctx, e.audit, auditlog.VerifyOptions{Verifier: verifier})
	if err != nil {
		t.Fatalf("audit log after the purge: %v", err)
	}
	if n, _ := e.audit.Size(ctx); res.Size != n {
		t.Fatalf("verified %d of %d events", res.Size, n)
	}
	// Garbage collection then shreds the intermediate version and
	// removes both ciphertexts (once old enough by the service clock),
	// and only them.
	ageBlob(t, e.dir, versions[0].Blob, e.clock.Now().Add(-2*time.Hour))
	if n, err := e.svc.CollectGarbage(ctx, e.blobs, time.Hour); err != nil || n != len(versions) {
		t.Fatalf("collected %d (%v), want the %d purged ciphertexts", n, err, len(versions))
	}
	for _, c := range versions {
		if _, _, err := e.blobs.Open(ctx, c.Blob); err == nil {
			t.Fatalf("ciphertext of purged version %s survived garbage collection", c.SHA256[:8])
		}
	}
	if !ring.Shredded("t1", workflow.ContentObject(signed)) {
		t.Fatal("garbage collection did not shred the unused version")
	}
	if _, err := e.readContent("t1", d.SHA256); err != nil {
		t.Fatalf("the document's own content after garbage collection: %v", err)
	}
}

// TestCollectGarbageSealed: a failed upload's content is shredded at
// once and its ciphertext collected; a content row that nothing uses is
// spared within the grace period, which an upload of the same bytes
// starts again, then shredded with its ciphertext; used contents stay.
func TestCollectGarbageSealed(t *testing.T) {
	e, ring := newSealedEnv(t, nil)
	ctx := context.Background()
	kept := e.upload("t1", "kept")
	orphan := markedPDF(t)
	e.recorder.failing.Store(true)
	if _, err := e.svc.Upload(ctx, actor("t1"), "x.pdf", bytes.NewReader(orphan)); err == nil {
		t.Fatal("upload without audit succeeded")
	}
	e.recorder.failing.Store(false)
	if _, err := e.content("t1", sum(orphan)); !errors.Is(err, workflow.ErrNoRecord) {
		t.Fatalf("the failed upload's content row: %v", err)
	}
	if !ring.Shredded("t1", workflow.ContentObject(sum(orphan))) {
		t.Fatal("the failed upload's content key was not shredded")
	}
	var orphanBlob string
	e.blobs.Walk(ctx, func(name string) error {
		if c, _ := e.content("t1", kept.SHA256); c.Blob != name {
			orphanBlob = name
		}
		return nil
	})
	if orphanBlob == "" {
		t.Fatal("no ciphertext of the failed upload")
	}
	if n, err := e.svc.CollectGarbage(ctx, e.blobs, time.Hour); err != nil || n != 0 {
		t.Fatalf("collected %d (%v) within the grace period", n, err)
	}
	ageBlob(t, e.dir, orphanBlob, e.clock.Now().Add(-2*time.Hour))
	if n, err := e.svc.CollectGarbage(ctx, e.blobs, time.Hour); err != nil || n != 1 {
		t.Fatalf("collected %d (%v), want the failed upload's ciphertext", n, err)
	}

	// A content whose document row went (as if deleted without
	// shredding, or never written after a crash).
	d, err := e.svc.Upload(ctx, actor("t1"), "x.pdf", bytes.NewReader(orphan))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.DeleteDocument(ctx, "t1", d.ID); err != nil {
		t.Fatal(err)
	}
	c, err := e.content("t1", d.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(50 * time.Minute)
	if n, err := e.svc.CollectGarbage(ctx, e.blobs, time.Hour); err != nil || n != 0 {
		t.Fatalf("collected %d (%v) within the grace period", n, err)
	}
	// Uploaded again: its age starts over.
	d, err = e.svc.Upload(ctx, actor("t1"), "x.pdf", bytes.NewReader(orphan))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.DeleteDocument(ctx, "t1", d.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(30 * time.Minute)
	if n, err := e.svc.CollectGarbage(ctx, e.blobs, time.Hour); err != nil || n != 0 {
		t.Fatalf("collected %d (%v) of a content uploaded again", n, err)
	}
	e.clock.Advance(time.Hour)
	if n, err := e.svc.CollectGarbage(ctx, e.blobs, time.Hour); err != nil || n != 1 {
		t.Fatalf("collected %d (%v), want the unused content's ciphertext", n, err)
	}
	if !ring.Shredded("t1", workflow.ContentObject(d.SHA256)) || ring.Has("t1", workflow.ContentObject(d.SHA256)) {
		t.Fatal("unused content not shredded")
	}
	if _, _, err := e.blobs.Open(ctx, c.Blob); err == nil {
		t.Fatal("unused content's ciphertext survived")
	}
	if _, err := e.content("t1", d.SHA256); !errors.Is(err, workflow.ErrNoRecord) {
		t.Fatalf("unused content's row: %v", err)
	}
	if _, err := e.readContent("t1", kept.SHA256); err != nil || ring.Shredded("t1", workflow.ContentObject(kept.SHA256)) {
		t.Fatalf("used content: %v", err)
	}
}

// TestSealedAfterPlain: versions stored before sealing was configured
// stay readable as plain blobs, and a signature on one stores the new
// version sealed.
func TestSealedAfterPlain(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	d := e.upload("t1", "before sealing")
	cfg := e.cfg
	ring := newKeyRing()
	cfg.Keys = ring
	svc, err := workflow.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rd, _, err := svc.OpenContent(ctx, "t1", d.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(rd)
	rd.Close()
	if sum(plain) != d.SHA256 {
		t.Fatal("the plain version does not read back")
	}
	next, err := appendContent(ctx, svc, "t1", d.SHA256, "%signed\n")
	if err != nil {
		t.Fatal(err)
	}
	if next != sum(append(plain, "%signed\n"...)) {
		t.Fatal("the new version's hash is not that of its bytes")
	}
	c, err := e.content("t1", next)
	if err != nil || !ring.Has("t1", workflow.ContentObject(next)) {
		t.Fatalf("the new version is not sealed: %v", err)
	}
	if _, _, err := e.blobs.Open(ctx, next); err == nil || c.Blob == next {
		t.Fatal("the new version is stored in clear")
	}
	rd, _, err = svc.OpenContent(ctx, "t1", next)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rd)
	rd.Close()
	if string(got) != string(plain)+"%signed\n" {
		t.Fatal("the sealed version does not read back")
	}
}

// TestSealedReaderSeeksAndStreams reads a sealed content of many segments
// the ways its readers do: short reads (the ReaderAt's cache), a long
// sequential read (which switches to a dataseal.StreamReader), seeks back
// and forth in between, ReadAt, and WriteTo; every read gives the
// plaintext at its position.
func TestSealedReaderSeeksAndStreams(t *testing.T) {
	e, _ := newSealedEnv(t, func(c *workflow.Config) { c.MaxDocumentSize = 4 << 20 })
	var buf bytes.Buffer
	if err := pdf.WriteSample(&buf, pdf.SampleOptions{Pages: 1, Title: "Seek", Padding: 20 * dataseal.SegmentSize}); err != nil {
		t.Fatal(err)
	}
	doc := buf.Bytes()
	ctx := context.Background()
	d, err := e.svc.Upload(ctx, actor("t1"), "seek.pdf", bytes.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	rd, size, err := e.svc.OpenContent(ctx, "t1", d.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if size != int64(len(doc)) {
		t.Fatalf("size %d, want %d", size, len(doc))
	}
	at := func(off int64) {
		t.Helper()
		if got, err := rd.Seek(off, io.SeekStart); err != nil || got != off {
			t.Fatalf("seek to %d: %d, %v", off, got, err)
		}
	}
	readN := func(off int64, n, chunk int) {
		t.Helper()
		got := make([]byte, 0, n)
		p := make([]byte, chunk)
		for len(got) < n {
			k, err := rd.Read(p[:min(chunk, n-len(got))])
			got = append(got, p[:k]...)
			if err != nil {
				t.Fatalf("read at %d: %v", off+int64(len(got)), err)
			}
		}
		if !bytes.Equal(got, doc[off:off+int64(n)]) {
			t.Fatalf("%d bytes read at %d differ from the document", n, off)
		}
	}
	seg := int64(dataseal.SegmentSize)
	readN(0, 100, 7)                     // short reads from the start
	readN(100, int(3*seg), 32<<10)       // on into a long sequential read
	at(seg / 2)                          // back, into a segment already read
	readN(seg/2, int(5*seg)+3, 32<<10)   // and a stream from there
	at(10*seg + 17)                      // forward
	readN(10*seg+17, int(2*seg), 4096)   // short reads, then the stream
	at(int64(len(doc)) - 10)             // near the end
	readN(int64(len(doc))-10, 10, 1<<20) // the last bytes
	if k, err := rd.Read(make([]byte, 10)); k != 0 || err != io.EOF {
		t.Fatalf("read at the end: %d, %v", k, err)
	}
	p := make([]byte, 3*seg)
	if k, err := rd.ReadAt(p, 2*seg+5); k != len(p) || err != nil || !bytes.Equal(p, doc[2*seg+5:5*seg+5]) {
		t.Fatalf("ReadAt: %d, %v", k, err)
	}
	if end, err := rd.Seek(0, io.SeekEnd); err != nil || end != int64(len(doc)) {
		t.Fatalf("seek to the end: %d, %v", end, err)
	}
	at(seg + 1)
	readN(seg+1, int(seg), 32<<10)
	var rest bytes.Buffer
	if n, err := io.Copy(&rest, rd); err != nil || n != int64(len(doc))-2*seg-1 || !bytes.Equal(rest.Bytes(), doc[2*seg+1:]) {
		t.Fatalf("WriteTo of the rest: %d, %v", n, err)
	}
	if _, err := rd.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("seek to a negative position accepted")
	}
}

// TestSealedUploadHashedAsRead: the plaintext's SHA-256, computed on the
// side while the body is read, names the content whatever pieces the body
// arrives in (through the buffer's growths), and the content reads back.
func TestSealedUploadHashedAsRead(t *testing.T) {
	e, _ := newSealedEnv(t, func(c *workflow.Config) { c.MaxDocumentSize = 4 << 20 })
	var buf bytes.Buffer
	if err := pdf.WriteSample(&buf, pdf.SampleOptions{Pages: 1, Title: "Pieces", Padding: 300 << 10}); err != nil {
		t.Fatal(err)
	}
	doc := buf.Bytes()
	ctx := context.Background()
	for name, body := range map[string]io.Reader{
		"whole":    bytes.NewReader(doc),
		"one byte": iotest.OneByteReader(bytes.NewReader(doc)),
		"half":     iotest.HalfReader(bytes.NewReader(doc)),
		"data+EOF": iotest.DataErrReader(bytes.NewReader(doc)),
	} {
		d, err := e.svc.Upload(ctx, actor("t1"), "pieces.pdf", body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d.SHA256 != sum(doc) || d.Size != int64(len(doc)) {
			t.Fatalf("%s: named %s (%d bytes), want %s", name, d.SHA256, d.Size, sum(doc))
		}
		rd, _, err := e.svc.OpenContent(ctx, "t1", d.SHA256)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		back, err := io.ReadAll(rd)
		rd.Close()
		if err != nil || !bytes.Equal(back, doc) {
			t.Fatalf("%s: read back %d bytes, %v", name, len(back), err)
		}
	}
}
