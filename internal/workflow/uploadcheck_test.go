package workflow_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/signet-pki/signet/internal/api"
	"github.com/signet-pki/signet/internal/pdf/pdftest"
	"github.com/signet-pki/signet/internal/testpki"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/pades"
)

// refuseUpload uploads doc and checks the answer is a 422 problem of
// problemType whose detail contains reason, that nothing was stored, and
// whether one denied upload was audited.
func (e *env) refuseUpload(t *testing.T, doc []byte, problemType, reason string, audited bool) {
	t.Helper()
	before := e.counts()
	resp, body := e.do("t1", "POST", "/v1/documents", "application/pdf", doc)
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422: %s", resp.StatusCode, body)
	}
	p := problem(t, resp, body)
	if p.Type != api.ProblemBase+problemType {
		t.Fatalf("problem type %s, want %s (detail %q)", p.Type, problemType, p.Detail)
	}
	if !strings.Contains(p.Detail, reason) {
		t.Fatalf("problem detail %q does not name %q", p.Detail, reason)
	}
	after := e.counts()
	if after.documents != before.documents || after.blobs != before.blobs {
		t.Fatalf("something was stored: before %+v, after %+v", before, after)
	}
	evs := e.events(before.events)
	switch {
	case audited && (len(evs) != 1 || evs[0] != "document.uploaded:denied"):
		t.Fatalf("audit events %v, want one denied upload", evs)
	case !audited && len(evs) != 0:
		t.Fatalf("audit events %v, want none", evs)
	}
}

// TestUploadRefusesActiveContent uploads documents that hide active
// content in every place the scan must reach (deep /Next chains, XFA,
// launch actions, embedded executables, object streams, name trees,
// annotations, earlier revisions): each is a 422 problem naming it.
func TestUploadRefusesActiveContent(t *testing.T) {
	e := newEnv(t)
	for _, h := range workflow.HostilePDFs(t) {
		t.Run(h.Name, func(t *testing.T) {
			e.refuseUpload(t, h.Data, "pdf-active-content", h.Reason, true)
		})
	}
}

// TestUploadAcceptsBenign uploads documents without active content: a URI
// link, an XML attachment, object streams.
func TestUploadAcceptsBenign(t *testing.T) {
	e := newEnv(t)
	for name, doc := range workflow.BenignPDFs(t) {
		t.Run(name, func(t *testing.T) {
			resp, body := e.do("t1", "POST", "/v1/documents", "application/pdf", doc)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("upload: %d %s", resp.StatusCode, body)
			}
		})
	}
}

// TestUploadAcceptsCorpus uploads every valid sample of testdata/pdf (from
// qpdf, ghostscript, cairo, mupdf, pdfsig; with incremental updates,
// object streams, hybrid and linearized files): the complete scan finds
// nothing to refuse in them.
func TestUploadAcceptsCorpus(t *testing.T) {
	e := newEnv(t)
	bad := map[string]bool{"broken-xref.pdf": true, "encrypted.pdf": true, "notpdf.pdf": true, "truncated.pdf": true}
	paths, err := filepath.Glob("../../testdata/pdf/*.pdf")
	if err != nil || len(paths) < 10 {
		t.Fatalf("corpus: %v %v", paths, err)
	}
	for _, p := range paths {
		if bad[filepath.Base(p)] {
			continue
		}
		t.Run(filepath.Base(p), func(t *testing.T) {
			doc, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			resp, body := e.do("t1", "POST", "/v1/documents", "application/pdf", doc)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("upload: %d %s", resp.StatusCode, body)
			}
		})
	}
}

