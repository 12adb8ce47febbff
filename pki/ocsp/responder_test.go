package ocsp_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/signet-pki/signet/auditlog"
	"github.com/signet-pki/signet/pki/ca"
	"github.com/signet-pki/signet/pki/ca/storetest"
	"github.com/signet-pki/signet/pki/ocsp"
)

var t0 = time.Date(2030, 3, 1, 12, 0, 0, 0, time.UTC)

type fixture struct {
	store     *ca.MemStore
	authority *ca.Authority
	responder *ocsp.Responder
	root      *x509.Certificate
	issuer    *x509.Certificate
	good, rev *x509.Certificate
	// signer is the responder's key, counting its signatures.
	signer *countingSigner
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureAt(t, t0)
}

// newFixtureAt makes the CAs, certificates and responder at the time t0,
// the responder's clock.
func newFixtureAt(t testing.TB, t0 time.Time) *fixture {
	t.Helper()
	ctx := context.Background()
	// The CA seals signer records; the responder reads the same records
	// without any key (serials, issuers and status stay in clear).
	store := ca.NewMemStore()
	a, err := ca.New(ca.Config{Store: ca.SealedStore(store, storetest.Sealer(t)), Recorder: discard{}, BaseURL: "http://127.0.0.1:1", Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	root, err := a.NewRoot(ctx, newKey(t), ca.KeyRef{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := a.NewIssuing(ctx, ca.IssuingRequest{Name: "acme", Tenant: "acme", Signer: newKey(t)})
	if err != nil {
		t.Fatal(err)
	}
	rkey := newKey(t)
	rcert, err := a.IssueOCSPResponder(ctx, "acme", rkey.Public(), ca.KeyRef{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: store, authority: a, root: root.Certificate, issuer: iss.Certificate, signer: &countingSigner{Signer: rkey}}
	f.responder = &ocsp.Responder{Store: store, Now: func() time.Time { return t0 }, Validity: 2 * time.Hour}
	if err := f.responder.SetSigner(ocsp.Signer{CAName: "acme", CA: iss.Certificate, Certificate: rcert, Key: f.signer}); err != nil {
		t.Fatal(err)
	}
	id := ca.Identity{Name: "A", Email: "a@example.com", Tenant: "acme"}
	ev := ca.AuthEvidence{Methods: []string{"pwd"}, AssuranceLevel: "aal1", Time: t0}
	if f.good, err = a.IssueSigner(ctx, id, ev, newKey(t).Public(), ca.KeyRef{}); err != nil {
		t.Fatal(err)
	}
	if f.rev, err = a.IssueSigner(ctx, id, ev, newKey(t).Public(), ca.KeyRef{}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Revoke(ctx, f.rev.SerialNumber, ca.ReasonKeyCompromise, t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*x509.Certificate{f.good, f.rev} {
		if r, err := store.Get(ctx, c.SerialNumber); err != nil || !ca.IsSealed(r) {
			t.Fatalf("signer record %x not sealed: %v", c.SerialNumber, err)
		}
	}
	return f
}

// discard is a recorder for tests that do not look at audit events: it
// accepts every event, like a log that never fails.
type discard struct{}

func (discard) Record(context.Context, auditlog.Event) error { return nil }

func (f *fixture) request(t testing.TB, serial *big.Int, h crypto.Hash, nonce []byte) []byte {
	t.Helper()
	id, err := ocsp.NewCertID(f.issuer, serial, h)
	if err != nil {
		t.Fatal(err)
	}
	der, err := (&ocsp.Request{CertIDs: []ocsp.CertID{id}, Nonce: nonce}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestRespond checks each status with golang.org/x/crypto/ocsp as an
// independent parser, for SHA-1 and SHA-256 CertIDs.
func TestRespond(t *testing.T) {
	f := newFixture(t)
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256} {
		for _, c := range []struct {
			name   string
			serial *big.Int
			status int
		}{
			{"good", f.good.SerialNumber, xocsp.Good},
			{"revoked", f.rev.SerialNumber, xocsp.Revoked},
			{"unknown", big.NewInt(12345), xocsp.Unknown},
			{"issuing CA serial (other issuer)", f.issuer.SerialNumber, xocsp.Unknown},
		} {
			der, err := f.responder.Respond(context.Background(), f.request(t, c.serial, h, nil))
			if err != nil {
				t.Fatal(err)
			}
			r, err := xocsp.ParseResponse(der, f.issuer)
			if err != nil {
				t.Fatalf("%v %s: %v", h, c.name, err)
			}
			if r.Status != c.status || r.SerialNumber.Cmp(c.serial) != 0 {
				t.Errorf("%v %s: status %d serial %x, want %d", h, c.name, r.Status, r.SerialNumber, c.status)
			}
			if !r.ThisUpdate.Equal(t0) || !r.NextUpdate.Equal(t0.Add(2*time.Hour)) || !r.ProducedAt.Equal(t0) {
				t.Errorf("%v %s: times %v %v %v", h, c.name, r.ProducedAt, r.ThisUpdate, r.NextUpdate)
			}
			if c.status == xocsp.Revoked {
				if r.RevocationReason != xocsp.KeyCompromise || !r.RevokedAt.Equal(t0) {
					t.Errorf("revoked: reason %d at %v", r.RevocationReason, r.RevokedAt)
				}
				var inv bool
				for _, e := range r.Extensions {
					inv = inv || e.Id.String() == "2.5.29.24"
				}
				if !inv {
					t.Error("revoked: no invalidity date")
				}
			}
		}
	}
}

// oidNonceDER is the DER of the nonce extension's OID,
// 1.3.6.1.5.5.7.48.1.2.
var oidNonceDER = []byte{0x06, 0x09, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02}

// TestNonce: with pre-produced responses (the default) the nonce is
// ignored; a responder that never reuses responses echoes it (RFC 9654).
func TestNonce(t *testing.T) {
	f := newFixture(t)
	nonce := bytes.Repeat([]byte{0xab}, 16)
	// The nonce extension's value: OCTET STRING 04 10 ab…ab.
	echoed := append([]byte{0x04, 0x10}, nonce...)
	der, err := f.responder.Respond(context.Background(), f.request(t, f.good.SerialNumber, crypto.SHA1, nonce))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(der, oidNonceDER) {
		t.Error("a pre-produced response carries a nonce")
	}
	f.responder.ReuseFor = -1
	der, err = f.responder.Respond(context.Background(), f.request(t, f.good.SerialNumber, crypto.SHA1, nonce))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(der, echoed) {
		t.Error("a responder without reuse does not echo the request's nonce")
	}
	der, _ = f.responder.Respond(context.Background(), f.request(t, f.good.SerialNumber, crypto.SHA1, nil))
	if bytes.Contains(der, oidNonceDER) {
		t.Error("response without a request nonce carries a nonce extension")
	}
}

func TestErrorResponses(t *testing.T) {
	f := newFixture(t)
	other := newKey(t)
	otherCA, _ := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "other"}, NotBefore: t0, NotAfter: t0.Add(time.Hour), IsCA: true, BasicConstraintsValid: true}, &x509.Certificate{SerialNumber: big.NewInt(9), Subject: pkix.Name{CommonName: "other"}}, other.Public(), other)
	oc, _ := x509.ParseCertificate(otherCA)
	id, _ := ocsp.NewCertID(oc, big.NewInt(1), crypto.SHA1)
	foreign, _ := (&ocsp.Request{CertIDs: []ocsp.CertID{id}}).Marshal()
	for _, c := range []struct {
		name string
		req  []byte
		want []byte
	}{
		{"empty", nil, xocsp.MalformedRequestErrorResponse},
		{"garbage", []byte("hello"), xocsp.MalformedRequestErrorResponse},
		{"trailing", append(f.request(t, f.good.SerialNumber, crypto.SHA1, nil), 0), xocsp.MalformedRequestErrorResponse},
		{"other CA", foreign, xocsp.UnauthorizedErrorResponse},
	} {
		got, err := f.responder.Respond(context.Background(), c.req)
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("%s: %x, %v; want %x", c.name, got, err, c.want)
		}
	}
}

func TestHTTP(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(http.StripPrefix("/ocsp", f.responder))
	defer srv.Close()
	req := f.request(t, f.rev.SerialNumber, crypto.SHA1, nil)
	check := func(name string, resp *http.Response, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ocsp.ContentTypeResponse {
			t.Fatalf("%s: %d %q", name, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		r, err := xocsp.ParseResponse(buf.Bytes(), f.issuer)
		if err != nil || r.Status != xocsp.Revoked {
			t.Errorf("%s: %v, %v", name, r, err)
		}
	}
	resp, err := http.Post(srv.URL+"/ocsp", ocsp.ContentTypeRequest, bytes.NewReader(req))
	check("POST", resp, err)
	resp, err = http.Get(srv.URL + "/ocsp/" + base64.StdEncoding.EncodeToString(req))
	check("GET", resp, err)
	resp, err = http.Post(srv.URL+"/ocsp", "text/plain", bytes.NewReader(req))
	if err != nil || resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("POST text/plain: %v %v", resp.StatusCode, err)
	}
	resp, err = http.Get(srv.URL + "/ocsp/" + strings.Repeat("!", 10))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(buf.Bytes(), xocsp.MalformedRequestErrorResponse) {
		t.Errorf("GET with bad base64: %x", buf.Bytes())
	}
}

func BenchmarkRespond(b *testing.B) {
	f := newFixture(b)
	req := f.request(b, f.good.SerialNumber, crypto.SHA1, bytes.Repeat([]byte{1}, 16))
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.responder.Respond(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "responses/s")
}
