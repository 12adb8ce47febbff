package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/apiclient"
	"github.com/signet-pki/signet/internal/secretscan"
)

// TestSessionTokenNotAtRest: a recipient verifies the e-mailed code with
// an Idempotency-Key; the session token it receives works, a repeat of the
// request is answered with a "secret-shown-once" problem, and no file under
// the data directory holds the token (nor the link token) in any encoding,
// while the server runs or after it stops.
func TestSessionTokenNotAtRest(t *testing.T) {
	in := start(t, nil)
	ctx := context.Background()
	sender, _ := in.sender("Acme")
	if _, err := envelope(ctx, sender, "Offer", samplePDF(t, "Offer", 0), "alice@example.com"); err != nil {
		t.Fatal(err)
	}
	mb := &apiclient.Mailbox{Inbox: in.mailbox.Sent()}
	link, err := mb.Link(ctx, "alice@example.com", 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := in.client.Recipient(link).SendCode(ctx); err != nil {
		t.Fatal(err)
	}
	code, err := mb.Code(ctx, "alice@example.com", 2)
	if err != nil {
		t.Fatal(err)
	}
	verify := func() (int, []byte) {
		req, err := http.NewRequestWithContext(ctx, "POST", in.client.Base+"/v1/recipient/verify", bytes.NewReader([]byte(`{"code":"`+code+`"}`)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Link "+link)
		req.Header.Set("Idempotency-Key", "verify-1")
		res, err := in.client.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode, b
	}
	status, body := verify()
	var v struct{ Session string }
	if err := json.Unmarshal(body, &v); status != http.StatusOK || err != nil || v.Session == "" {
		t.Fatalf("verify: %d %s", status, body)
	}
	if _, err := in.client.WithAuth("Session " + v.Session).View(ctx); err != nil {
		t.Fatalf("the session does not work: %v", err)
	}
	status, body = verify()
	if status != http.StatusConflict || !strings.Contains(string(body), "/problems/secret-shown-once") || strings.Contains(string(body), v.Session) {
		t.Errorf("repeat: %d %s", status, body)
	}
	if n := secretscan.Check(t, in.dir, v.Session, link); n < 5 {
		t.Fatalf("read only %d files", n)
	}
	in.down()
	secretscan.Check(t, in.dir, v.Session, link)
}
