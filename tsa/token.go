package tsa

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"github.com/signet-pki/signet/cms"
)

// Token is a parsed time-stamp token (RFC 3161 §2.4.2): a CMS SignedData
// whose encapsulated content is a TSTInfo.
type Token struct {
	// Raw is the DER ContentInfo of the token.
	Raw []byte
	// SignedData is the parsed CMS structure.
	SignedData *cms.SignedData
	// Info is the parsed TSTInfo.
	Info Info
}

// ParseToken parses the DER ContentInfo of a time-stamp token. It checks the
// structure only: the eContentType must be id-ct-TSTInfo and the eContent a
// valid TSTInfo. Call [Token.Verify] to check the signature.
func ParseToken(der []byte) (*Token, error) {
	sd, err := cms.Parse(der)
	if err != nil {
		return nil, fmt.Errorf("%w: token: %w", ErrMalformed, err)
	}
	if !sd.ContentType.Equal(cms.OIDTSTInfo) {
		return nil, fmt.Errorf("%w: token content type %v is not id-ct-TSTInfo", ErrMalformed, sd.ContentType)
	}
	if sd.Content == nil {
		return nil, fmt.Errorf("%w: token has no TSTInfo", ErrMalformed)
	}
	info, err := parseInfo(sd.Content)
	if err != nil {
		return nil, err
	}
	return &Token{Raw: bytes.Clone(der), SignedData: sd, Info: *info}, nil
}

// VerifyOptions configures [Token.Verify].
type VerifyOptions struct {
	// Roots are the trusted roots for the TSA certificate. When nil, the
	// certificate chain is not checked.
	Roots *x509.CertPool
	// Intermediates are extra intermediate certificates; those carried in
	// the token are always used.
	Intermediates *x509.CertPool
	// CurrentTime is the time at which the chain is validated. The zero
	// value means the token's genTime.
	CurrentTime time.Time
}

// oidExtKeyUsage is the extended key usage extension (RFC 5280 §4.2.1.12).
var oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}

// Verify checks the token's CMS signature and its signing-certificate(-v2)
// binding (RFC 5652 §5.6, RFC 5816), that the signer certificate has
// id-kp-timeStamping as its only extended key usage in a critical extension
// (RFC 3161 §2.3; [ErrEKU] otherwise), that genTime lies within the
// certificate's validity ([ErrGenTime] otherwise), and, when opts.Roots is
// non-nil, that the certificate chains to opts.Roots at opts.CurrentTime
// with the time-stamping usage (RFC 5280 §6). It returns the TSA certificate
// and its verified chains; the chains are nil when opts.Roots is nil.
//
// Verify does not compare the message imprint or nonce: see
// [Token.CheckImprint].
func (t *Token) Verify(opts VerifyOptions) (*x509.Certificate, [][]*x509.Certificate, error) {
	cert, err := t.verifySigner()
	if err != nil || opts.Roots == nil {
		return cert, nil, err
	}
	chains, err := t.verifyChain(cert, opts)
	if err != nil {
		return nil, nil, err
	}
	return cert, chains, nil
}

// verifySigner checks the token's signature, algorithms, the signer's
// extended key usage and that genTime lies in the signer's validity, and
// returns the signer's certificate.
func (t *Token) verifySigner() (*x509.Certificate, error) {
	if t.SignedData == nil {
		return nil, errors.New("tsa: token has no SignedData")
	}
	cert, err := t.SignedData.Verify(nil)
	if err != nil {
		return nil, fmt.Errorf("tsa: token signature: %w", err)
	}
	if err := checkAlgorithms(t.SignedData); err != nil {
		return nil, err
	}
	if err := checkEKU(cert); err != nil {
		return nil, err
	}
	if gen := t.Info.Time; gen.Before(cert.NotBefore) || gen.After(cert.NotAfter) {
		return nil, fmt.Errorf("%w: genTime %s, certificate valid %s to %s", ErrGenTime,
			gen.Format(time.RFC3339), cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339))
	}
	return cert, nil
}

// verifyChain validates signer cert's chain to opts.Roots (opts.Roots must
// not be nil) with the token's certificates as intermediates.
func (t *Token) verifyChain(cert *x509.Certificate, opts VerifyOptions) ([][]*x509.Certificate, error) {
	inter := x509.NewCertPool()
	if opts.Intermediates != nil {
		inter = opts.Intermediates.Clone()
	}
	for _, c := range t.SignedData.Certificates {
		if !c.Equal(cert) {
			inter.AddCert(c)
		}
	}
	at := opts.CurrentTime
	if at.IsZero() {
		at = t.Info.Time
	}
	chains, err := cert.Verify(x509.VerifyOptions{
		Roots:         opts.Roots,
		Intermediates: inter,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping},
	})
	if err != nil {
		return nil, fmt.Errorf("tsa: TSA certificate chain: %w", err)
	}
	return chains, nil
}

// checkAlgorithms refuses tokens signed with SHA-1, which cms.Verify accepts
// so that callers can apply their own policy.
func checkAlgorithms(sd *cms.SignedData) error {
	switch {
	case sd.DigestAlgorithm == crypto.SHA1,
		sd.SignatureAlgorithm == x509.SHA1WithRSA,
		sd.SignatureAlgorithm == x509.ECDSAWithSHA1:
		return fmt.Errorf("tsa: token signed with SHA-1 (%v)", sd.SignatureAlgorithm)
	}
	return nil
}

// checkEKU enforces RFC 3161 §2.3: the extended key usage extension is
// critical and holds id-kp-timeStamping only.
func checkEKU(cert *x509.Certificate) error {
	critical, found := false, false
	for _, e := range cert.Extensions {
		if e.Id.Equal(oidExtKeyUsage) {
			found, critical = true, e.Critical
		}
	}
	switch {
	case !found:
		return fmt.Errorf("%w: no extended key usage extension", ErrEKU)
	case !critical:
		return fmt.Errorf("%w: extended key usage extension is not critical", ErrEKU)
	case len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageTimeStamping || len(cert.UnknownExtKeyUsage) != 0:
		return fmt.Errorf("%w: extended key usage must be id-kp-timeStamping only", ErrEKU)
	}
	return nil
}

// CheckImprint reports whether the token's message imprint is (h, digest)
// (RFC 3161 §2.4.2). It returns an error wrapping [ErrImprint] otherwise.
func (t *Token) CheckImprint(h crypto.Hash, digest []byte) error {
	if t.Info.Hash != h {
		return fmt.Errorf("%w: token uses %v, expected %v", ErrImprint, t.Info.Hash, h)
	}
	if !bytes.Equal(t.Info.Digest, digest) {
		return fmt.Errorf("%w: digest %x, expected %x", ErrImprint, t.Info.Digest, digest)
	}
	return nil
}
