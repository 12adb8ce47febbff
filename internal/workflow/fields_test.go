package workflow_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"github.com/signet-pki/signet/internal/secretscan"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/keys/atrest/atresttest"
)

func marker(what string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return "marker-" + what + "-" + hex.EncodeToString(b)
}

func phoneMarker() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1e9))
	return fmt.Sprintf("+4179%09d", n)
}

// markedRequest is a draft request with a marker in each of its free-text
// fields, and the markers.
func markedRequest(doc string) (workflow.CreateRequest, []string) {
	req := workflow.CreateRequest{Subject: marker("subject"), Message: marker("message"), Documents: []string{doc}}
	ms := []string{req.Subject, req.Message}
	for i := range 2 {
		r := workflow.RecipientInput{Role: workflow.RoleSigner, Name: marker("name"), Email: marker("email") + "@example.com",
			Order: i + 1, Auth: workflow.AuthSMSCode, Phone: phoneMarker()}
		req.Recipients = append(req.Recipients, r)
		ms = append(ms, r.Name, r.Email, r.Phone)
	}
	return req, ms
}

// TestSealedFieldsAtRest: with keys, the service stores a document's name
// and an envelope's free-text fields sealed. Markers planted in each are
// nowhere in the data directory, while the API returns them all.
func TestSealedFieldsAtRest(t *testing.T) {
	e := newEnvConfig(t, func(c *workflow.Config) {
		c.Keys = &atresttest.KeyRing{}
		c.SMSGateway = true
	})
	ctx := context.Background()
	name := marker("document") + ".pdf"
	d, err := e.svc.Upload(ctx, actor("t1"), name, strings.NewReader(string(samplePDF(t, 1, "doc"))))
	if err != nil {
		t.Fatal(err)
	}
	req, ms := markedRequest(d.ID)
	ms = append(ms, name)
	resp, body := e.doJSON("t1", "POST", "/v1/envelopes", req)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	env, err := e.svc.Envelope(ctx, actor("t1"), envelopeID(t, body))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
		t.Fatal(err)
	}
	reason := marker("void")
	ms = append(ms, reason)
	if resp, body := e.doJSON("t1", "POST", "/v1/envelopes/"+env.ID+"/void", map[string]string{"reason": reason}); resp.StatusCode != http.StatusOK {
		t.Fatalf("void: %d %s", resp.StatusCode, body)
	}
	// The API returns every value.
	_, got := e.do("t1", "GET", "/v1/envelopes/"+env.ID, "", nil)
	_, history := e.do("t1", "GET", "/v1/envelopes/"+env.ID+"/history", "", nil)
	_, doc := e.do("t1", "GET", "/v1/documents/"+d.ID, "", nil)
	all := string(got) + string(history) + string(doc)
	for _, m := range ms {
		if !strings.Contains(all, m) {
			t.Errorf("the API does not return %q", m)
		}
	}
	// The database holds none of them.
	if n := secretscan.Check(t, e.dir, ms...); n == 0 {
		t.Fatal("no file in the data directory")
	}
}

func envelopeID(t *testing.T, body []byte) string {
	t.Helper()
	_, rest, ok := strings.Cut(string(body), `"id":"`)
	id, _, ok2 := strings.Cut(rest, `"`)
	if !ok || !ok2 {
		t.Fatalf("no id in %s", body)
	}
	return id
}

// TestSealStored: a service given keys over rows stored without them
// refuses to read them (fail closed) until SealStored converted them;
// then it reads them as before, and SealStored has nothing left to do.
func TestSealStored(t *testing.T) {
	e := newEnvConfig(t, func(c *workflow.Config) { c.SMSGateway = true })
	ctx := context.Background()
	d := e.upload("t1", "contract")
	req, ms := markedRequest(d.ID)
	env, err := e.svc.CreateEnvelope(ctx, actor("t1"), req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Send(ctx, actor("t1"), env.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Void(ctx, actor("t1"), env.ID, marker("void")); err != nil {
		t.Fatal(err)
	}
	keyed := e.cfg
	keyed.Keys = &atresttest.KeyRing{}
	svc, err := workflow.New(keyed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Envelope(ctx, actor("t1"), env.ID); !errors.Is(err, workflow.ErrUnsealedField) {
		t.Fatalf("envelope in clear read with keys: %v, want ErrUnsealedField", err)
	}
	n, err := svc.SealStored(ctx)
	if err != nil || n != 2 {
		t.Fatalf("SealStored = %d, %v; want 2 (the document and the envelope)", n, err)
	}
	got, err := svc.Envelope(ctx, actor("t1"), env.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != req.Subject || got.Recipients[1].Email != req.Recipients[1].Email || got.Documents[0].Name != "contract.pdf" {
		t.Fatalf("after SealStored: %+v", got)
	}
	if n, err := svc.SealStored(ctx); err != nil || n != 0 {
		t.Fatalf("second SealStored = %d, %v; want 0", n, err)
	}
	secretscan.Check(t, e.dir, ms...)
	// Without keys, SealStored does nothing.
	if n, err := e.svc.SealStored(ctx); err != nil || n != 0 {
		t.Fatalf("SealStored without keys = %d, %v", n, err)
	}
}
