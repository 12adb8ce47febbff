package crl_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/pki/ca"
	"github.com/signet-pki/signet/pki/ca/storetest"
	"github.com/signet-pki/signet/pki/crl"
)

var t0 = time.Date(2030, 3, 1, 12, 0, 0, 0, time.UTC)

type accept struct{}

// Record accepts every event, as a log that never fails would.
func (accept) Record(context.Context, auditlog.Event) error { return nil }

func key(t *testing.T) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestPublisher checks CRL contents and numbering: the same CRL while
// nothing changes, a new one with a higher number after a revocation (via
// the CA's hook) and after half the validity, with reason codes and
// invalidity dates, signed by the issuing CA.
func TestPublisher(t *testing.T) {
	ctx := context.Background()
	now := t0
	clock := func() time.Time { return now }
	// The CA seals signer records; the publisher reads the revocations
	// without any key.
	store := ca.NewMemStore()
	p := &crl.Publisher{Source: store, Now: clock, Validity: 10 * time.Hour}
	a, err := ca.New(ca.Config{Store: ca.SealedStore(store, storetest.Sealer(t)), Recorder: accept{}, BaseURL: "http://x", Now: clock,
		OnRevoke: func(ctx context.Context, r ca.Record) { p.Regenerate(ctx, r.Issuer) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.NewRoot(ctx, key(t), ca.KeyRef{}, 0); err != nil {
		t.Fatal(err)
	}
	iss, err := a.NewIssuing(ctx, ca.IssuingRequest{Name: "acme", Tenant: "acme", Signer: key(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SetIssuer("acme", iss.Certificate, iss.Signer); err != nil {
		t.Fatal(err)
	}
	id := ca.Identity{Name: "A", Email: "a@example.com", Tenant: "acme"}
	ev := ca.AuthEvidence{Methods: []string{"pwd"}, AssuranceLevel: "aal1", Time: t0}
	c1, err := a.IssueSigner(ctx, id, ev, key(t).Public(), ca.KeyRef{})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := a.IssueSigner(ctx, id, ev, key(t).Public(), ca.KeyRef{})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := store.Get(ctx, c1.SerialNumber); err != nil || !ca.IsSealed(r) {
		t.Fatalf("signer record not sealed: %v", err)
	}

	get := func() *x509.RevocationList {
		t.Helper()
		der, err := p.CRL(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		l, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.CheckSignatureFrom(iss.Certificate); err != nil {
			t.Fatal(err)
		}
		return l
	}
	l1 := get()
	if l1.Number.Int64() != 1 || len(l1.RevokedCertificateEntries) != 0 || !l1.ThisUpdate.Equal(t0) || !l1.NextUpdate.Equal(t0.Add(10*time.Hour)) {
		t.Errorf("first CRL: number %v, %d entries, %v–%v", l1.Number, len(l1.RevokedCertificateEntries), l1.ThisUpdate, l1.NextUpdate)
	}
	now = now.Add(time.Hour)
	if l := get(); l.Number.Int64() != 1 {
		t.Errorf("unchanged set: CRL number %v, want the same CRL (1)", l.Number)
	}
	compromise := t0.Add(-time.Hour)
	if _, err := a.Revoke(ctx, c1.SerialNumber, ca.ReasonKeyCompromise, compromise); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Revoke(ctx, c2.SerialNumber, ca.ReasonSuperseded, time.Time{}); err != nil {
		t.Fatal(err)
	}
	l3 := get()
	if l3.Number.Int64() != 3 || len(l3.RevokedCertificateEntries) != 2 {
		t.Fatalf("after two revocations: number %v, %d entries", l3.Number, len(l3.RevokedCertificateEntries))
	}
	e := l3.RevokedCertificateEntries[0]
	var inv time.Time
	for _, x := range e.Extensions {
		if x.Id.String() == "2.5.29.24" {
			if inv, err = parseGeneralized(x.Value); err != nil {
				t.Fatal(err)
			}
		}
	}
	if e.SerialNumber.Cmp(c1.SerialNumber) != 0 || e.ReasonCode != 1 || !e.RevocationTime.Equal(now) || !inv.Equal(compromise) {
		t.Errorf("entry %+v, invalidity %v", e, inv)
	}
	if l3.RevokedCertificateEntries[1].ReasonCode != 4 {
		t.Errorf("second entry reason %d", l3.RevokedCertificateEntries[1].ReasonCode)
	}
	now = now.Add(5 * time.Hour)
	if l := get(); l.Number.Int64() != 4 {
		t.Errorf("after half the validity: number %v, want 4", l.Number)
	}
	if _, err := p.CRL(ctx, "nope"); !errors.Is(err, crl.ErrUnknownCA) {
		t.Errorf("unknown CA: %v", err)
	}

	srv := httptest.NewServer(http.StripPrefix("/crl", p))
	defer srv.Close()
	for _, c := range []struct {
		path string
		code int
	}{{"/crl/acme.crl", 200}, {"/crl/other.crl", 404}, {"/crl/acme", 404}, {"/crl/../x.crl", 404}} {
		resp, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("GET %s: %d, want %d", c.path, resp.StatusCode, c.code)
		}
		if c.code == 200 {
			if _, err := x509.ParseRevocationList(body); err != nil || resp.Header.Get("Content-Type") != crl.ContentType {
				t.Errorf("GET %s: %v %q", c.path, err, resp.Header.Get("Content-Type"))
			}
		}
	}
}

func parseGeneralized(der []byte) (time.Time, error) {
	var tm time.Time
	_, err := asn1.Unmarshal(der, &tm)
	return tm, err
}
