package ltv

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/signet-pki/signet/internal/testpki"
)

func TestFetcherObserve(t *testing.T) {
	root, err := testpki.NewRoot("Observed Root", testpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
		ThisUpdate: time.Now().Add(-time.Hour), NextUpdate: time.Now().Add(time.Hour)}, root.Cert, root.Key)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /root.crl", func(w http.ResponseWriter, _ *http.Request) { w.Write(crl) })
	srv := httptest.NewServer(mux) // no OCSP responder: /ocsp is 404
	defer srv.Close()
	leaf, _, err := root.IssueSigner("Observed Leaf", testpki.ECDSAP256, testpki.LeafOptions{
		OCSPServer: []string{srv.URL + "/ocsp"}, CRLDistributionPoints: []string{srv.URL + "/root.crl"}})
	if err != nil {
		t.Fatal(err)
	}
	type seen struct {
		kind   string
		failed bool
	}
	var got []seen
	f := &Fetcher{Roots: []*x509.Certificate{root.Cert},
		Observe: func(ctx context.Context, kind, _ string) (context.Context, func(error)) {
			return ctx, func(err error) { got = append(got, seen{kind, err != nil}) }
		}}
	if _, err := f.Collect(context.Background(), leaf, []*x509.Certificate{root.Cert}); err != nil {
		t.Fatal(err)
	}
	want := []seen{{"ocsp", true}, {"crl", false}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("observed %v, want %v", got, want)
	}
}
