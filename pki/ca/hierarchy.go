package ca

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"time"
)

// NewRoot creates the self-signed root CA certificate for signer, valid for
// validity (zero means [DefaultRootValidity]), registers it under
// [RootName] and returns it. The root has basicConstraints CA with pathLen 1
// and keyUsage keyCertSign|cRLSign only (RFC 5280 §4.2.1.9, §4.2.1.3): it
// signs issuing CA certificates and CRLs, nothing else.
func (a *Authority) NewRoot(ctx context.Context, signer crypto.Signer, key KeyRef, validity time.Duration) (*Issuer, error) {
	cert, err := a.IssueRoot(ctx, signer, key, validity)
	if err != nil {
		return nil, err
	}
	iss := &Issuer{Name: RootName, Certificate: cert, Signer: signer}
	if err := a.Register(iss); err != nil {
		return nil, err
	}
	return iss, nil
}

// IssueRoot is [Authority.NewRoot] without registering the root: it
// issues, records and returns the certificate, for a caller that first
// makes it the one in use among several processes and then registers it.
func (a *Authority) IssueRoot(ctx context.Context, signer crypto.Signer, key KeyRef, validity time.Duration) (*x509.Certificate, error) {
	if signer == nil {
		return nil, fmt.Errorf("%w: root CA without a key", ErrInvalidRequest)
	}
	if validity == 0 {
		validity = DefaultRootValidity
	}
	nb, na := a.validity(validity, nil)
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "Signet Root CA", Organization: []string{"Signet"}},
		NotBefore:             nb,
		NotAfter:              na,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
	}
	return a.issue(ctx, tmpl, nil, signer, signer.Public(), KindRoot, "", key)
}

// IssuingRequest asks for an issuing CA certificate.
type IssuingRequest struct {
	// Name is the CA's name: the tenant, or [PlatformName].
	Name string
	// Tenant owns the CA; "" for the platform CA. It is written into the
	// subject's O attribute.
	Tenant string
	// Signer is the CA's key; Key names it in the key manager.
	Signer crypto.Signer
	Key    KeyRef
	// Validity is the lifetime; zero means [DefaultIssuingValidity].
	Validity time.Duration
}

// NewIssuing has the root issue an issuing CA certificate (pathLen 0,
// keyUsage keyCertSign|cRLSign, CA-issuers and CRL distribution point URLs
// of the root), registers the issuer under req.Name and returns it. Calling
// it again for a registered name renews the CA (a new certificate, possibly
// for a new key).
func (a *Authority) NewIssuing(ctx context.Context, req IssuingRequest) (*Issuer, error) {
	cert, err := a.IssueIssuing(ctx, req)
	if err != nil {
		return nil, err
	}
	iss := &Issuer{Name: req.Name, Tenant: req.Tenant, Certificate: cert, Signer: req.Signer}
	if err := a.Register(iss); err != nil {
		return nil, err
	}
	return iss, nil
}

// IssueIssuing is [Authority.NewIssuing] without registering the issuer:
// it has the root issue, record and return the certificate, for a caller
// that first makes it the one in use among several processes and then
// registers it.
func (a *Authority) IssueIssuing(ctx context.Context, req IssuingRequest) (*x509.Certificate, error) {
	if !ValidName(req.Name) || req.Name == RootName || req.Signer == nil {
		return nil, fmt.Errorf("%w: issuing CA name %q", ErrInvalidRequest, req.Name)
	}
	root, err := a.issuer(ctx, RootName)
	if err != nil {
		return nil, err
	}
	if req.Validity == 0 {
		req.Validity = DefaultIssuingValidity
	}
	org := "Signet"
	if req.Tenant != "" {
		org = req.Tenant
	}
	nb, na := a.validity(req.Validity, root.Certificate)
	tmpl := &x509.Certificate{
		Subject: pkix.Name{
			CommonName:         "Signet Issuing CA " + req.Name,
			Organization:       []string{org},
			OrganizationalUnit: []string{"Signet"},
		},
		NotBefore:             nb,
		NotAfter:              na,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		IssuingCertificateURL: []string{a.urls.Issuer(RootName)},
		CRLDistributionPoints: []string{a.urls.CRL(RootName)},
	}
	return a.issue(ctx, tmpl, root, nil, req.Signer.Public(), KindIssuing, req.Tenant, req.Key)
}

// leafTemplate returns an end-entity template under iss with the AIA and
// CRL distribution point extensions.
func (a *Authority) leafTemplate(iss *Issuer, subject pkix.Name, validity time.Duration) *x509.Certificate {
	nb, na := a.validity(validity, iss.Certificate)
	return &x509.Certificate{
		Subject:               subject,
		NotBefore:             nb,
		NotAfter:              na,
		BasicConstraintsValid: true,
		OCSPServer:            []string{a.urls.OCSP()},
		IssuingCertificateURL: []string{a.urls.Issuer(iss.Name)},
		CRLDistributionPoints: []string{a.urls.CRL(iss.Name)},
	}
}
