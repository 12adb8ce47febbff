package ocsp_test

import (
	"bytes"
	"crypto"
	"math/big"
	"testing"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/signet-pki/signet/pki/ocsp"
)

// TestParseRequestInterop parses a request made by golang.org/x/crypto/ocsp.
func TestParseRequestInterop(t *testing.T) {
	f := newFixture(t)
	der, err := xocsp.CreateRequest(f.good, f.issuer, &xocsp.RequestOptions{Hash: crypto.SHA256})
	if err != nil {
		t.Fatal(err)
	}
	r, err := ocsp.ParseRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ocsp.NewCertID(f.issuer, f.good.SerialNumber, crypto.SHA256)
	got := r.CertIDs[0]
	if len(r.CertIDs) != 1 || got.Hash != crypto.SHA256 || !bytes.Equal(got.IssuerKeyHash, want.IssuerKeyHash) || !bytes.Equal(got.IssuerNameHash, want.IssuerNameHash) || got.SerialNumber.Cmp(f.good.SerialNumber) != 0 {
		t.Errorf("parsed %+v, want %+v", got, want)
	}
}

// FuzzParseRequest checks that the parser never panics, that an accepted
// request re-encodes, and that the encoding parses to the same request.
func FuzzParseRequest(f *testing.F) {
	id := ocsp.CertID{Hash: crypto.SHA1, IssuerNameHash: bytes.Repeat([]byte{1}, 20), IssuerKeyHash: bytes.Repeat([]byte{2}, 20), SerialNumber: big.NewInt(77)}
	for _, r := range []*ocsp.Request{{CertIDs: []ocsp.CertID{id}}, {CertIDs: []ocsp.CertID{id, id}, Nonce: []byte("0123456789abcdef")}} {
		if der, err := r.Marshal(); err == nil {
			f.Add(der)
		}
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		r, err := ocsp.ParseRequest(der)
		if err != nil {
			return
		}
		again, err := r.Marshal()
		if err != nil {
			t.Fatalf("accepted request does not re-encode: %v", err)
		}
		r2, err := ocsp.ParseRequest(again)
		if err != nil {
			t.Fatalf("re-encoded request does not parse: %v", err)
		}
		if len(r.CertIDs) != len(r2.CertIDs) || !bytes.Equal(r.Nonce, r2.Nonce) {
			t.Fatalf("round trip changed the request")
		}
		for i := range r.CertIDs {
			a, b := r.CertIDs[i], r2.CertIDs[i]
			if !a.HashAlgorithm.Equal(b.HashAlgorithm) || !bytes.Equal(a.IssuerNameHash, b.IssuerNameHash) || !bytes.Equal(a.IssuerKeyHash, b.IssuerKeyHash) || a.SerialNumber.Cmp(b.SerialNumber) != 0 {
				t.Fatalf("round trip changed CertID %d", i)
			}
		}
	})
}
