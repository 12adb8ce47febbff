package signing_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/signing"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/keys/atrest/atresttest"
	"github.com/signet-pki/signet/pades"
)

// newSealedEnv is an env whose workflow seals document contents.
func newSealedEnv(t *testing.T) *env {
	ring := &atresttest.KeyRing{}
	return newEnvOptions(t, envOptions{adjust: func(_ *signing.Config, wf *workflow.Config) { wf.Keys = ring }})
}

// readVersion reads a document version through the workflow.
func (e *env) readVersion(sha string) []byte {
	e.t.Helper()
	rd, size, err := e.wf.OpenContent(context.Background(), tenant, sha)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rd.Close()
	b, err := io.ReadAll(rd)
	if err != nil || int64(len(b)) != size {
		e.t.Fatalf("read %d of %d bytes: %v", len(b), size, err)
	}
	return b
}

// TestFlowSealedContents runs the two-signer flow with sealed contents:
// every signature reads the document through the sealed reader and its
// digest state, the seal works in memory, and the result is B-LTA and
// valid, while no document text is at rest in clear.
func TestFlowSealedContents(t *testing.T) {
	e := newSealedEnv(t)
	env := e.newEnvelope(2, signer("Alice Doe", "alice@example.com", 1), signer("Bob Roe", "bob@example.com", 2))
	alice := e.session("alice@example.com", e.link("alice@example.com", 1))
	var v signing.View
	if st, p := e.call("GET", "/v1/recipient/envelope", "Session", alice, nil, &v); st != http.StatusOK {
		t.Fatalf("view: %d %+v", st, p)
	}
	var pdfBytes []byte
	if st, p := e.call("GET", "/v1/recipient/documents/"+v.Documents[0].DocumentID, "Session", alice, nil, &pdfBytes); st != http.StatusOK || !bytes.HasPrefix(pdfBytes, []byte("%PDF-")) {
		t.Fatalf("download: %d %+v", st, p)
	}
	if !bytes.Contains(pdfBytes, []byte("Contract I")) {
		t.Fatal("the sample's text is not in clear in the PDF: the check below would prove nothing")
	}
	if res := e.signAs(alice); len(res.Signed) != 2 || res.Completed {
		t.Fatalf("alice's sign result = %+v", res)
	}
	bob := e.session("bob@example.com", e.link("bob@example.com", 1))
	if res := e.signAs(bob); !res.Completed {
		t.Fatalf("bob's sign result = %+v", res)
	}
	final, err := e.wf.Envelope(context.Background(), sender, env.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range final.Documents {
		b := e.readVersion(d.SHA256)
		rep := e.verifyPDF(b)
		if !rep.Valid {
			t.Fatalf("document %s not valid: %+v", d.DocumentID, rep)
		}
		approvals := 0
		for _, s := range rep.Signatures {
			if s.Kind == "approval" {
				approvals++
				if s.Indication != pades.TotalPassed || s.Level != "PAdES-"+string(pades.LevelBLTA) {
					t.Errorf("signature %s: %s %s", s.Field, s.Indication, s.Level)
				}
			}
		}
		if approvals != 3 {
			t.Fatalf("document %s: %d approval signatures, want 3", d.DocumentID, approvals)
		}
		checkTools(t, b, 3)
		// The sealed version is a content of its own: not stored under
		// its plaintext hash.
		if _, _, err := e.blobs.Open(context.Background(), d.SHA256); err == nil {
			t.Fatalf("document %s stored in clear", d.DocumentID)
		}
	}
	// No document text at rest (the samples' titles are "Contract I" and
	// "Contract II"), and no seal working file left.
	filepath.WalkDir(e.dir, func(p string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, []byte("Contract I")) {
			t.Errorf("document text in clear in %s", p)
		}
		return nil
	})
}

// TestSealMemory seals a 10 MB sealed document and measures what the
// seal allocates: the working file holds only what the seal appends, and
// the new version streams through, so the whole stays within a few
// copies of the document.
func TestSealMemory(t *testing.T) {
	e := newSealedEnv(t)
	ctx := context.Background()
	var b bytes.Buffer
	if err := pdf.WriteSample(&b, pdf.SampleOptions{Pages: 1, Title: "Large", Padding: 10 << 20}); err != nil {
		t.Fatal(err)
	}
	size := b.Len()
	d, err := e.wf.Upload(ctx, sender, "large.pdf", &b)
	if err != nil {
		t.Fatal(err)
	}
	env, err := e.wf.CreateEnvelope(ctx, sender, workflow.CreateRequest{
		Subject: "Large", Documents: []string{d.ID}, Recipients: []workflow.RecipientInput{signer("Alice Doe", "alice@example.com", 1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := signing.NewSealer(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	out, err := sealer.Complete(ctx, env, e.wf)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("sealing a %d-byte document allocated %d bytes (%.2f copies)", size, alloc, float64(alloc)/float64(size))
	if alloc > 3*uint64(size) {
		t.Fatalf("sealing a %d-byte document allocated %d bytes, more than 3 copies", size, alloc)
	}
	sealed := e.readVersion(out[d.ID])
	if !bytes.HasPrefix(sealed, e.readVersion(d.SHA256)) || !e.verifyPDF(sealed).Valid {
		t.Fatal("the sealed version is not the document followed by a valid seal")
	}
}
