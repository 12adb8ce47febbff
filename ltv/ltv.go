// Package ltv gathers and checks long-term validation data: the
// certificates, OCSP responses (RFC 6960) and CRLs (RFC 5280) that let a
// signature be validated later, offline, from what the document carries
// (ETSI EN 319 142-1 B-LT; the PDF DSS dictionary of ISO 32000-2 §12.8.4.3).
//
// [Fetcher.Collect] is used when signing: it completes a certificate chain
// and fetches revocation data for every certificate in it over HTTP, and
// fails if a certificate's status cannot be established. [Data.Status] is
// used when verifying: it answers from the embedded data only.
package ltv

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Errors that callers branch on.
var (
	// ErrNoRevocationData means no OCSP response or CRL covers a
	// certificate.
	ErrNoRevocationData = errors.New("ltv: no revocation data for certificate")
	// ErrIncompleteChain means a certificate's issuer could not be found.
	ErrIncompleteChain = errors.New("ltv: certificate chain is incomplete")
)

// Data is a set of validation material, each item DER-encoded.
type Data struct {
	Certs []*x509.Certificate
	// OCSPs are full OCSPResponse structures.
	OCSPs [][]byte
	// CRLs are CertificateLists.
	CRLs [][]byte
}

// Add merges other into d, skipping duplicates.
func (d *Data) Add(other *Data) {
	if other == nil {
		return
	}
	for _, c := range other.Certs {
		d.AddCert(c)
	}
	for _, o := range other.OCSPs {
		if !containsBytes(d.OCSPs, o) {
			d.OCSPs = append(d.OCSPs, o)
		}
	}
	for _, c := range other.CRLs {
		if !containsBytes(d.CRLs, c) {
			d.CRLs = append(d.CRLs, c)
		}
	}
}

// AddCert adds c unless d already holds it.
func (d *Data) AddCert(c *x509.Certificate) {
	for _, have := range d.Certs {
		if bytes.Equal(have.Raw, c.Raw) {
			return
		}
	}
	d.Certs = append(d.Certs, c)
}

func containsBytes(list [][]byte, b []byte) bool {
	for _, x := range list {
		if bytes.Equal(x, b) {
			return true
		}
	}
	return false
}

// Fetcher obtains validation data online.
type Fetcher struct {
	// HTTPClient makes the requests; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Timeout bounds each request; zero means 10 seconds.
	Timeout time.Duration
	// Roots are the trust anchors: a chain stops at a root, which needs no
	// revocation data.
	Roots []*x509.Certificate
	// Observe, if set, is called as each fetch starts, with what it
	// fetches ("ocsp", "crl" or "certificate") and from where; the
	// context it returns
	// carries the fetch (a trace span may ride in it), and the function
	// it returns is called once with the outcome (nil for data that
	// verified). Metrics and traces use it; nil costs nothing.
	Observe func(ctx context.Context, kind, url string) (context.Context, func(err error))
}

// observed runs fetch under Observe as a fetch of kind from url.
func observed[T any](ctx context.Context, f *Fetcher, kind, url string, fetch func(context.Context) (T, error)) (T, error) {
	if f.Observe == nil {
		return fetch(ctx)
	}
	ctx, done := f.Observe(ctx, kind, url)
	v, err := fetch(ctx)
	done(err)
	return v, err
}

// Collect completes the chain of leaf from pool (and the issuers named by
// AIA caIssuers URLs when missing) up to a self-signed or trusted
// certificate, and fetches revocation data for every certificate except
// that anchor: an OCSP response where the certificate names a responder,
// and the CRL of every distribution point. It fails if any certificate is
// left without revocation data.
func (f *Fetcher) Collect(ctx context.Context, leaf *x509.Certificate, pool []*x509.Certificate) (*Data, error) {
	d := &Data{}
	chain, err := f.chain(ctx, leaf, pool)
	if err != nil {
		return nil, err
	}
	for _, c := range chain {
		d.AddCert(c)
	}
	for i := 0; i+1 < len(chain); i++ {
		cert, issuer := chain[i], chain[i+1]
		got := false
		var errs []error
		for _, url := range cert.OCSPServer {
			resp, err := f.fetchOCSP(ctx, url, cert, issuer)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			d.OCSPs = append(d.OCSPs, resp)
			got = true
			break
		}
		for _, url := range cert.CRLDistributionPoints {
			crl, err := f.fetchCRL(ctx, url, issuer)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if !containsBytes(d.CRLs, crl) {
				d.CRLs = append(d.CRLs, crl)
			}
			got = true
		}
		if !got {
			return nil, fmt.Errorf("%w %q: %v", ErrNoRevocationData, cert.Subject.CommonName, errors.Join(errs...))
		}
	}
	return d, nil
}

