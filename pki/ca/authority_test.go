package ca_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/pki/ca"
)

// TestHierarchy checks the profile of every kind of certificate and that
// each chains to the root with the key usages relying parties check.
func TestHierarchy(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	platform, err := f.a.NewIssuing(ctx, ca.IssuingRequest{Name: ca.PlatformName, Signer: newKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	signerKey := newKey(t)
	signer, err := f.a.IssueSigner(ctx, alice, evidence, signerKey.Public(), ca.KeyRef{ID: "alice", Version: "3"})
	if err != nil {
		t.Fatal(err)
	}
	tsaCert, err := f.a.IssueTSA(ctx, ca.PlatformName, newKey(t).Public(), ca.KeyRef{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	ocspCert, err := f.a.IssueOCSPResponder(ctx, "acme", newKey(t).Public(), ca.KeyRef{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(f.root.Certificate)
	verify := func(c, inter *x509.Certificate, eku x509.ExtKeyUsage) {
		t.Helper()
		inters := x509.NewCertPool()
		inters.AddCert(inter)
		if _, err := c.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: t0, KeyUsages: []x509.ExtKeyUsage{eku}}); err != nil {
			t.Errorf("%s does not verify: %v", c.Subject, err)
		}
	}
	verify(signer, f.acme.Certificate, x509.ExtKeyUsageEmailProtection)
	verify(tsaCert, platform.Certificate, x509.ExtKeyUsageTimeStamping)
	verify(ocspCert, f.acme.Certificate, x509.ExtKeyUsageOCSPSigning)

	root := f.root.Certificate
	if !root.IsCA || root.MaxPathLen != 1 || root.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign {
		t.Errorf("root: IsCA %v, pathLen %d, keyUsage %b", root.IsCA, root.MaxPathLen, root.KeyUsage)
	}
	acme := f.acme.Certificate
	if !acme.IsCA || acme.MaxPathLen != 0 || !acme.MaxPathLenZero || !slices.Equal(acme.Subject.Organization, []string{"acme"}) {
		t.Errorf("issuing CA: IsCA %v, pathLen %d/%v, O %v", acme.IsCA, acme.MaxPathLen, acme.MaxPathLenZero, acme.Subject.Organization)
	}
	if !slices.Equal(acme.CRLDistributionPoints, []string{baseURL + "/crl/root.crl"}) || !slices.Equal(acme.IssuingCertificateURL, []string{baseURL + "/ca/root.crt"}) || len(acme.OCSPServer) != 0 {
		t.Errorf("issuing CA URLs: CDP %v, CA issuers %v, OCSP %v", acme.CRLDistributionPoints, acme.IssuingCertificateURL, acme.OCSPServer)
	}

	if signer.Subject.CommonName != alice.Name || !slices.Equal(signer.Subject.Organization, []string{"acme"}) || !slices.Equal(signer.EmailAddresses, []string{alice.Email}) {
		t.Errorf("signer subject %v, emails %v", signer.Subject, signer.EmailAddresses)
	}
	if !slices.Equal(signer.OCSPServer, []string{baseURL + "/ocsp"}) || !slices.Equal(signer.IssuingCertificateURL, []string{baseURL + "/ca/acme.crt"}) || !slices.Equal(signer.CRLDistributionPoints, []string{baseURL + "/crl/acme.crl"}) {
		t.Errorf("signer URLs: OCSP %v, CA issuers %v, CDP %v", signer.OCSPServer, signer.IssuingCertificateURL, signer.CRLDistributionPoints)
	}
	if got := signer.NotAfter.Sub(signer.NotBefore); got != ca.DefaultSignerValidity+ca.DefaultBackdate {
		t.Errorf("long-lived signer lifetime %v", got)
	}
	ev, err := ca.ParseAuthEvidence(signer)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ev.Methods, evidence.Methods) || ev.AssuranceLevel != evidence.AssuranceLevel || !ev.Time.Equal(evidence.Time) {
		t.Errorf("evidence = %+v, want %+v", ev, evidence)
	}
	for _, ext := range signer.Extensions {
		if ext.Id.Equal(ca.OIDAuthEvidence) && ext.Critical {
			t.Error("evidence extension is critical")
		}
	}

	var tsaEKU, nocheck bool
	for _, ext := range tsaCert.Extensions {
		tsaEKU = tsaEKU || (ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 37}) && ext.Critical)
	}
	for _, ext := range ocspCert.Extensions {
		nocheck = nocheck || ext.Id.Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5})
	}
	if !tsaEKU {
		t.Error("TSA certificate: extended key usage is not critical")
	}
	if !nocheck || len(ocspCert.OCSPServer) != 0 {
		t.Errorf("OCSP responder certificate: nocheck %v, OCSP URLs %v", nocheck, ocspCert.OCSPServer)
	}

	rec, err := f.store.Get(ctx, signer.SerialNumber)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Issuer != "acme" || rec.Kind != ca.KindSigner || rec.Key != (ca.KeyRef{ID: "alice", Version: "3"}) || rec.Status != ca.StatusGood || !bytes.Equal(rec.DER, signer.Raw) {
		t.Errorf("record = %+v", rec)
	}
	// root, acme, platform, signer, tsa, ocsp
	if n := len(f.tap.types()); n != 6 {
		t.Errorf("%d events recorded, want 6", n)
	}
	for _, e := range f.tap.events {
		if e.Type != auditlog.CertificateIssued || e.Subject.CertificateSerial == "" {
			t.Errorf("event %+v", e)
		}
	}
}

