package ltv

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/signet-pki/signet/internal/testpki"
)

// TestStatus answers revocation status from embedded OCSP responses and
// CRLs alone, and prefers a revocation over a good answer.
func TestStatus(t *testing.T) {
	root, err := testpki.NewRoot("Status Root", testpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	other, err := testpki.NewRoot("Other Root", testpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	cert, _, err := root.IssueSigner("Status Leaf", testpki.ECDSAP256, testpki.LeafOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ocspFor := func(ca *testpki.CA, status int) []byte {
		der, err := ocsp.CreateResponse(ca.Cert, ca.Cert, ocsp.Response{Status: status, SerialNumber: cert.SerialNumber,
			ThisUpdate: now, NextUpdate: now.Add(time.Hour), RevokedAt: now.Add(-time.Hour), RevocationReason: ocsp.KeyCompromise}, ca.Key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	crlFor := func(ca *testpki.CA, revoked bool) []byte {
		rl := &x509.RevocationList{Number: big.NewInt(1), ThisUpdate: now, NextUpdate: now.Add(time.Hour)}
		if revoked {
			rl.RevokedCertificateEntries = []x509.RevocationListEntry{{SerialNumber: cert.SerialNumber, RevocationTime: now.Add(-2 * time.Hour), ReasonCode: 1}}
		}
		der, err := x509.CreateRevocationList(nil, rl, ca.Cert, ca.Key)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	cases := []struct {
		name       string
		data       Data
		want       string
		wantSource string
	}{
		{"ocsp good", Data{OCSPs: [][]byte{ocspFor(root, ocsp.Good)}}, Good, "ocsp"},
		{"ocsp revoked", Data{OCSPs: [][]byte{ocspFor(root, ocsp.Revoked)}}, Revoked, "ocsp"},
		{"crl clean", Data{CRLs: [][]byte{crlFor(root, false)}}, Good, "crl"},
		{"crl revoked beats ocsp good", Data{OCSPs: [][]byte{ocspFor(root, ocsp.Good)}, CRLs: [][]byte{crlFor(root, true)}}, Revoked, "crl"},
		{"foreign ocsp and crl ignored", Data{OCSPs: [][]byte{ocspFor(other, ocsp.Good)}, CRLs: [][]byte{crlFor(other, false)}}, Unknown, ""},
		{"nothing", Data{}, Unknown, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := c.data.Status(cert, root.Cert)
			if res.Status != c.want || res.Source != c.wantSource {
				t.Fatalf("Status = %+v, %v; want %s from %q", res, err, c.want, c.wantSource)
			}
			if c.want == Unknown && !errors.Is(err, ErrNoRevocationData) {
				t.Errorf("err = %v, want ErrNoRevocationData", err)
			}
		})
	}
}

// TestVRIKey checks the key format: upper-case hex SHA-1.
func TestVRIKey(t *testing.T) {
	// SHA-1("abc") = a9993e364706816aba3e25717850c26c9cd0d89d
	if got := VRIKey([]byte("abc")); got != "A9993E364706816ABA3E25717850C26C9CD0D89D" {
		t.Errorf("VRIKey = %s", got)
	}
}

// TestFetcherObserveOCSP: each request to an OCSP responder is observed
// with its URL and outcome: a good response as a success, a responder
// that answers garbage or is down as a failure.
func TestFetcherObserveOCSP(t *testing.T) {
	root, err := testpki.NewRoot("Hook Root", testpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, err := ocsp.ParseRequest(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		now := time.Now()
		der, err := ocsp.CreateResponse(root.Cert, root.Cert, ocsp.Response{Status: ocsp.Good, SerialNumber: req.SerialNumber,
			ThisUpdate: now, NextUpdate: now.Add(time.Hour)}, root.Key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Write(der)
	}))
	defer good.Close()
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("no")) }))
	defer garbage.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	leaf, _, err := root.IssueSigner("Hook Leaf", testpki.ECDSAP256, testpki.LeafOptions{OCSPServer: []string{down.URL, garbage.URL, good.URL}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	f := &Fetcher{Roots: []*x509.Certificate{root.Cert}, Observe: func(ctx context.Context, kind, url string) (context.Context, func(error)) {
		return ctx, func(err error) {
			if kind == "ocsp" {
				got = append(got, fmt.Sprintf("%s %v", url, err == nil))
			}
		}
	}}
	if _, err := f.Collect(context.Background(), leaf, []*x509.Certificate{root.Cert}); err != nil {
		t.Fatal(err)
	}
	want := []string{down.URL + " false", garbage.URL + " false", good.URL + " true"}
	if !slices.Equal(got, want) {
		t.Errorf("reported %q, want %q", got, want)
	}
}
