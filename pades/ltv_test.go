package pades

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/signet-pki/signet/internal/testpki"
	"github.com/signet-pki/signet/ltv"
	"github.com/signet-pki/signet/tsa"
)

// ltvPKI is a root that answers OCSP and serves a CRL over HTTP, with a
// signer, a TSA for signature time-stamps (two years) and an archive TSA
// for document time-stamps (fifteen years), whose certificates point at
// them. The root lives twenty years.
type ltvPKI struct {
	root       *testpki.CA
	roots      *x509.CertPool
	signer     crypto.Signer
	cert       *x509.Certificate
	tsaURL     string
	archive    *x509.Certificate
	archiveURL string
	srv        *httptest.Server
	mu         sync.Mutex
	revoked    map[string]time.Time // serial → revocation time
	invalid    map[string]time.Time // serial → invalidity date (key compromise time)
	down       bool
}

func newLTVPKI(t *testing.T) *ltvPKI {
	t.Helper()
	p := &ltvPKI{revoked: map[string]time.Time{}, invalid: map[string]time.Time{}}
	var err error
	if p.root, err = testpki.NewRootValidFor("LTV Root", testpki.ECDSAP256, 20*365*24*time.Hour); err != nil {
		t.Fatal(err)
	}
	p.roots = x509.NewCertPool()
	p.roots.AddCert(p.root.Cert)
	mux := http.NewServeMux()
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	mux.HandleFunc("/ocsp", p.ocsp)
	mux.HandleFunc("/crl", p.crl)
	mux.HandleFunc("/root.crt", func(w http.ResponseWriter, r *http.Request) { w.Write(p.root.Cert.Raw) })
	lo := testpki.LeafOptions{
		OCSPServer:            []string{p.srv.URL + "/ocsp"},
		CRLDistributionPoints: []string{p.srv.URL + "/crl"},
		IssuingCertificateURL: []string{p.srv.URL + "/root.crt"},
	}
	if p.cert, p.signer, err = p.root.IssueSigner("Long Term Signer", testpki.ECDSAP256, lo); err != nil {
		t.Fatal(err)
	}
	_, p.tsaURL = p.newTSA(t, "Long Term TSA", time.Time{})
	p.archive, p.archiveURL = p.newTSA(t, "Archive TSA", time.Now().AddDate(15, 0, 0))
	return p
}