// TestRootSignsOnlyCAs checks that end-entity issuance under the root is
// refused.
func TestRootSignsOnlyCAs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	pub := newKey(t).Public()
	if _, err := f.a.IssueTSA(ctx, ca.RootName, pub, ca.KeyRef{}, 0); !errors.Is(err, ca.ErrInvalidRequest) {
		t.Errorf("TSA under root: err = %v", err)
	}
	if _, err := f.a.IssueOCSPResponder(ctx, ca.RootName, pub, ca.KeyRef{}, 0); !errors.Is(err, ca.ErrInvalidRequest) {
		t.Errorf("OCSP responder under root: err = %v", err)
	}
	if _, err := f.a.IssueSigner(ctx, ca.Identity{Name: "x", Email: "x@example.com", Tenant: ca.RootName}, evidence, pub, ca.KeyRef{}); !errors.Is(err, ca.ErrInvalidRequest) {
		t.Errorf("signer under root: err = %v", err)
	}
}

func TestIdentityValidation(t *testing.T) {
	f := newFixture(t)
	pub := newKey(t).Public()
	for _, c := range []struct {
		name string
		id   ca.Identity
		ev   ca.AuthEvidence
		want error
	}{
		{"ok", alice, evidence, nil},
		{"display name in email", ca.Identity{Name: "A", Email: "A <a@example.com>", Tenant: "acme"}, evidence, ca.ErrInvalidRequest},
		{"no email", ca.Identity{Name: "A", Tenant: "acme"}, evidence, ca.ErrInvalidRequest},
		{"no name", ca.Identity{Email: "a@example.com", Tenant: "acme"}, evidence, ca.ErrInvalidRequest},
		{"unknown tenant", ca.Identity{Name: "A", Email: "a@example.com", Tenant: "other"}, evidence, ca.ErrUnknownIssuer},
		{"no methods", alice, ca.AuthEvidence{AssuranceLevel: "aal1", Time: t0}, ca.ErrInvalidRequest},
		{"no auth time", alice, ca.AuthEvidence{Methods: []string{"pwd"}, AssuranceLevel: "aal1"}, ca.ErrInvalidRequest},
		{"space in method", alice, ca.AuthEvidence{Methods: []string{"p wd"}, AssuranceLevel: "aal1", Time: t0}, ca.ErrInvalidRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.a.IssueSigner(context.Background(), c.id, c.ev, pub, ca.KeyRef{})
			if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
		})
	}
}

