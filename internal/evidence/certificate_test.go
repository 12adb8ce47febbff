package evidence

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/asn1"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/signet-pki/signet/evidence"
	"github.com/signet-pki/signet/internal/pdf"
	"github.com/signet-pki/signet/internal/pdf/pdftest"
	"github.com/signet-pki/signet/internal/testpki"
	"github.com/signet-pki/signet/pades"
	"github.com/signet-pki/signet/tsa"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func ptr(t time.Time) *time.Time { return &t }

const (
	shaA0 = "a000000000000000000000000000000000000000000000000000000000000000"
	shaA1 = "a111111111111111111111111111111111111111111111111111111111111111"
	shaA2 = "a222222222222222222222222222222222222222222222222222222222222222"
	shaB0 = "b000000000000000000000000000000000000000000000000000000000000000"
	shaB1 = "b111111111111111111111111111111111111111111111111111111111111111"
)

// testEnvelope is a completed envelope: two documents, three signers.
func testEnvelope() evidence.Envelope {
	return evidence.Envelope{
		ID: "env_01", Tenant: "acme", Subject: "Supply agreement 2026", Status: "completed",
		Sender: "sender@acme.example", CreatedAt: at(0), SentAt: ptr(at(1)), CompletedAt: ptr(at(40)),
		Documents: []evidence.Document{
			{ID: "doc_a", Name: "agreement.pdf", OriginalSHA256: shaA0, FinalSHA256: shaA2},
			{ID: "doc_b", Name: "annex.pdf", OriginalSHA256: shaB0, FinalSHA256: shaB1},
		},
		Recipients: []evidence.Recipient{
			{ID: "rcp_alice", Name: "Alice Ångström", Email: "alice@example.com", Role: "signer", Order: 1, Auth: "email_code", Status: "completed", CompletedAt: ptr(at(12))},
			{ID: "rcp_bob", Name: "Bob Łukasz", Email: "bob@example.org", Role: "signer", Order: 2, Auth: "totp", Status: "completed", CompletedAt: ptr(at(25))},
			{ID: "rcp_carol", Name: "Carol Dupont", Email: "carol@example.net", Role: "approver", Order: 3, Auth: "access_code", Status: "completed", CompletedAt: ptr(at(35))},
		},
	}
}

// ev builds an event as the services record it.
func ev(index int64, min int, typ, actorKind, actorID string, details map[string]string) evidence.Event {
	e := evidence.Event{Index: index, ID: "ev" + string(rune('a'+index)), Type: typ, Tenant: "acme", Time: at(min), Outcome: "success", Details: details}
	e.Actor.Kind, e.Actor.ID = actorKind, actorID
	e.Subject.EnvelopeID = "env_01"
	return e
}

func authenticated(index int64, min int, rcp, method string, methods []string, outcome, ip, ua string) evidence.Event {
	e := ev(index, min, "recipient.authenticated", "recipient", rcp, map[string]string{"recipient_id": rcp, "method": method})
	e.Outcome = outcome
	if outcome != "success" {
		e.Reason = "wrong code"
	}
	e.Actor.Auth.Methods = methods
	e.Request.UserAgent = ua
	if ip != "" {
		e.Disclosed = map[string]string{"request.ip": ip}
	}
	return e
}

// consented is recorded under the fallback type recipient.viewed when
// fallback is set (internal/workflow/audit.go).
func consented(index int64, min int, rcp string, fallback bool) evidence.Event {
	e := ev(index, min, "recipient.consented", "recipient", rcp, map[string]string{"recipient_id": rcp})
	if fallback {
		e.Type = "recipient.viewed"
		e.Details["event"] = "recipient.consented"
	}
	return e
}

func keyUsed(index int64, min int, rcp, sum, serial string) evidence.Event {
	e := ev(index, min, "key.used", "recipient", rcp, map[string]string{"purpose": "ephemeral-signer", "operation": "sign"})
	e.Subject.DocumentSHA256, e.Subject.CertificateSerial = sum, serial
	return e
}

func signed(index int64, min int, rcp, doc, prev, next string) evidence.Event {
	e := ev(index, min, "signature.created", "recipient", rcp, map[string]string{
		"recipient_id": rcp, "role": "signer", "document_id": doc, "previous_sha256": prev})
	e.Subject.DocumentSHA256 = next
	return e
}