// TestUploadRefusesCertifiedNoChanges uploads a document certified with
// DocMDP P=1, which no one could sign: a 422 that says why. One certified
// with P=2 is accepted.
func TestUploadRefusesCertifiedNoChanges(t *testing.T) {
	e := newEnv(t)
	root, err := testpki.NewRoot("Upload Test Root", testpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := root.IssueSigner("Certifier", testpki.ECDSAP256, testpki.LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	certify := func(p int) []byte {
		src := samplePDF(t, 1, "certified")
		var out bytes.Buffer
		err := pades.Sign(context.Background(), &out, bytes.NewReader(src), int64(len(src)), pades.Options{
			Signer: key, Certificates: []*x509.Certificate{cert, root.Cert}, Level: pades.LevelBB, Certify: p,
		})
		if err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	e.refuseUpload(t, certify(1), "pdf-certified-no-changes", "/TransformParams /P 1", false)

	resp, body := e.do("t1", "POST", "/v1/documents", "application/pdf", certify(2))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload of a P=2 certified document: %d %s", resp.StatusCode, body)
	}
}

// bombChild, set in the environment, makes TestUploadDecompressionBomb
// upload the bomb itself instead of starting a child process to do it.
const bombChild = "SIGNET_TEST_UPLOAD_BOMB_CHILD"

// peakLimit bounds the peak memory of a process that receives the
// decompression bomb: generous, and far below the 2 GiB the bomb inflates
// to.
const peakLimit = 300 << 20

// TestUploadDecompressionBomb uploads, through the HTTP handler with the
// default 25 MB upload limit and decoding budget, a 2 MB PDF whose 64
// object streams inflate to 32 MiB each. The upload is a 422 problem, and
// the process that handles it (a child, so that its peak resident memory
// is its own) stays below peakLimit.
func TestUploadDecompressionBomb(t *testing.T) {
	if os.Getenv(bombChild) == "1" {
		uploadBomb(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestUploadDecompressionBomb$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), bombChild+"=1", "GOGC=100", "GOMEMLIMIT=off")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("--- PASS: TestUploadDecompressionBomb")) {
		t.Fatalf("child: %v\n%s", err, out)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Fatalf("no resource usage for the child process")
	}
	peak := ru.Maxrss * 1024 // kilobytes on Linux
	t.Logf("peak resident memory while refusing the bomb: %d MiB", peak>>20)
	if peak > peakLimit {
		t.Fatalf("peak resident memory %d MiB, want below %d MiB", peak>>20, peakLimit>>20)
	}
}

// uploadBomb is the child's part of TestUploadDecompressionBomb.
func uploadBomb(t *testing.T) {
	e := newEnvConfig(t, func(c *workflow.Config) {
		c.MaxDocumentSize = workflow.DefaultMaxDocumentSize
		c.MaxDecodedSize = 0 // the default
	})
	bomb := pdftest.Bomb(64, 32<<20)
	if len(bomb) > 4<<20 {
		t.Fatalf("the bomb is %d bytes, want about 2 MB", len(bomb))
	}
	e.refuseUpload(t, bomb, "pdf-decode-budget",
		fmt.Sprintf("decompresses to more than %d bytes", workflow.DefaultMaxDecodedSize), true)
}

// TestUploadStreamTooLarge: one object stream that inflates past the
// per-stream limit (32 MiB) is refused as a decompression bomb (422
// pdf-decode-budget naming the limit), not as a malformed PDF.
func TestUploadStreamTooLarge(t *testing.T) {
	e := newEnv(t)
	e.refuseUpload(t, pdftest.Bomb(1, 40<<20), "pdf-decode-budget", "a stream of the PDF decompresses to more than 33554432 bytes", true)
}

// TestUploadChecksBounded: while every check slot is taken, an upload
// waits for one and gives up with its context, storing nothing; once the
// slots are free it goes through.
func TestUploadChecksBounded(t *testing.T) {
	e := newEnv(t)
	doc := samplePDF(t, 1, "waiting")
	release := workflow.HoldUploadChecks(e.svc)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the request is gone: the wait ends at once
	_, err := e.svc.Upload(ctx, actor("t1"), "a.pdf", bytes.NewReader(doc))
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "waiting to check") {
		t.Fatalf("upload while every check slot is taken: %v, want it cancelled while waiting for a slot", err)
	}
	if c := e.counts(); c.documents != 0 || c.blobs != 0 {
		t.Fatalf("stored while waiting: %+v", c)
	}
	release()
	if _, err := e.svc.Upload(context.Background(), actor("t1"), "a.pdf", bytes.NewReader(doc)); err != nil {
		t.Fatalf("upload after the slots were released: %v", err)
	}
}