// newTSA starts a TSA whose certificate, under the root, expires at
// notAfter (zero: in two years), and returns the certificate and URL.
func (p *ltvPKI) newTSA(t *testing.T, name string, notAfter time.Time) (*x509.Certificate, string) {
	t.Helper()
	cert, key, err := p.root.IssueTSA(name, testpki.ECDSAP256, testpki.LeafOptions{
		NotAfter:              notAfter,
		OCSPServer:            []string{p.srv.URL + "/ocsp"},
		CRLDistributionPoints: []string{p.srv.URL + "/crl"},
		IssuingCertificateURL: []string{p.srv.URL + "/root.crt"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(&tsa.Server{Signer: key, Certificate: cert, Policy: testPolicy})
	t.Cleanup(ts.Close)
	return cert, ts.URL
}

func (p *ltvPKI) ocsp(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	body, _ := io.ReadAll(r.Body)
	req, err := ocsp.ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	now := time.Now()
	tmpl := ocsp.Response{Status: ocsp.Good, SerialNumber: req.SerialNumber, ThisUpdate: now, NextUpdate: now.Add(time.Hour)}
	p.mu.Lock()
	if at, ok := p.revoked[req.SerialNumber.String()]; ok {
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, at, ocsp.KeyCompromise
		if inv, ok := p.invalid[req.SerialNumber.String()]; ok {
			tmpl.ExtraExtensions = []pkix.Extension{invalidityExtension(inv)}
		}
	}
	p.mu.Unlock()
	der, err := ocsp.CreateResponse(p.root.Cert, p.root.Cert, tmpl, p.root.Key)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Write(der)
}

func (p *ltvPKI) crl(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	var entries []x509.RevocationListEntry
	for s, at := range p.revoked {
		n, _ := new(big.Int).SetString(s, 10)
		e := x509.RevocationListEntry{SerialNumber: n, RevocationTime: at, ReasonCode: 1}
		if inv, ok := p.invalid[s]; ok {
			e.ExtraExtensions = []pkix.Extension{invalidityExtension(inv)}
		}
		entries = append(entries, e)
	}
	p.mu.Unlock()
	der, err := x509.CreateRevocationList(nil, &x509.RevocationList{
		Number: big.NewInt(time.Now().UnixNano()), ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour),
		RevokedCertificateEntries: entries,
	}, p.root.Cert, p.root.Key)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Write(der)
}

func (p *ltvPKI) options(level Level) Options {
	return Options{Signer: p.signer, Certificates: []*x509.Certificate{p.cert}, Level: level,
		Timestamper:        &tsa.Client{URLs: []string{p.tsaURL}},
		ArchiveTimestamper: &tsa.Client{URLs: []string{p.archiveURL}},
		Fetcher:            &ltv.Fetcher{Roots: []*x509.Certificate{p.root.Cert}}}
}

// signToFile signs in at an LT level straight into a file (B-LT and B-LTA
// append to their output).
func signToFile(t *testing.T, in string, opts Options) string {
	t.Helper()
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "lt.pdf")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Sign(context.Background(), f, bytes.NewReader(data), int64(len(data)), opts); err != nil {
		t.Fatalf("Sign %s: %v", opts.Level, err)
	}
	return out
}

func verifyAt(t *testing.T, path string, roots *x509.CertPool, at time.Time) *Report {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(bytes.NewReader(data), int64(len(data)), VerifyOptions{Roots: roots, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestLongTermLevels signs at B-LT and B-LTA and validates offline, now and
// with the clock moved ten years forward, after every certificate but the
// root's and the archive TSA's expired: B-LTA stays valid, B-LT (whose
// latest time-stamp is the two-year TSA's) does not.
func TestLongTermLevels(t *testing.T) {
	p := newLTVPKI(t)
	future := time.Now().AddDate(10, 0, 2)
	if !future.After(p.cert.NotAfter) {
		t.Fatalf("the future clock %v is not after the signer's expiry %v", future, p.cert.NotAfter)
	}
	for _, level := range []Level{LevelBLT, LevelBLTA} {
		t.Run(string(level), func(t *testing.T) {
			out := signToFile(t, corpusPath("xrefstream.pdf"), p.options(level))
			checkQpdf(t, out)
			checkPdfsig(t, out, 1)
			rep := verifyAt(t, out, p.roots, time.Now())
			want := "PAdES-" + string(level)
			for _, s := range rep.Signatures {
				if s.Indication != TotalPassed {
					t.Fatalf("%s %s: %s/%s %s", s.Kind, s.Field, s.Indication, s.SubIndication, s.Reason)
				}
			}
			if got := rep.Signatures[0].Level; got != want {
				t.Errorf("level %s, want %s", got, want)
			}
			later := verifyAt(t, out, p.roots, future)
			if level == LevelBLTA {
				requireValid(t, later, 2)
				if got := later.Signatures[0].Level; got != want {
					t.Errorf("in ten years: level %s, want %s", got, want)
				}
				if later.Signatures[1].Kind != "document-timestamp" {
					t.Errorf("second entry is %s, want document-timestamp", later.Signatures[1].Kind)
				}
			} else {
				s := later.Signatures[0]
				if s.Indication != Indeterminate || s.SubIndication != OutOfBoundsNoPOE || later.Renewal == nil || !later.Renewal.Needed {
					t.Errorf("B-LT in ten years: %s/%s (%s), renewal %+v; want INDETERMINATE/OUT_OF_BOUNDS_NO_POE, renewal needed", s.Indication, s.SubIndication, s.Reason, later.Renewal)
				}
			}
		})
	}
	t.Run("B-T in ten years is indeterminate", func(t *testing.T) {
		out := signToFile(t, corpusPath("classic.pdf"), p.options(LevelBT))
		s := verifyAt(t, out, p.roots, future).Signatures[0]
		if s.Indication != Indeterminate || s.SubIndication != OutOfBoundsNoPOE {
			t.Errorf("B-T in ten years: %s/%s (%s), want INDETERMINATE/OUT_OF_BOUNDS_NO_POE", s.Indication, s.SubIndication, s.Reason)
		}
	})
}

// TestArchiveRenewal adds a second document time-stamp to a B-LTA file.
func TestArchiveRenewal(t *testing.T) {
	p := newLTVPKI(t)
	out := signToFile(t, corpusPath("classic.pdf"), p.options(LevelBLTA))
	f, err := os.OpenFile(out, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	o := p.options(LevelBLTA)
	if _, err := Archive(context.Background(), f, st.Size(), LTVOptions{Fetcher: o.Fetcher, Timestamper: o.ArchiveTimestamper}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	checkQpdf(t, out)
	rep := verifyAt(t, out, p.roots, time.Now().AddDate(10, 0, 2))
	requireValid(t, rep, 3)
	if rep.Signatures[0].Level != "PAdES-B-LTA" {
		t.Errorf("level %s", rep.Signatures[0].Level)
	}
}

// TestRevokedSigner: a signer revoked before the signing time is
// TOTAL-FAILED/REVOKED from the embedded OCSP response alone.
func TestRevokedSigner(t *testing.T) {
	p := newLTVPKI(t)
	p.mu.Lock()
	p.revoked[p.cert.SerialNumber.String()] = time.Now().Add(-time.Minute)
	p.mu.Unlock()
	out := signToFile(t, corpusPath("classic.pdf"), p.options(LevelBLT))
	s := verifyAt(t, out, p.roots, time.Now()).Signatures[0]
	if s.Indication != TotalFailed || s.SubIndication != RevokedIndication {
		t.Fatalf("got %s/%s (%s), want TOTAL-FAILED/REVOKED", s.Indication, s.SubIndication, s.Reason)
	}
}

// TestLTVFailsClosed: with the OCSP responder down and no CRL reachable,
// B-LT signing fails instead of producing a lesser level.
func TestLTVFailsClosed(t *testing.T) {
	p := newLTVPKI(t)
	p.mu.Lock()
	p.down = true
	p.mu.Unlock()
	o := p.options(LevelBLT)
	o.Fetcher = &ltv.Fetcher{Roots: []*x509.Certificate{p.root.Cert}, HTTPClient: &http.Client{Transport: onlyPath("/root.crt")}}
	data, _ := os.ReadFile(corpusPath("classic.pdf"))
	f, err := os.Create(filepath.Join(t.TempDir(), "x.pdf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = Sign(context.Background(), f, bytes.NewReader(data), int64(len(data)), o)
	if !errors.Is(err, ErrNoValidationData) {
		t.Fatalf("Sign: %v, want ErrNoValidationData", err)
	}
}

func invalidityExtension(t time.Time) pkix.Extension {
	v, err := asn1.MarshalWithParams(t.UTC(), "generalized")
	if err != nil {
		panic(err)
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 24}, Value: v}
}

// TestCompromiseTime: once a signer key is revoked with a compromise time,
// a signature time-stamped before that time stays valid and one
// time-stamped after it does not, even if the revocation was processed
// later (RFC 5280 invalidity date).
func TestCompromiseTime(t *testing.T) {
	p := newLTVPKI(t)
	now := time.Now()
	tsaCert, tsaKey, err := p.root.IssueTSA("Earlier TSA", testpki.ECDSAP256, testpki.LeafOptions{
		NotBefore: now.Add(-2 * time.Hour), OCSPServer: []string{p.srv.URL + "/ocsp"}})
	if err != nil {
		t.Fatal(err)
	}
	earlier := httptest.NewServer(&tsa.Server{Signer: tsaKey, Certificate: tsaCert, Policy: testPolicy,
		Now: func() time.Time { return now.Add(-30 * time.Minute) }})
	defer earlier.Close()

	before := p.options(LevelBT)
	before.Timestamper = &tsa.Client{URLs: []string{earlier.URL}}
	signedBefore := signToFile(t, corpusPath("classic.pdf"), before)
	signedAfter := signToFile(t, corpusPath("classic.pdf"), p.options(LevelBT))

	p.mu.Lock()
	// Processed a little after both signatures (OCSP and CRL times have
	// one-second resolution), effective from the compromise before them.
	p.revoked[p.cert.SerialNumber.String()] = time.Now().Add(5 * time.Second)
	p.invalid[p.cert.SerialNumber.String()] = now.Add(-10 * time.Minute)
	p.mu.Unlock()

	for _, c := range []struct {
		name string
		path string
		want string
	}{{"time-stamped before the compromise", signedBefore, TotalPassed}, {"time-stamped after the compromise", signedAfter, TotalFailed}} {
		t.Run(c.name, func(t *testing.T) {
			f, err := os.OpenFile(c.path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			st, _ := f.Stat()
			o := p.options(LevelBLT)
			if _, err := AddValidationData(context.Background(), f, st.Size(), LTVOptions{Fetcher: o.Fetcher}); err != nil {
				t.Fatal(err)
			}
			f.Close()
			s := verifyAt(t, c.path, p.roots, time.Now()).Signatures[0]
			if s.Indication != c.want {
				t.Fatalf("got %s/%s (%s), want %s", s.Indication, s.SubIndication, s.Reason, c.want)
			}
			if c.want == TotalFailed && s.SubIndication != RevokedIndication {
				t.Errorf("sub-indication %s, want REVOKED", s.SubIndication)
			}
		})
	}
}

// onlyPath is a transport that refuses every request but one path.
type onlyPath string

func (p onlyPath) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == string(p) {
		return http.DefaultTransport.RoundTrip(r)
	}
	return nil, errors.New("unreachable in this test")
}