func (f *Fetcher) client() *http.Client {
	if f.HTTPClient != nil {
		return f.HTTPClient
	}
	return http.DefaultClient
}

func (f *Fetcher) timeout() time.Duration {
	if f.Timeout > 0 {
		return f.Timeout
	}
	return 10 * time.Second
}

func (f *Fetcher) isRoot(c *x509.Certificate) bool {
	for _, r := range f.Roots {
		if bytes.Equal(r.Raw, c.Raw) {
			return true
		}
	}
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignatureFrom(c) == nil
}

// chain returns leaf and its issuers up to an anchor.
func (f *Fetcher) chain(ctx context.Context, leaf *x509.Certificate, pool []*x509.Certificate) ([]*x509.Certificate, error) {
	chain := []*x509.Certificate{leaf}
	cur := leaf
	candidates := append(append([]*x509.Certificate{}, pool...), f.Roots...)
	for len(chain) < 10 {
		if f.isRoot(cur) {
			return chain, nil
		}
		issuer := findIssuer(cur, candidates)
		if issuer == nil {
			for _, url := range cur.IssuingCertificateURL {
				c, err := f.fetchCert(ctx, url)
				if err == nil && cur.CheckSignatureFrom(c) == nil {
					issuer = c
					break
				}
			}
		}
		if issuer == nil {
			return nil, fmt.Errorf("%w: no issuer for %q", ErrIncompleteChain, cur.Subject.CommonName)
		}
		chain = append(chain, issuer)
		cur = issuer
	}
	return nil, fmt.Errorf("%w: chain too long", ErrIncompleteChain)
}

func findIssuer(c *x509.Certificate, pool []*x509.Certificate) *x509.Certificate {
	for _, p := range pool {
		if bytes.Equal(p.RawSubject, c.RawIssuer) && !bytes.Equal(p.Raw, c.Raw) && c.CheckSignatureFrom(p) == nil {
			return p
		}
	}
	return nil
}

func (f *Fetcher) get(ctx context.Context, method, url, ctype string, body []byte) ([]byte, error) {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return nil, fmt.Errorf("ltv: unsupported URL %q", url)
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout())
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := f.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("ltv: %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ltv: %s: HTTP %s", url, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("ltv: %s: %w", url, err)
	}
	return b, nil
}

func (f *Fetcher) fetchCert(ctx context.Context, url string) (*x509.Certificate, error) {
	return observed(ctx, f, "certificate", url, func(ctx context.Context) (*x509.Certificate, error) {
		b, err := f.get(ctx, http.MethodGet, url, "", nil)
		if err != nil {
			return nil, err
		}
		return x509.ParseCertificate(b)
	})
}

// fetchOCSP asks the responder and keeps the response only if it verifies
// and answers for cert.
func (f *Fetcher) fetchOCSP(ctx context.Context, url string, cert, issuer *x509.Certificate) ([]byte, error) {
	return observed(ctx, f, "ocsp", url, func(ctx context.Context) ([]byte, error) {
		req, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{})
		if err != nil {
			return nil, fmt.Errorf("ltv: OCSP request: %w", err)
		}
		b, err := f.get(ctx, http.MethodPost, url, "application/ocsp-request", req)
		if err != nil {
			return nil, err
		}
		if _, err := ocsp.ParseResponseForCert(b, cert, issuer); err != nil {
			return nil, fmt.Errorf("ltv: OCSP response from %s: %w", url, err)
		}
		return b, nil
	})
}

