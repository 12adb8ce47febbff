package e2e

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/pki"
)

// TestFlowBehindClosedPKIListener: with the PKI listener's budgets at one
// request per client, an envelope still completes with its validation
// data (B-LTA): the service asks its own TSA, OCSP responders and CRLs in
// process, not as a client of the listener, which refuses a network
// client's second request.
func TestFlowBehindClosedPKIListener(t *testing.T) {
	one := pki.Rate{PerSecond: 0.0001, Burst: 1}
	in := startWith(t, nil, func(c *server.Config) {
		c.PKILimits = &pki.Limits{TSA: one, OCSP: one, Static: one, MaxInFlight: 1, MaxClients: 100}
	})
	ctx := context.Background()
	sender, _ := in.sender("Acme")
	e, err := envelope(ctx, sender, "Offer letter", samplePDF(t, "Offer letter", 0), "alice@example.com", "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, who := range []string{"alice@example.com", "bob@example.com"} {
		if _, err := in.signAs(ctx, who, 1); err != nil {
			t.Fatal(err)
		}
	}
	got, err := sender.Envelope(ctx, e.ID)
	if err != nil || got.Status != workflow.StatusCompleted {
		t.Fatalf("envelope = %s, %v; want completed", got.Status, err)
	}
	b, err := sender.Content(ctx, e.ID, e.Documents[0].DocumentID)
	if err != nil {
		t.Fatal(err)
	}
	in.checkPDF(t, b, 3, false)

	var statuses []int
	for range 2 {
		resp, err := http.Get("http://" + in.pki + "/ca/platform.crt")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
	if statuses[0] != http.StatusOK || statuses[1] != http.StatusTooManyRequests {
		t.Errorf("a network client's two requests: %v, want 200 then 429", statuses)
	}
}