// testEvents is the envelope's story, in log order.
func testEvents() []evidence.Event {
	created := ev(1, 0, "envelope.created", "user", "usr_1", nil)
	created.Disclosed = map[string]string{"actor.email": "sender@acme.example", "actor.name": "Sam Sender"}
	sealed := keyUsed(22, 40, "", shaA2, "5ea1")
	sealed.Actor.Kind = "system"
	return []evidence.Event{
		created,
		ev(2, 0, "document.uploaded", "user", "usr_1", map[string]string{"document_id": "doc_a"}),
		ev(3, 0, "document.uploaded", "user", "usr_1", map[string]string{"document_id": "doc_b"}),
		ev(4, 1, "envelope.sent", "user", "usr_1", nil),
		authenticated(5, 2, "rcp_alice", "email_code", []string{"otp", "email"}, "failure", "198.51.100.9", "Firefox/140"),
		authenticated(6, 3, "rcp_alice", "email_code", []string{"otp", "email"}, "success", "198.51.100.7", "Firefox/141"),
		consented(7, 4, "rcp_alice", true),
		keyUsed(8, 5, "rcp_alice", shaA0, "a11ce01"),
		signed(9, 5, "rcp_alice", "doc_a", shaA0, shaA1),
		keyUsed(10, 6, "rcp_alice", shaB0, "a11ce02"),
		signed(11, 6, "rcp_alice", "doc_b", shaB0, shaB1),
		authenticated(12, 20, "rcp_bob", "totp", []string{"otp", "user", "mfa"}, "success", "", "curl/8.9"),
		consented(13, 21, "rcp_bob", false),
		keyUsed(14, 22, "rcp_bob", shaA1, "b0b0001"),
		signed(15, 22, "rcp_bob", "doc_a", shaA1, shaA2),
		authenticated(16, 30, "rcp_carol", "access_code", []string{"pwd"}, "failure", "203.0.113.5", "Safari/18"),
		authenticated(17, 31, "rcp_carol", "access_code", []string{"pwd"}, "failure", "203.0.113.5", "Safari/18"),
		authenticated(18, 32, "rcp_carol", "access_code", []string{"pwd"}, "success", "203.0.113.6", "Safari/18.1"),
		consented(19, 33, "rcp_carol", false),
		ev(20, 35, "envelope.approved", "recipient", "rcp_carol", map[string]string{"recipient_id": "rcp_carol"}),
		ev(21, 40, "envelope.completed", "system", "", nil),
		sealed,
	}
}

