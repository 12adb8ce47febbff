package ca

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"github.com/signet-pki/signet/tsa"
)

// oidOCSPNoCheck is id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1).
var oidOCSPNoCheck = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 5}

// asn1Null is the DER encoding of NULL, the value of id-pkix-ocsp-nocheck.
var asn1Null = []byte{0x05, 0x00}

// placeholderSerial satisfies template constructors; issue replaces it
// with a random serial.
var placeholderSerial = big.NewInt(1)

// IssueTSA has issuer issuerName (usually [PlatformName]) issue a
// time-stamping certificate for pub from [tsa.NewCertificateTemplate]:
// keyUsage digitalSignature and a critical extended key usage holding only
// id-kp-timeStamping (RFC 3161 §2.3), plus AIA and CRL distribution points.
// Zero validity means [DefaultTSAValidity].
func (a *Authority) IssueTSA(ctx context.Context, issuerName string, pub crypto.PublicKey, key KeyRef, validity time.Duration) (*x509.Certificate, error) {
	iss, err := a.issuer(ctx, issuerName)
	if err != nil {
		return nil, err
	}
	if iss.Name == RootName {
		return nil, fmt.Errorf("%w: the root signs only CA certificates and CRLs", ErrInvalidRequest)
	}
	if validity == 0 {
		validity = DefaultTSAValidity
	}
	base := a.leafTemplate(iss, pkix.Name{CommonName: "Signet Time-Stamping Authority", Organization: []string{"Signet"}}, validity)
	tmpl, err := tsa.NewCertificateTemplate(base.Subject, placeholderSerial, base.NotBefore, base.NotAfter)
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	tmpl.OCSPServer, tmpl.IssuingCertificateURL, tmpl.CRLDistributionPoints = base.OCSPServer, base.IssuingCertificateURL, base.CRLDistributionPoints
	return a.issue(ctx, tmpl, iss, nil, pub, KindTSA, iss.Tenant, key)
}

// IssueArchiveTSA has the root issue the archive time-stamping
// certificate for pub: the authority of document time-stamps (PAdES B-LTA,
// archive renewal) and evidence manifests, whose tokens are the latest
// time-stamp of a document and are validated at every later validation
// time, so its certificate must last far longer than an issuing CA's. It
// is the root's one end-entity certificate: keyUsage digitalSignature and
// a critical extended key usage holding only id-kp-timeStamping
// (RFC 3161 §2.3), its revocation published in the root's CRL (no OCSP
// URL: the root has no responder). Zero validity means
// [DefaultArchiveTSAValidity]; it never extends beyond the root's.
func (a *Authority) IssueArchiveTSA(ctx context.Context, pub crypto.PublicKey, key KeyRef, validity time.Duration) (*x509.Certificate, error) {
	root, err := a.issuer(ctx, RootName)
	if err != nil {
		return nil, err
	}
	if validity == 0 {
		validity = DefaultArchiveTSAValidity
	}
	nb, na := a.validity(validity, root.Certificate)
	tmpl, err := tsa.NewCertificateTemplate(pkix.Name{CommonName: "Signet Archive Time-Stamping Authority", Organization: []string{"Signet"}}, placeholderSerial, nb, na)
	if err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	tmpl.IssuingCertificateURL = []string{a.urls.Issuer(RootName)}
	tmpl.CRLDistributionPoints = []string{a.urls.CRL(RootName)}
	return a.issue(ctx, tmpl, root, nil, pub, KindTSA, "", key)
}

// IssueOCSPResponder has issuer issuerName issue a delegated OCSP responder
// certificate for pub (RFC 6960 §4.2.2.2): extended key usage
// id-kp-OCSPSigning and id-pkix-ocsp-nocheck, so clients do not check the
// responder's own status; hence the short default lifetime
// ([DefaultOCSPValidity], used when validity is zero) and automatic renewal.
// It has no AIA OCSP URL.
func (a *Authority) IssueOCSPResponder(ctx context.Context, issuerName string, pub crypto.PublicKey, key KeyRef, validity time.Duration) (*x509.Certificate, error) {
	iss, err := a.issuer(ctx, issuerName)
	if err != nil {
		return nil, err
	}
	if iss.Name == RootName {
		return nil, fmt.Errorf("%w: the root signs only CA certificates and CRLs", ErrInvalidRequest)
	}
	if validity == 0 {
		validity = DefaultOCSPValidity
	}
	tmpl := a.leafTemplate(iss, pkix.Name{CommonName: "Signet OCSP Responder " + iss.Name, Organization: []string{"Signet"}}, validity)
	tmpl.OCSPServer = nil
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}
	tmpl.ExtraExtensions = []pkix.Extension{{Id: oidOCSPNoCheck, Value: asn1Null}}
	return a.issue(ctx, tmpl, iss, nil, pub, KindOCSP, iss.Tenant, key)
}
