package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/apiclient"
	"github.com/signet-pki/signet/internal/secretscan"
	"github.com/signet-pki/signet/internal/workflow"
)

// marker returns a value no file or log line can hold by chance.
func marker(t *testing.T, label string) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return label + "-" + strings.ToUpper(hex.EncodeToString(b))
}

// TestNothingInClearAtRest runs a whole flow with planted markers in
// every sensitive value — the document's text and name, the envelope's
// subject and message, the recipients' names and e-mail addresses, a
// decline reason — and then reads every file of the data directory
// (databases with their journals, blobs, keys, the audit log) while the
// server runs and after it stops: none holds a marker, a link, a code or
// a session token in any encoding, and neither does the server's log at
// debug level. The API still answers every value.
func TestNothingInClearAtRest(t *testing.T) {
	logs := &syncBuffer{}
	in := startLogged(t, logs)
	ctx := context.Background()
	sender, _ := in.sender("Acme")

	text := marker(t, "TEXT")
	pdfBytes := samplePDF(t, "Merger terms "+text, 0)
	if !bytes.Contains(pdfBytes, []byte(text)) {
		t.Fatal("the sample document does not hold its text in clear: the test would prove nothing")
	}
	docName := marker(t, "DOCNAME") + ".pdf"
	subject, message, reason := marker(t, "SUBJECT"), marker(t, "MESSAGE"), marker(t, "REASON")
	alice, bob, carol := strings.ToLower(marker(t, "alice"))+"@example.com", strings.ToLower(marker(t, "bob"))+"@example.com", strings.ToLower(marker(t, "carol"))+"@example.com"
	aliceName, bobName, carolName := marker(t, "ALICENAME"), marker(t, "BOBNAME"), marker(t, "CAROLNAME")

	d, err := sender.Upload(ctx, docName, pdfBytes)
	if err != nil {
		t.Fatal(err)
	}
	create := func(recipients ...workflow.RecipientInput) workflow.Envelope {
		t.Helper()
		defer func() {
			if t.Failed() {
				t.Logf("%s", logs.Bytes())
			}
		}()
		e, err := sender.CreateEnvelope(ctx, workflow.CreateRequest{Subject: subject, Message: message, Documents: []string{d.ID}, Recipients: recipients})
		if err != nil {
			t.Fatal(err)
		}
		if e, err = sender.Send(ctx, e.ID); err != nil {
			t.Fatal(err)
		}
		return e
	}
	signed := create(
		workflow.RecipientInput{Role: workflow.RoleSigner, Name: aliceName, Email: alice, Order: 1},
		workflow.RecipientInput{Role: workflow.RoleSigner, Name: bobName, Email: bob, Order: 2},
	)
	declined := create(workflow.RecipientInput{Role: workflow.RoleSigner, Name: carolName, Email: carol, Order: 1})

	// Every link, code and session token the flow hands out.
	var secrets []string
	mb := &apiclient.Mailbox{Inbox: in.mailbox.Sent()}
	session := func(addr string) *apiclient.Client {
		t.Helper()
		link, err := mb.Link(ctx, addr, 1)
		if err != nil {
			t.Fatal(err)
		}
		rc := in.client.Recipient(link)
		if err := rc.SendCode(ctx); err != nil {
			t.Fatal(err)
		}
		code, err := mb.Code(ctx, addr, 2)
		if err != nil {
			t.Fatal(err)
		}
		sc, err := rc.Verify(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, link, code, strings.TrimPrefix(sc.Authorization, "Session "))
		return sc
	}
	for _, addr := range []string{alice, bob} {
		sc := session(addr)
		if _, err := sc.View(ctx); err != nil {
			t.Fatal(err)
		}
		if err := sc.Consent(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := sc.Sign(ctx); err != nil {
			t.Fatalf("sign as %s: %v", addr, err)
		}
	}
	if err := session(carol).Decline(ctx, reason); err != nil {
		t.Fatal(err)
	}

	// The API still answers every value in clear.
	got, err := sender.Envelope(ctx, signed.ID)
	if err != nil || got.Status != workflow.StatusCompleted {
		t.Fatalf("envelope: %+v, %v", got.Status, err)
	}
	if got.Subject != subject || got.Message != message || got.Recipients[0].Name != aliceName || got.Recipients[1].Email != bob {
		t.Errorf("the envelope reads back as %q %q %q %q", got.Subject, got.Message, got.Recipients[0].Name, got.Recipients[1].Email)
	}
	if dec, err := sender.Envelope(ctx, declined.ID); err != nil || dec.Status != workflow.StatusDeclined || dec.Recipients[0].DeclineReason != reason || dec.Recipients[0].Name != carolName {
		t.Errorf("the declined envelope reads back as %+v, %v", dec.Recipients, err)
	}
	final, err := sender.Content(ctx, signed.ID, signed.Documents[0].DocumentID)
	if err != nil || !bytes.Contains(final, []byte(text)) {
		t.Fatalf("the signed document does not read back (%v)", err)
	}
	in.checkPDF(t, final, 3, false)

	planted := append([]string{text, docName, subject, message, reason, alice, bob, carol, aliceName, bobName, carolName}, secrets...)
	if n := secretscan.Check(t, in.dir, planted...); n < 5 {
		t.Fatalf("read only %d files", n)
	}
	in.down()
	secretscan.Check(t, in.dir, planted...)
	log := logs.Bytes()
	if len(log) == 0 {
		t.Fatal("the server logged nothing: the log check would prove nothing")
	}
	for _, s := range planted {
		for _, f := range secretscan.Forms(s) {
			if bytes.Contains(log, f) {
				t.Errorf("the server's log holds %q", s)
				break
			}
		}
	}
}
