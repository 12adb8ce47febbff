package cms

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

// issuerAndSerialNumber is IssuerAndSerialNumber (RFC 5652 §10.2.4).
type issuerAndSerialNumber struct {
	Issuer       asn1.RawValue
	SerialNumber *big.Int
}

// essSigningCertificateV2 builds the value of the ESS signing-certificate-v2
// attribute (RFC 5035 §3) for cert: one ESSCertIDv2 with the hash of the
// certificate's DER under h (hashAlgorithm omitted for the SHA-256 default)
// and its issuerSerial.
func essSigningCertificateV2(cert *x509.Certificate, h crypto.Hash) ([]byte, error) {
	var parts [][]byte
	if h != crypto.SHA256 {
		alg, err := digestAlgorithmID(h)
		if err != nil {
			return nil, err
		}
		parts = append(parts, alg)
	}
	hh := h.New()
	hh.Write(cert.Raw)
	certHash, err := asn1.Marshal(hh.Sum(nil))
	if err != nil {
		return nil, err
	}
	issuerSerial, err := marshalIssuerSerial(cert)
	if err != nil {
		return nil, err
	}
	parts = append(parts, certHash, issuerSerial)
	id, err := sequence(parts...)
	if err != nil {
		return nil, err
	}
	certs, err := sequence(id)
	if err != nil {
		return nil, err
	}
	return sequence(certs)
}

// marshalIssuerSerial builds IssuerSerial (RFC 5035 §4): the issuer as a
// GeneralNames holding one directoryName, and the serial number.
func marshalIssuerSerial(cert *x509.Certificate) ([]byte, error) {
	dirName, err := tlv(asn1.ClassContextSpecific, 4, true, cert.RawIssuer)
	if err != nil {
		return nil, err
	}
	names, err := sequence(dirName)
	if err != nil {
		return nil, err
	}
	serial, err := asn1.Marshal(cert.SerialNumber)
	if err != nil {
		return nil, err
	}
	return sequence(names, serial)
}

// essCertID is the first certificate identifier of an ESS
// signing-certificate(-v2) attribute.
type essCertID struct {
	hash         crypto.Hash
	certHash     []byte
	issuerSerial []byte // DER of IssuerSerial, nil when absent
}

// parseESSCertID reads the first ESSCertIDv2 (RFC 5035 §4) of a
// SigningCertificateV2 value when v2 is true, or the first ESSCertID
// (RFC 2634 §5.4.1, always SHA-1) of a SigningCertificate value otherwise.
func parseESSCertID(value []byte, v2 bool) (essCertID, error) {
	var sc asn1.RawValue
	if err := unmarshalExact(value, &sc, "signing-certificate"); err != nil {
		return essCertID{}, err
	}
	if sc.Tag != asn1.TagSequence || !sc.IsCompound {
		return essCertID{}, errors.New("cms: signing-certificate: not a SEQUENCE")
	}
	r := derReader{sc.Bytes}
	certs, err := r.nextTagged("signing-certificate certs", asn1.ClassUniversal, asn1.TagSequence, true)
	if err != nil {
		return essCertID{}, err
	}
	cr := derReader{certs.Bytes}
	first, err := cr.nextTagged("signing-certificate ESSCertID", asn1.ClassUniversal, asn1.TagSequence, true)
	if err != nil {
		return essCertID{}, err
	}
	id := essCertID{hash: crypto.SHA1}
	fr := derReader{first.Bytes}
	if v2 {
		id.hash = crypto.SHA256
		if fr.peek(asn1.ClassUniversal, asn1.TagSequence) {
			algRV, _ := fr.next("ESSCertIDv2 hashAlgorithm")
			var alg algorithmIdentifier
			if err := unmarshalExact(algRV.FullBytes, &alg, "ESSCertIDv2 hashAlgorithm"); err != nil {
				return essCertID{}, err
			}
			h, ok := HashFromOID(alg.Algorithm)
			if !ok {
				return essCertID{}, fmt.Errorf("%w: ESSCertIDv2 hash %v", ErrUnsupportedAlgorithm, alg.Algorithm)
			}
			id.hash = h
		}
	}
	hashRV, err := fr.nextTagged("ESSCertID certHash", asn1.ClassUniversal, asn1.TagOctetString, false)
	if err != nil {
		return essCertID{}, err
	}
	id.certHash = hashRV.Bytes
	if !fr.empty() {
		is, err := fr.nextTagged("ESSCertID issuerSerial", asn1.ClassUniversal, asn1.TagSequence, true)
		if err != nil {
			return essCertID{}, err
		}
		id.issuerSerial = is.FullBytes
	}
	if !fr.empty() {
		return essCertID{}, errors.New("cms: ESSCertID: trailing data")
	}
	return id, nil
}

// matches reports whether id identifies cert: the certificate hash, and, if
// present, the issuerSerial (any directoryName equal to the certificate's
// issuer, and the same serial number).
func (id essCertID) matches(cert *x509.Certificate) error {
	h := id.hash.New()
	h.Write(cert.Raw)
	if !bytes.Equal(h.Sum(nil), id.certHash) {
		return fmt.Errorf("%w: certificate hash differs", ErrSigningCertificate)
	}
	if id.issuerSerial == nil {
		return nil
	}
	var is struct {
		Issuer asn1.RawValue
		Serial *big.Int
	}
	if err := unmarshalExact(id.issuerSerial, &is, "IssuerSerial"); err != nil {
		return fmt.Errorf("%w: %w", ErrSigningCertificate, err)
	}
	if is.Serial == nil || is.Serial.Cmp(cert.SerialNumber) != 0 {
		return fmt.Errorf("%w: issuerSerial serial number differs", ErrSigningCertificate)
	}
	r := derReader{is.Issuer.Bytes}
	for !r.empty() {
		gn, err := r.next("GeneralName")
		if err != nil {
			return fmt.Errorf("%w: %w", ErrSigningCertificate, err)
		}
		if gn.Class == asn1.ClassContextSpecific && gn.Tag == 4 && bytes.Equal(gn.Bytes, cert.RawIssuer) {
			return nil
		}
	}
	return fmt.Errorf("%w: issuerSerial issuer differs", ErrSigningCertificate)
}
