package pki_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/signet-pki/signet/pki"
	"github.com/signet-pki/signet/pki/ca"
	"github.com/signet-pki/signet/tsa"
)

// TestArchiveTSA: the archive TSA has a key of its own, a fifteen-year
// certificate from the root with the critical timeStamping extended key
// usage, and answers at /tsa/archive with tokens that chain to the root
// ten years on.
func TestArchiveTSA(t *testing.T) {
	e := newEnv(t)
	p := e.start(t)
	c, root := p.Cert(pki.ArchiveTSARole.Name), p.Cert("ca/root")
	if c == nil {
		t.Fatal("no archive TSA certificate")
	}
	if err := c.CheckSignatureFrom(root); err != nil {
		t.Errorf("not issued by the root: %v", err)
	}
	if got := c.NotAfter.Sub(e.now); got < ca.DefaultArchiveTSAValidity-time.Hour || c.NotAfter.After(root.NotAfter) {
		t.Errorf("valid until %v (%v from now), want %v, within the root's %v", c.NotAfter, got, ca.DefaultArchiveTSAValidity, root.NotAfter)
	}
	if bytes.Equal(c.RawSubjectPublicKeyInfo, p.Cert("tsa").RawSubjectPublicKeyInfo) {
		t.Error("the archive TSA shares the TSA's key")
	}
	critical := false
	for _, ext := range c.Extensions {
		if ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 37}) {
			critical = ext.Critical
		}
	}
	if !critical || len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || c.IsCA {
		t.Errorf("extended key usage %v (critical %v), CA %v: want only a critical timeStamping", c.ExtKeyUsage, critical, c.IsCA)
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(root)
	digest := sha256.Sum256([]byte("archived"))
	tok, err := (&tsa.Client{URLs: []string{srv.URL + pki.ArchiveTSAPath}, Roots: roots}).Timestamp(context.Background(), crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	signer, err := tok.SignedData.SignerCertificate()
	if err != nil || !signer.Equal(c) {
		t.Fatalf("signed by %v (%v), want the archive TSA", signer, err)
	}
	if _, err := signer.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: e.now.AddDate(10, 0, 0),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}}); err != nil {
		t.Errorf("the archive TSA does not chain to the root in ten years: %v", err)
	}
}

// TestArchiveTSARenewal: the archive TSA's certificate is renewed, for the
// same key, once less than pki.ArchiveTSAKeepFor remains, at start and by
// the renewer, and not when a successor could not outlive it (the root
// ends first).
func TestArchiveTSARenewal(t *testing.T) {
	cases := []struct {
		name    string
		later   []int // years, months, days after the first start
		renewer bool
		renewed bool
	}{
		{"kept after three years", []int{3, 0, 0}, false, false},
		{"renewed at start after five years", []int{5, 0, 2}, false, true},
		{"renewed by the renewer after five years", []int{5, 0, 2}, true, true},
		{"not renewed when the root ends first", []int{11, 0, 0}, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			p1 := e.start(t)
			first := p1.Cert(pki.ArchiveTSARole.Name)
			if c.later[0] > 5 {
				// A first renewal at five years: its certificate ends
				// with the root's.
				e.now = e.now.AddDate(5, 0, 2)
				first = e.start(t).Cert(pki.ArchiveTSARole.Name)
				if !first.NotAfter.Equal(p1.Cert("ca/root").NotAfter) {
					t.Fatalf("renewed at five years until %v, want the root's end %v", first.NotAfter, p1.Cert("ca/root").NotAfter)
				}
				e.now = e.now.AddDate(-5, 0, -2)
			}
			e.now = e.now.AddDate(c.later[0], c.later[1], c.later[2])
			var got *x509.Certificate
			if c.renewer {
				// A process started before the due date renews in the
				// renewer's run.
				e.now = e.now.AddDate(-1, 0, 0)
				p, r := e.startWithRenewer(t)
				if !bytes.Equal(p.Cert(pki.ArchiveTSARole.Name).Raw, first.Raw) {
					t.Fatal("renewed at start a year before it is due")
				}
				e.now = e.now.AddDate(1, 0, 0)
				if err := r.Check(context.Background()); err != nil {
					t.Fatal(err)
				}
				got = p.Cert(pki.ArchiveTSARole.Name)
			} else {
				got = e.start(t).Cert(pki.ArchiveTSARole.Name)
			}
			if renewed := !bytes.Equal(got.Raw, first.Raw); renewed != c.renewed {
				t.Fatalf("renewed %v, want %v (now %v, until %v)", renewed, c.renewed, e.now, got.NotAfter)
			}
			if !bytes.Equal(got.RawSubjectPublicKeyInfo, first.RawSubjectPublicKeyInfo) {
				t.Error("renewal changed the key")
			}
			if c.renewed && got.NotAfter.Before(e.now.Add(pki.ArchiveTSAKeepFor)) {
				t.Errorf("renewed until %v, less than %v ahead", got.NotAfter, pki.ArchiveTSAKeepFor)
			}
		})
	}
}
