package tsa

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// oidTimeStamping is id-kp-timeStamping (RFC 5280 §4.2.1.12).
var oidTimeStamping = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 8}

// NewCertificateTemplate returns a template for a TSA end-entity certificate
// to pass to [x509.CreateCertificate]. RFC 3161 §2.3 requires the extended
// key usage extension to be critical and to hold id-kp-timeStamping only;
// x509.CreateCertificate writes ExtKeyUsage as a non-critical extension, so
// the template carries the extension in ExtraExtensions and leaves
// ExtKeyUsage empty. Key usage is digitalSignature; the certificate is not a
// CA.
func NewCertificateTemplate(subject pkix.Name, serial *big.Int, notBefore, notAfter time.Time) (*x509.Certificate, error) {
	if serial == nil || serial.Sign() <= 0 {
		return nil, errors.New("tsa: certificate serial number must be positive")
	}
	if !notAfter.After(notBefore) {
		return nil, errors.New("tsa: certificate notAfter must follow notBefore")
	}
	eku, err := asn1.Marshal([]asn1.ObjectIdentifier{oidTimeStamping})
	if err != nil {
		return nil, fmt.Errorf("tsa: extended key usage: %w", err)
	}
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		ExtraExtensions: []pkix.Extension{
			{Id: oidExtKeyUsage, Critical: true, Value: eku},
		},
	}, nil
}
