package testpki

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// CA is a certificate authority: its certificate and the key that signs
// with it.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// LeafOptions adjusts an end-entity certificate. The zero value gives a
// certificate valid from an hour ago until two years from now, with no
// e-mail address and no organization.
type LeafOptions struct {
	// NotBefore and NotAfter bound the validity period (RFC 5280 §4.1.2.5).
	// A zero NotBefore means one hour ago; a zero NotAfter, two years from now.
	NotBefore, NotAfter time.Time
	// Email, when set, is written as an rfc822Name subjectAltName
	// (RFC 5280 §4.2.1.6).
	Email string
	// Organization, when set, becomes the subject's O attribute.
	Organization string
	// OCSPServer and IssuingCertificateURL fill the authority information
	// access extension, CRLDistributionPoints the CRL distribution points
	// (RFC 5280 §4.2.2.1, §4.2.1.13), for long-term validation tests.
	OCSPServer, IssuingCertificateURL, CRLDistributionPoints []string
}

var (
	oidExtKeyUsage       = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidKPTimeStamping    = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}
	errNilCA             = errors.New("testpki: nil CA")
	validityCA           = 10 * 365 * 24 * time.Hour
	validityIntermediate = 5 * 365 * 24 * time.Hour
)

// NewRoot creates a self-signed root CA valid for ten years with
// basicConstraints CA:TRUE and keyUsage keyCertSign|cRLSign
// (RFC 5280 §4.2.1.9, §4.2.1.3).
func NewRoot(commonName string, alg KeyAlg) (*CA, error) {
	return NewRootValidFor(commonName, alg, validityCA)
}

// NewRootValidFor is [NewRoot] with a validity of its own, for tests that
// move the clock further than ten years.
func NewRootValidFor(commonName string, alg KeyAlg, validity time.Duration) (*CA, error) {
	key, err := NewKey(alg)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	cert, err := create(tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// NewIntermediate creates a CA certificate for commonName issued by ca,
// valid for five years (never beyond ca's own validity) with pathLen 0.
func (ca *CA) NewIntermediate(commonName string, alg KeyAlg) (*CA, error) {
	if ca == nil {
		return nil, errNilCA
	}
	key, err := NewKey(alg)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	notAfter := now.Add(validityIntermediate)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
	}
	cert, err := create(tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// IssueSigner issues a document-signer certificate with keyUsage
// digitalSignature|nonRepudiation and extended key usage
// id-kp-emailProtection (see the package documentation for why), and
// returns it with its freshly generated key.
func (ca *CA) IssueSigner(commonName string, alg KeyAlg, o LeafOptions) (*x509.Certificate, crypto.Signer, error) {
	tmpl := leafTemplate(commonName, o)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection}
	return ca.issue(tmpl, alg)
}

// IssueTSA issues a time-stamping certificate with keyUsage digitalSignature
// and a critical extended key usage holding only id-kp-timeStamping, as
// RFC 3161 §2.3 requires, and returns it with its freshly generated key.
func (ca *CA) IssueTSA(commonName string, alg KeyAlg, o LeafOptions) (*x509.Certificate, crypto.Signer, error) {
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{oidKPTimeStamping})
	if err != nil {
		return nil, nil, fmt.Errorf("testpki: encode extended key usage: %w", err)
	}
	tmpl := leafTemplate(commonName, o)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtraExtensions = []pkix.Extension{{Id: oidExtKeyUsage, Critical: true, Value: eku}}
	return ca.issue(tmpl, alg)
}

func leafTemplate(commonName string, o LeafOptions) *x509.Certificate {
	now := time.Now()
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             o.NotBefore,
		NotAfter:              o.NotAfter,
		BasicConstraintsValid: true,
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = now.Add(-time.Hour)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = now.Add(2 * 365 * 24 * time.Hour)
	}
	if o.Organization != "" {
		tmpl.Subject.Organization = []string{o.Organization}
	}
	if o.Email != "" {
		tmpl.EmailAddresses = []string{o.Email}
	}
	tmpl.OCSPServer = o.OCSPServer
	tmpl.IssuingCertificateURL = o.IssuingCertificateURL
	tmpl.CRLDistributionPoints = o.CRLDistributionPoints
	return tmpl
}

func (ca *CA) issue(tmpl *x509.Certificate, alg KeyAlg) (*x509.Certificate, crypto.Signer, error) {
	if ca == nil {
		return nil, nil, errNilCA
	}
	key, err := NewKey(alg)
	if err != nil {
		return nil, nil, err
	}
	cert, err := create(tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// create fills in a random 128-bit serial number (RFC 5280 §4.1.2.2 allows
// up to 20 octets) and signs tmpl with the parent's key.
func create(tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("testpki: serial number: %w", err)
	}
	tmpl.SerialNumber = serial.Add(serial, big.NewInt(1))
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		return nil, fmt.Errorf("testpki: create certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testpki: parse certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	return cert, nil
}
