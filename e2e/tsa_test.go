package e2e

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/server"
	"github.com/signet-pki/signet/internal/testpki"
	"github.com/signet-pki/signet/internal/workflow"
	"github.com/signet-pki/signet/tsa"
)

// externalTSA is an RFC 3161 authority of another PKI, with a CRL for
// its certificate, served over HTTP.
type externalTSA struct {
	root      *testpki.CA
	url       string
	rootsFile string
	requests  atomic.Int32
}

func newExternalTSA(t *testing.T) *externalTSA {
	t.Helper()
	root, err := testpki.NewRoot("Example Qualified TSA Root", testpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	x := &externalTSA{root: root}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cert, key, err := root.IssueTSA("Example Qualified TSA", testpki.ECDSAP256, testpki.LeafOptions{
		CRLDistributionPoints: []string{srv.URL + "/root.crl"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := &tsa.Server{Signer: key, Certificate: cert, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 7, 1}}
	mux.HandleFunc("/tsa", func(w http.ResponseWriter, r *http.Request) {
		x.requests.Add(1)
		ts.ServeHTTP(w, r)
	})
	mux.HandleFunc("/root.crl", func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
			Number: big.NewInt(now.Unix()), ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour),
		}, root.Cert, root.Key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		w.Write(crl)
	})
	x.url = srv.URL + "/tsa"
	x.rootsFile = filepath.Join(t.TempDir(), "tsa-roots.pem")
	if err := testpki.WritePEM(x.rootsFile, root.Cert); err != nil {
		t.Fatal(err)
	}
	return x
}

// TestExternalTSA configures a TSA of another PKI with its trust anchor:
// every signature and the seal's document time-stamp come from it, and
// the completed document validates at B-LTA against both roots.
func TestExternalTSA(t *testing.T) {
	x := newExternalTSA(t)
	in := startWith(t, nil, func(c *server.Config) {
		c.TSAURLs, c.TSARootsFile = []string{x.url}, x.rootsFile
	})
	ctx := context.Background()
	sender, _ := in.sender("Acme")
	e, err := envelope(ctx, sender, "Lease", samplePDF(t, "Lease", 0), "alice@example.com", "bob@example.com")
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
		t.Fatalf("envelope %v, %v", got.Status, err)
	}
	if n := x.requests.Load(); n < 3 {
		t.Fatalf("the external TSA answered %d requests, want one per signature and the document time-stamp", n)
	}
	b, err := sender.Content(ctx, e.ID, e.Documents[0].DocumentID)
	if err != nil {
		t.Fatal(err)
	}
	in.roots.AddCert(x.root.Cert)
	in.checkPDF(t, b, 3, true)
}

// TestExternalTSAUntrusted configures a TSA whose tokens do not chain to
// the configured roots: signing fails closed and nothing is signed.
func TestExternalTSAUntrusted(t *testing.T) {
	x := newExternalTSA(t)
	other := newExternalTSA(t)
	in := startWith(t, nil, func(c *server.Config) {
		c.TSAURLs, c.TSARootsFile = []string{x.url}, other.rootsFile
	})
	ctx := context.Background()
	sender, _ := in.sender("Acme")
	e, err := envelope(ctx, sender, "Lease", samplePDF(t, "Lease", 0), "alice@example.com", "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.signAs(ctx, "alice@example.com", 1); err == nil {
		t.Fatal("a signature was made with a time-stamp from an untrusted TSA")
	}
	got, err := sender.Envelope(ctx, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Recipients[0].Status == workflow.RecipientCompleted || got.Documents[0].SHA256 != got.Documents[0].OriginalSHA256 {
		t.Fatalf("after a refused signature: recipient %s, document %.8s (original %.8s)",
			got.Recipients[0].Status, got.Documents[0].SHA256, got.Documents[0].OriginalSHA256)
	}
}
