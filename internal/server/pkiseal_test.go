package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/signet-pki/signet/internal/accounts"
	"github.com/signet-pki/signet/internal/datadir"
	"github.com/signet-pki/signet/internal/secretscan"
	"github.com/signet-pki/signet/keys/dataseal"
	"github.com/signet-pki/signet/pki/ca"
)

// testRing is a workflow.KeyRing of software KEKs, one random key per
// tenant and object, that counts the objects asked for.
type testRing struct {
	mu    sync.Mutex
	keks  map[[2]string]dataseal.KEK
	asked map[[2]string]int
}

func (r *testRing) ObjectKEK(_ context.Context, tenant, object string, create bool) (dataseal.KEK, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := [2]string{tenant, object}
	r.asked[k]++
	if kek, ok := r.keks[k]; ok {
		return kek, nil
	}
	if !create {
		return nil, errors.New("no data key")
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	r.keks[k] = dataseal.NewAESKEK("1", key)
	return r.keks[k], nil
}

func (r *testRing) Shred(_ context.Context, tenant, object string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.keks, [2]string{tenant, object})
	return nil
}

type fixedTenants []string

func (f fixedTenants) Tenants(context.Context) ([]accounts.Tenant, error) {
	var out []accounts.Tenant
	for _, id := range f {
		out = append(out, accounts.Tenant{ID: id})
	}
	return out, nil
}

// TestPKISealsSignerRecords: with a key ring, the server's CA keeps a
// signer's name and e-mail address nowhere in clear in the data
// directory (pki.db, the audit log, keys), under the data key of its
// tenant's certificates; OCSP and the CRL answer for the certificate
// from the stored records; revoking it opens the record.
func TestPKISealsSignerRecords(t *testing.T) {
	ctx := context.Background()
	path := t.TempDir()
	dir, err := datadir.Open(path, datadir.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	log, err := dir.AuditLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const tenant = "t-5ea1"
	ring := &testRing{keks: map[[2]string]dataseal.KEK{}, asked: map[[2]string]int{}}
	p, err := openPKI(ctx, dir, log, fixedTenants{tenant}, "http://pki.invalid", options{logger: slog.New(slog.DiscardHandler), now: time.Now}, ring)
	if err != nil {
		t.Fatal(err)
	}
	const name, email = "Zephyrine Quillfeather", "zq.planted@example.org"
	ev := ca.AuthEvidence{Methods: []string{"otp"}, AssuranceLevel: "aal1", Time: time.Now()}
	_, cert, done, err := p.authority.IssueEphemeral(ctx, ca.Identity{Name: name, Email: email, Tenant: tenant}, ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := done(); err != nil {
		t.Fatal(err)
	}
	if n := ring.asked[[2]string{tenant, caRecordsObject(tenant)}]; n != 2 {
		t.Errorf("the tenant's certificates key was asked for %d times, want 2 (subject and DER)", n)
	}
	caStore, err := dir.CAStore(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := caStore.Get(ctx, cert.SerialNumber); err != nil || !ca.IsSealed(raw) {
		t.Fatalf("the signer's record is not sealed in pki.db: %v", err)
	}
	issuer := p.Cert("ca/" + tenant)
	srv := httptest.NewServer(p.PKI)
	defer srv.Close()
	status := func() int {
		t.Helper()
		req, err := ocsp.CreateRequest(cert, issuer, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.Post(srv.URL+"/ocsp", "application/ocsp-request", bytes.NewReader(req))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		r, err := ocsp.ParseResponseForCert(body, cert, issuer)
		if err != nil {
			t.Fatalf("OCSP response: %v (HTTP %d)", err, res.StatusCode)
		}
		return r.Status
	}
	if s := status(); s != ocsp.Good {
		t.Errorf("OCSP status %d, want good", s)
	}
	r, err := p.authority.Revoke(ctx, cert.SerialNumber, ca.ReasonCessationOfOperation, time.Time{})
	if err != nil || r.Subject != cert.Subject.String() || !bytes.Equal(r.DER, cert.Raw) {
		t.Fatalf("Revoke = %+v, %v; want the record opened", r, err)
	}
	if s := status(); s != ocsp.Revoked {
		t.Errorf("OCSP status after revocation %d, want revoked", s)
	}
	res, err := http.Get(srv.URL + "/crl/" + tenant + ".crl")
	if err != nil {
		t.Fatal(err)
	}
	der, _ := io.ReadAll(res.Body)
	res.Body.Close()
	crl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(cert.SerialNumber) != 0 {
		t.Errorf("CRL entries %+v, want the signer's serial", crl.RevokedCertificateEntries)
	}
	if n := secretscan.Check(t, path, name, email); n == 0 {
		t.Fatal("secretscan read no file")
	}
}

// TestCARecordSealer: no ring, no sealer; the root's and the platform
// CA's records, which name no tenant, are refused.
func TestCARecordSealer(t *testing.T) {
	if caRecordSealer(nil) != nil {
		t.Error("a sealer without a key ring")
	}
	ring := &testRing{keks: map[[2]string]dataseal.KEK{}, asked: map[[2]string]int{}}
	s := caRecordSealer(ring)
	ctx := context.Background()
	serial := big.NewInt(1)
	for _, issuer := range []string{ca.RootName, ca.PlatformName, "Not A Name"} {
		if _, err := s.Seal(ctx, issuer, serial, ca.FieldSubject, []byte("CN=x")); err == nil {
			t.Errorf("sealed a record of %q", issuer)
		}
	}
	sealed, err := s.Seal(ctx, "t-1", serial, ca.FieldSubject, []byte("CN=x"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Open(ctx, "t-1", serial, ca.FieldSubject, sealed); err != nil || string(got) != "CN=x" {
		t.Errorf("Open = %q, %v", got, err)
	}
	if _, ok := ring.keks[[2]string{"t-1", "certificates:t-1"}]; !ok || len(ring.keks) != 1 {
		t.Errorf("data keys made: %v, want only t-1's certificates key", ring.keks)
	}
}
