package signing_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/internal/signing"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/pades"
)

// TestFlow runs two signers in sequence over two documents through the
// recipient API: link email, code, verify, view, download, consent, sign;
// the second signature completes the envelope, whose documents must then
// be B-LTA with both recipient signatures and the seal valid, for
// pades.Verify, pdfsig and qpdf.
func TestFlow(t *testing.T) {
	e := newEnv(t)
	env := e.newEnvelope(2, signer("Alice Doe", "alice@example.com", 1), signer("Bob Roe", "bob@example.com", 2))

	// Only the first signer is contacted.
	if n := len(e.mailbox.To("bob@example.com")); n != 0 {
		t.Fatalf("bob got %d messages before his turn", n)
	}
	alice := e.session("alice@example.com", e.link("alice@example.com", 1))
	var v signing.View
	if st, p := e.call("GET", "/v1/recipient/envelope", "Session", alice, nil, &v); st != http.StatusOK {
		t.Fatalf("view: %d %+v", st, p)
	}
	if v.EnvelopeID != env.ID || !v.CanAct || len(v.Documents) != 2 || v.Recipient.Email != "alice@example.com" {
		t.Fatalf("view = %+v", v)
	}
	var pdfBytes []byte
	if st, p := e.call("GET", "/v1/recipient/documents/"+v.Documents[0].DocumentID, "Session", alice, nil, &pdfBytes); st != http.StatusOK || !bytes.HasPrefix(pdfBytes, []byte("%PDF-")) {
		t.Fatalf("download: %d %+v", st, p)
	}
	res := e.signAs(alice)
	if len(res.Signed) != 2 || res.Completed {
		t.Fatalf("alice's sign result = %+v", res)
	}

	bob := e.session("bob@example.com", e.link("bob@example.com", 1))
	res = e.signAs(bob)
	if len(res.Signed) != 2 || !res.Completed || res.Status != workflow.StatusCompleted {
		t.Fatalf("bob's sign result = %+v", res)
	}

	final, err := e.wf.Envelope(context.Background(), sender, env.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range final.Documents {
		rd, size, err := e.blobs.Open(context.Background(), d.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, size)
		if _, err := rd.ReadAt(b, 0); err != nil {
			t.Fatal(err)
		}
		rd.Close()
		rep := e.verifyPDF(b)
		if !rep.Valid {
			t.Fatalf("document %s not valid: %+v", d.DocumentID, rep)
		}
		var approvals, stamps int
		var signers []string
		for _, s := range rep.Signatures {
			switch s.Kind {
			case "approval":
				approvals++
				signers = append(signers, s.Signer.Subject)
				if s.Indication != pades.TotalPassed {
					t.Errorf("signature %s: %s/%s", s.Field, s.Indication, s.SubIndication)
				}
			case "document-timestamp":
				stamps++
			}
		}
		if approvals != 3 || stamps < 1 {
			t.Fatalf("document %s: %d approval signatures and %d document time-stamps, want 3 and ≥1 (%v)", d.DocumentID, approvals, stamps, signers)
		}
		// The seal's document time-stamp, the document's latest, is the
		// archive TSA's, whose certificate from the root lasts 15 years:
		// the document verifies ten years on, and needs renewal after.
		if r := rep.Renewal; r == nil || !strings.Contains(r.Authority, "Archive") || r.Needed {
			t.Errorf("document %s: renewal %+v, want the archive TSA's time-stamp, not needed", d.DocumentID, r)
		}
		if later := e.verifyPDFAt(b, time.Now().AddDate(10, 0, 0)); !later.Valid {
			t.Errorf("document %s not valid in ten years: %+v", d.DocumentID, later.Signatures[len(later.Signatures)-1])
		}
		if later := e.verifyPDFAt(b, time.Now().AddDate(16, 0, 0)); later.Valid || later.Renewal == nil || !later.Renewal.Needed {
			t.Errorf("document %s in sixteen years: valid %v, renewal %+v; want a renewal needed", d.DocumentID, later.Valid, later.Renewal)
		}
		for _, s := range rep.Signatures {
			if s.Kind == "approval" && s.Level != "PAdES-"+string(pades.LevelBLTA) {
				t.Errorf("document %s: levels %v, want every signature at B-LTA", d.DocumentID, levels(rep))
			}
		}
		checkTools(t, b, 3)

		// Each version is stored as a revision of the one it signed, down
		// to the upload: alice's and bob's signatures and the seal.
		var chain []string
		for n := d.SHA256; n != ""; {
			chain = append(chain, n)
			if n, err = e.blobs.Base(n); err != nil {
				t.Fatal(err)
			}
		}
		if len(chain) != 4 || chain[len(chain)-1] != d.OriginalSHA256 {
			t.Errorf("document %s: version chain %d long ending at %.8s, want 4 ending at the upload %.8s",
				d.DocumentID, len(chain), chain[len(chain)-1], d.OriginalSHA256)
		}
	}
	if n := e.audit.count(auditlog.SignatureCreated, auditlog.OutcomeSuccess); n != 4 {
		t.Errorf("%d signature.created events, want 4", n)
	}
	if n := e.audit.count(auditlog.RecipientAuthenticated, auditlog.OutcomeSuccess); n != 2 {
		t.Errorf("%d successful recipient.authenticated events, want 2", n)
	}
	if n := e.audit.count(auditlog.EnvelopeCompleted, ""); n != 1 {
		t.Errorf("%d envelope.completed events, want 1", n)
	}
	// The envelope is completed: the signers' links no longer work.
	if st, p := e.call("POST", "/v1/recipient/code", "Link", e.link("alice@example.com", 1), nil, nil); st != http.StatusGone || p.Type != "https://signet.dev/problems/envelope-ended" {
		t.Errorf("code with a link of the completed envelope: %d %s, want 410 envelope-ended", st, p.Type)
	}
}

func levels(rep *pades.Report) []string {
	var out []string
	for _, s := range rep.Signatures {
		out = append(out, s.Kind+":"+s.Level)
	}
	return out
}

// checkTools runs pdfsig (at least wantSigs signatures valid and none
// invalid; pdfsig does not validate document time-stamps) and qpdf --check on b.
func checkTools(t *testing.T, b []byte, wantSigs int) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "signed.pdf")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("qpdf", "--check", path).CombinedOutput()
	if err != nil {
		t.Fatalf("qpdf --check: %v\n%s", err, out)
	}
	out, err = exec.Command("pdfsig", "-nocert", path).CombinedOutput()
	if err != nil {
		t.Fatalf("pdfsig: %v\n%s", err, out)
	}
	s := string(out)
	if n := strings.Count(s, "Signature Validation: Signature is Valid."); n < wantSigs {
		t.Fatalf("pdfsig reports %d valid signatures, want at least %d:\n%s", n, wantSigs, s)
	}
	if strings.Contains(s, "Signature is Invalid") || strings.Contains(s, "Digest Mismatch") {
		t.Fatalf("pdfsig reports an invalid signature:\n%s", s)
	}
}