func (f *Fetcher) fetchCRL(ctx context.Context, url string, issuer *x509.Certificate) ([]byte, error) {
	return observed(ctx, f, "crl", url, func(ctx context.Context) ([]byte, error) {
		b, err := f.get(ctx, http.MethodGet, url, "", nil)
		if err != nil {
			return nil, err
		}
		crl, err := x509.ParseRevocationList(b)
		if err != nil {
			return nil, fmt.Errorf("ltv: CRL from %s: %w", url, err)
		}
		if err := crl.CheckSignatureFrom(issuer); err != nil {
			return nil, fmt.Errorf("ltv: CRL from %s is not signed by %q: %w", url, issuer.Subject.CommonName, err)
		}
		return b, nil
	})
}

// Status values of a [Result].
const (
	Good    = "good"
	Revoked = "revoked"
	Unknown = "unknown"
)

// Result is the revocation status of one certificate as the embedded data
// shows it.
type Result struct {
	// Status is Good, Revoked or Unknown.
	Status string
	// Source is "ocsp" or "crl".
	Source string
	// Issued is when the evidence was produced (OCSP producedAt or CRL
	// thisUpdate).
	Issued time.Time
	// RevokedAt and Reason are set when Status is Revoked.
	RevokedAt time.Time
	Reason    int
	// InvalidSince is the invalidity date (RFC 5280 §5.3.2) of a revoked
	// certificate when the evidence states one: when the key is known or
	// suspected to have been compromised, which may precede RevokedAt.
	InvalidSince time.Time
}

// Effective returns the time from which a revoked certificate must not be
// trusted: the invalidity date when stated and earlier, else the revocation
// time.
func (r Result) Effective() time.Time {
	if !r.InvalidSince.IsZero() && r.InvalidSince.Before(r.RevokedAt) {
		return r.InvalidSince
	}
	return r.RevokedAt
}

// oidInvalidityDate is the CRL entry (and OCSP single) extension
// id-ce-invalidityDate (RFC 5280 §5.3.2).
var oidInvalidityDate = asn1.ObjectIdentifier{2, 5, 29, 24}

// invalidityDate returns the invalidity date among exts, if any.
func invalidityDate(exts []pkix.Extension) time.Time {
	for _, e := range exts {
		if e.Id.Equal(oidInvalidityDate) {
			var t time.Time
			if _, err := asn1.UnmarshalWithParams(e.Value, &t, "generalized"); err == nil {
				return t
			}
		}
	}
	return time.Time{}
}

// Status answers the revocation status of cert, issued by issuer, from d
// alone: a verifying OCSP response for it, else a verifying CRL of its
// issuer. A revocation anywhere wins over a good answer elsewhere.
func (d *Data) Status(cert, issuer *x509.Certificate) (Result, error) {
	var good *Result
	for _, raw := range d.OCSPs {
		resp, err := ocsp.ParseResponseForCert(raw, cert, issuer)
		if err != nil {
			continue
		}
		switch resp.Status {
		case ocsp.Revoked:
			return Result{Status: Revoked, Source: "ocsp", Issued: resp.ProducedAt, RevokedAt: resp.RevokedAt, Reason: resp.RevocationReason,
				InvalidSince: invalidityDate(resp.Extensions)}, nil
		case ocsp.Good:
			if good == nil {
				good = &Result{Status: Good, Source: "ocsp", Issued: resp.ProducedAt}
			}
		}
	}
	for _, raw := range d.CRLs {
		crl, err := x509.ParseRevocationList(raw)
		if err != nil || !bytes.Equal(crl.RawIssuer, cert.RawIssuer) || crl.CheckSignatureFrom(issuer) != nil {
			continue
		}
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(cert.SerialNumber) == 0 {
				return Result{Status: Revoked, Source: "crl", Issued: crl.ThisUpdate, RevokedAt: e.RevocationTime, Reason: e.ReasonCode,
					InvalidSince: invalidityDate(e.Extensions)}, nil
			}
		}
		if good == nil {
			good = &Result{Status: Good, Source: "crl", Issued: crl.ThisUpdate}
		}
	}
	if good != nil {
		return *good, nil
	}
	return Result{Status: Unknown}, fmt.Errorf("%w %q", ErrNoRevocationData, cert.Subject.CommonName)
}

// VRIKey returns the /VRI dictionary key for a signature: the upper-case
// hex SHA-1 of its /Contents value (ISO 32000-2 §12.8.4.4).
func VRIKey(contents []byte) string {
	h := sha1.Sum(contents)
	return strings.ToUpper(fmt.Sprintf("%x", h[:]))
}