// TestIssueEphemeral issues a ten-minute certificate for a key generated in
// the software backend, signs with it, and checks that done destroys the
// key in the backend.
func TestIssueEphemeral(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	signer, cert, done, err := f.a.IssueEphemeral(ctx, alice, evidence)
	if err != nil {
		t.Fatal(err)
	}
	if got := cert.NotAfter.Sub(t0); got != ca.DefaultEphemeralValidity {
		t.Errorf("ephemeral certificate lives %v past issuance, want %v", got, ca.DefaultEphemeralValidity)
	}
	if !cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(signer.Public()) {
		t.Fatal("certificate is not for the signer's key")
	}
	digest := sha256.Sum256([]byte("document"))
	sig, err := signer.Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignature(x509.ECDSAWithSHA256, []byte("document"), sig); err != nil {
		t.Errorf("signature does not verify against the certificate: %v", err)
	}
	rec, err := f.store.Get(ctx, cert.SerialNumber)
	if err != nil {
		t.Fatal(err)
	}
	handle, ok := bytes.CutPrefix([]byte(rec.Key.ID), []byte("soft:"))
	if !ok {
		t.Fatalf("record key id %q does not name the soft backend", rec.Key.ID)
	}
	// The soft backend makes session keys: the ephemeral key is held in
	// memory only and never written, not even sealed.
	if n := countFiles(t, f.softDir); n != 0 {
		t.Errorf("%d key files in the backend for an ephemeral key, want 0", n)
	}
	if _, err := f.soft.Signer(ctx, string(handle)); err != nil {
		t.Errorf("the backend does not hold the ephemeral key before done: %v", err)
	}
	if err := done(); err != nil {
		t.Fatal(err)
	}
	if n := countFiles(t, f.softDir); n != 0 {
		t.Errorf("%d key files in the backend after done, want 0", n)
	}
	if err := done(); err != nil {
		t.Errorf("second done: %v", err)
	}
	if _, err := signer.Sign(nil, digest[:], crypto.SHA256); !errors.Is(err, ca.ErrKeyDestroyed) {
		t.Errorf("Sign after done: err = %v, want ErrKeyDestroyed", err)
	}
	if _, err := f.soft.Signer(ctx, string(handle)); err == nil {
		t.Error("the backend still holds the key after done")
	}
}

// TestEphemeralDestroysKeyOnFailure checks that a failed issuance leaves no
// key behind: the audit log is shut down, so issuance fails closed.
func TestEphemeralDestroysKeyOnFailure(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.log.Shutdown(ctx)
	_, _, _, err := f.a.IssueEphemeral(ctx, alice, evidence)
	if !errors.Is(err, ca.ErrAudit) {
		t.Fatalf("err = %v, want ErrAudit", err)
	}
	if n := countFiles(t, f.softDir); n != 0 {
		t.Errorf("%d key files left in the backend", n)
	}
}

// TestFailClosed checks that nothing is issued or revoked when the audit
// log refuses the event.
func TestFailClosed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cert, err := f.a.IssueSigner(ctx, alice, evidence, newKey(t).Public(), ca.KeyRef{ID: "k"})
	if err != nil {
		t.Fatal(err)
	}
	f.log.Shutdown(ctx)
	if _, err := f.a.IssueSigner(ctx, alice, evidence, newKey(t).Public(), ca.KeyRef{ID: "k"}); !errors.Is(err, ca.ErrAudit) {
		t.Errorf("issue: err = %v, want ErrAudit", err)
	}
	if rs, _ := f.store.ByKey(ctx, "k", ""); len(rs) != 1 {
		t.Errorf("%d records for key k, want 1", len(rs))
	}
	if _, err := f.a.Revoke(ctx, cert.SerialNumber, ca.ReasonKeyCompromise, time.Time{}); !errors.Is(err, ca.ErrAudit) {
		t.Errorf("revoke: err = %v, want ErrAudit", err)
	}
	if r, _ := f.store.Get(ctx, cert.SerialNumber); r.Status != ca.StatusGood {
		t.Errorf("status after refused revocation = %s", r.Status)
	}
	if len(f.revoked) != 0 {
		t.Error("OnRevoke ran for a refused revocation")
	}
}