func TestSummarizeRecipients(t *testing.T) {
	reversed := testEvents()
	for i, j := 0, len(reversed)-1; i < j; i, j = i+1, j-1 {
		reversed[i], reversed[j] = reversed[j], reversed[i]
	}
	declinedEnv := testEnvelope()
	declinedEnv.Status = "declined"
	declinedEnv.Recipients[1].Status, declinedEnv.Recipients[1].CompletedAt = "declined", nil
	declinedEvents := append(testEvents()[:14:14],
		ev(15, 22, "recipient.declined", "recipient", "rcp_bob", map[string]string{"recipient_id": "rcp_bob"}))
	foreign := append(testEvents(), func() evidence.Event {
		e := signed(30, 50, "rcp_alice", "doc_z", "f0", "f1")
		e.Subject.EnvelopeID = "env_other"
		return e
	}())

	alice := RecipientSummary{ID: "rcp_alice", Name: "Alice Ångström", Email: "alice@example.com", Role: "signer", Status: "completed",
		Order: 1, Auth: "email_code",
		Authentications: []Authentication{{Time: at(3), Method: "email_code", Methods: []string{"otp", "email"}, Index: 6}},
		FailedAttempts:  1, IP: "198.51.100.7", UserAgent: "Firefox/141",
		ConsentedAt: ptr(at(4)), CompletedAt: ptr(at(12)),
		Signatures: []SignatureSummary{
			{DocumentID: "doc_a", Time: at(5), DocumentSHA256: shaA1, CertificateSerial: "a11ce01", Index: 9},
			{DocumentID: "doc_b", Time: at(6), DocumentSHA256: shaB1, CertificateSerial: "a11ce02", Index: 11},
		}}
	bob := RecipientSummary{ID: "rcp_bob", Name: "Bob Łukasz", Email: "bob@example.org", Role: "signer", Status: "completed",
		Order: 2, Auth: "totp",
		Authentications: []Authentication{{Time: at(20), Method: "totp", Methods: []string{"otp", "user", "mfa"}, Index: 12}},
		IP:              notDisclosed, UserAgent: "curl/8.9", ConsentedAt: ptr(at(21)), CompletedAt: ptr(at(25)),
		Signatures: []SignatureSummary{{DocumentID: "doc_a", Time: at(22), DocumentSHA256: shaA2, CertificateSerial: "b0b0001", Index: 15}}}
	carol := RecipientSummary{ID: "rcp_carol", Name: "Carol Dupont", Email: "carol@example.net", Role: "approver", Status: "completed",
		Order: 3, Auth: "access_code",
		Authentications: []Authentication{{Time: at(32), Method: "access_code", Methods: []string{"pwd"}, Index: 18}},
		FailedAttempts:  2, IP: "203.0.113.6", UserAgent: "Safari/18.1", ConsentedAt: ptr(at(33)), CompletedAt: ptr(at(35))}
	bobDeclined := bob
	bobDeclined.Status, bobDeclined.CompletedAt, bobDeclined.Signatures, bobDeclined.DeclinedAt = "declined", nil, nil, ptr(at(22))
	carolIdle := RecipientSummary{ID: "rcp_carol", Name: "Carol Dupont", Email: "carol@example.net", Role: "approver", Status: "completed",
		Order: 3, Auth: "access_code", IP: notDisclosed, CompletedAt: ptr(at(35))}

	for _, tc := range []struct {
		name   string
		env    evidence.Envelope
		events []evidence.Event
		want   []RecipientSummary
	}{
		{"in order", testEnvelope(), testEvents(), []RecipientSummary{alice, bob, carol}},
		{"out of order", testEnvelope(), reversed, []RecipientSummary{alice, bob, carol}},
		{"another envelope's event is ignored", testEnvelope(), foreign, []RecipientSummary{alice, bob, carol}},
		{"declined", declinedEnv, declinedEvents, []RecipientSummary{alice, bobDeclined, carolIdle}},
		{"no events", testEnvelope(), nil, []RecipientSummary{
			{ID: "rcp_alice", Name: "Alice Ångström", Email: "alice@example.com", Role: "signer", Status: "completed", Order: 1, Auth: "email_code", IP: notDisclosed, CompletedAt: ptr(at(12))},
			{ID: "rcp_bob", Name: "Bob Łukasz", Email: "bob@example.org", Role: "signer", Status: "completed", Order: 2, Auth: "totp", IP: notDisclosed, CompletedAt: ptr(at(25))},
			carolIdle,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := SummarizeRecipients(tc.env, tc.events)
			if len(got) != len(tc.want) {
				t.Fatalf("%d summaries, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if !reflect.DeepEqual(got[i], tc.want[i]) {
					t.Errorf("recipient %d:\n got %+v\nwant %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestSummarizeRecipientsSerialMatch checks that a signature takes the
// serial of the key use for the version it replaced, not a later or
// another recipient's key use.
func TestSummarizeRecipientsSerialMatch(t *testing.T) {
	env := testEnvelope()
	for _, tc := range []struct {
		name   string
		events []evidence.Event
		want   string
	}{
		{"matching", []evidence.Event{keyUsed(1, 1, "rcp_alice", shaA0, "01"), signed(2, 1, "rcp_alice", "doc_a", shaA0, shaA1)}, "01"},
		{"retry takes the latest", []evidence.Event{keyUsed(1, 1, "rcp_alice", shaA0, "01"), keyUsed(2, 2, "rcp_alice", shaA0, "02"), signed(3, 2, "rcp_alice", "doc_a", shaA0, shaA1)}, "02"},
		{"after the signature", []evidence.Event{signed(1, 1, "rcp_alice", "doc_a", shaA0, shaA1), keyUsed(2, 2, "rcp_alice", shaA0, "01")}, ""},
		{"other recipient", []evidence.Event{keyUsed(1, 1, "rcp_bob", shaA0, "01"), signed(2, 1, "rcp_alice", "doc_a", shaA0, shaA1)}, ""},
		{"other version", []evidence.Event{keyUsed(1, 1, "rcp_alice", shaB0, "01"), signed(2, 1, "rcp_alice", "doc_a", shaA0, shaA1)}, ""},
		{"failed key use", func() []evidence.Event {
			k := keyUsed(1, 1, "rcp_alice", shaA0, "01")
			k.Outcome = "failure"
			return []evidence.Event{k, signed(2, 1, "rcp_alice", "doc_a", shaA0, shaA1)}
		}(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := SummarizeRecipients(env, tc.events)[0].Signatures
			if len(s) != 1 || s[0].CertificateSerial != tc.want {
				t.Errorf("signatures %+v, want serial %q", s, tc.want)
			}
		})
	}
}

func testInput() CertificateInput {
	return CertificateInput{Envelope: testEnvelope(), Events: testEvents(), Generated: at(60),
		LogOrigin: "audit.acme.example/log", CheckpointSize: 1234}
}

func writeCertificateFile(t *testing.T, in CertificateInput) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteCertificate(&buf, in); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), evidence.PathCertificate)
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, buf.Bytes()
}

// words is text with its whitespace collapsed to single spaces.
func words(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestWriteCertificate checks the certificate of a three-recipient,
// two-document envelope with qpdf and pdftotext: every fact is there,
// and in the order of testdata/certificate/three-recipients.txt.
func TestWriteCertificate(t *testing.T) {
	path, _ := writeCertificateFile(t, testInput())
	if out := pdftest.Tool(t, "qpdf", "--check", path); strings.Contains(strings.ToLower(out), "warning") {
		t.Errorf("qpdf --check: %s", out)
	}
	text := words(pdftest.Tool(t, "pdftotext", "-layout", "-enc", "UTF-8", path, "-"))
	for _, want := range []string{
		// Recipients: names, e-mails, methods, serials; both hashes of each document.
		"Alice Ångström", "alice@example.com", "Bob Lukasz", "bob@example.org", "Carol Dupont", "carol@example.net",
		"email_code (otp, email)", "totp (otp, user, mfa)", "access_code (pwd)",
		"certificate serial a11ce01", "certificate serial a11ce02", "certificate serial b0b0001",
		shaA0, shaA2, shaB0, shaB1,
		"198.51.100.7", "203.0.113.6", "IP address " + notDisclosed, "Firefox/141", "curl/8.9",
		"Failed attempts 2", "Failed attempts 1",
		"Consent to sign electronically 2026-03-02T09:04:00Z",
		"#9 Document signed by Alice Ångström <alice@example.com> (document agreement.pdf)",
		"#5 Authentication attempt by Alice Ångström <alice@example.com> (email_code; failure: wrong code)",
		"#1 Envelope created by Sam Sender <sender@acme.example>",
		"#21 Envelope completed by Signet",
		"signet verify bundle.zip --trust root.pem", "pdfsig certificate-of-completion.pdf", "openssl ts -verify",
		`"audit.acme.example/log"`, "checkpoint audit/checkpoint of 1234 entries",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("pdftotext lacks %q", want)
		}
	}
	golden, err := os.ReadFile(filepath.Join("testdata", "certificate", "three-recipients.txt"))
	if err != nil {
		t.Fatal(err)
	}
	rest := text
	for _, line := range strings.Split(strings.TrimSpace(string(golden)), "\n") {
		line = words(line)
		i := strings.Index(rest, line)
		if i < 0 {
			t.Fatalf("after the previous line of the golden outline, pdftotext lacks %q:\n%s", line, text)
		}
		rest = rest[i+len(line):]
	}
}

// TestCertificateStructure checks the document itself: title, /Info,
// page numbering, and one history row per event.
func TestCertificateStructure(t *testing.T) {
	in := testInput()
	// Enough events for several pages.
	for i := int64(23); i < 200; i++ {
		in.Events = append(in.Events, ev(i, 41, "document.downloaded", "user", "usr_1", map[string]string{"document_id": "doc_a"}))
	}
	doc := certificateDocument(in)
	var heads []string
	for _, s := range doc.Sections {
		heads = append(heads, s.Heading)
	}
	if want := []string{"Envelope", "Documents", "Recipients", "History", "How to verify"}; !reflect.DeepEqual(heads, want) {
		t.Errorf("sections %q, want %q", heads, want)
	}
	if n := len(doc.Sections[2].Blocks); n != 3 {
		t.Errorf("%d recipient blocks, want 3", n)
	}
	if n := len(doc.Sections[3].Blocks[0].Rows); n != len(in.Events) {
		t.Errorf("%d history rows for %d events", n, len(in.Events))
	}
	path, data := writeCertificateFile(t, in)
	r, err := pdf.Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	info, err := r.Dict(r.Sections[0].Trailer["Info"])
	if err != nil || string(info["Title"].(pdf.String)) != "Certificate of completion" ||
		string(info["CreationDate"].(pdf.String)) != "D:20260302100000Z" {
		t.Errorf("/Info %v (%v)", info, err)
	}
	_, cat, _ := r.Catalog()
	pages, _ := r.Dict(cat["Pages"])
	n, _ := pages.Int("Count")
	if n < 3 {
		t.Fatalf("%d pages, want at least 3", n)
	}
	text := words(pdftest.Tool(t, "pdftotext", "-layout", "-enc", "UTF-8", path, "-"))
	for p := 1; p <= int(n); p++ {
		if want := "page " + strconv.Itoa(p) + " of " + strconv.Itoa(int(n)); !strings.Contains(text, want) {
			t.Errorf("no %q", want)
		}
	}
	if got := strings.Count(text, "Document downloaded by user usr_1"); got != 177 {
		t.Errorf("%d download lines, want 177", got)
	}
}

// TestSealCertificate seals a certificate with pades at B-T (a seal key
// and a time-stamp authority from testpki) and checks the signature.
func TestSealCertificate(t *testing.T) {
	_, data := writeCertificateFile(t, testInput())
	r, err := pdf.Open(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if err := pades.CheckSignable(r); err != nil {
		t.Fatalf("CheckSignable: %v", err)
	}
	root, err := testpki.NewRoot("Certificate Test Root", testpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	cert, key, err := root.IssueSigner("Acme Seal", testpki.ECDSAP256, testpki.LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tsaCert, tsaKey, err := root.IssueTSA("Certificate Test TSA", testpki.ECDSAP256, testpki.LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&tsa.Server{Signer: tsaKey, Certificate: tsaCert, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 1, 9}})
	defer srv.Close()
	var sealed bytes.Buffer
	if err := pades.Sign(context.Background(), &sealed, bytes.NewReader(data), int64(len(data)), pades.Options{
		Signer: key, Certificates: []*x509.Certificate{cert}, Level: pades.LevelBT,
		Timestamper: &tsa.Client{URLs: []string{srv.URL}}, Reason: "Certificate of completion",
	}); err != nil {
		t.Fatalf("Sign: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	rep, err := pades.Verify(bytes.NewReader(sealed.Bytes()), int64(sealed.Len()), pades.VerifyOptions{Roots: roots})
	if err != nil || !rep.Valid || len(rep.Signatures) != 1 || rep.Signatures[0].Level != "PAdES-B-T" {
		t.Fatalf("Verify: %v %+v", err, rep)
	}
	path := filepath.Join(t.TempDir(), "sealed.pdf")
	if err := os.WriteFile(path, sealed.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if out := pdftest.Tool(t, "pdfsig", path); !strings.Contains(out, "Signature Validation: Signature is Valid.") {
		t.Errorf("pdfsig:\n%s", out)
	}
	if out := pdftest.Tool(t, "qpdf", "--check", path); strings.Contains(strings.ToLower(out), "warning") {
		t.Errorf("qpdf --check: %s", out)
	}
}

// BenchmarkWriteCertificate writes the three-recipient certificate; its
// size is reported as bytes/op of output ("B/cert").
func BenchmarkWriteCertificate(b *testing.B) {
	in := testInput()
	var size int
	for b.Loop() {
		var buf bytes.Buffer
		if err := WriteCertificate(&buf, in); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size), "B/cert")
}
