package cms

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
)

// SignerCertificate returns the certificate that the SignerInfo's sid
// identifies (RFC 5652 §5.3): by issuer and serial number, or by subject key
// identifier. It returns [ErrNoSignerCertificate] if none matches.
func (sd *SignedData) SignerCertificate() (*x509.Certificate, error) {
	sid := sd.sid
	switch {
	case sid.Class == asn1.ClassUniversal && sid.Tag == asn1.TagSequence:
		var ias issuerAndSerialNumber
		if err := unmarshalExact(sid.FullBytes, &ias, "issuerAndSerialNumber"); err != nil {
			return nil, err
		}
		for _, c := range sd.Certificates {
			if c != nil && bytes.Equal(c.RawIssuer, ias.Issuer.FullBytes) && c.SerialNumber.Cmp(ias.SerialNumber) == 0 {
				return c, nil
			}
		}
	case sid.Class == asn1.ClassContextSpecific && sid.Tag == 0:
		for _, c := range sd.Certificates {
			if c != nil && len(c.SubjectKeyId) != 0 && bytes.Equal(c.SubjectKeyId, sid.Bytes) {
				return c, nil
			}
		}
	}
	return nil, ErrNoSignerCertificate
}

// Verify checks the SignerInfo (RFC 5652 §5.6) and returns the signer
// certificate. In order, it checks:
//
//  1. that digest equals the message-digest attribute (RFC 5652 §11.2),
//     else [ErrDigestMismatch]; with attached content pass nil and Verify
//     hashes Content under DigestAlgorithm;
//  2. that the content-type attribute (RFC 5652 §11.1) equals ContentType,
//     else [ErrContentType];
//  3. the signature over the DER SET OF signed attributes with the signer
//     certificate's key, else [ErrSignature];
//  4. that an ESS signing-certificate-v2 (RFC 5035) or signing-certificate
//     (RFC 2634) attribute is signed, else [ErrNoSigningCertificate], and
//     that its first ESSCertID binds the signer certificate by hash and, if
//     present, issuerSerial, else [ErrSigningCertificate].
//
// Because the ESS check comes last, a caller that does not require the
// attribute (e.g. for adbe.pkcs7.detached signatures, ISO 32000-1 §12.8.3.3)
// may treat [ErrNoSigningCertificate] as "signature valid, no ESS binding".
//
// Verify does not build or check certificate chains, key usages or validity
// periods: callers do, with the returned certificate. It accepts whatever
// algorithms [Parse] accepted, including SHA-1; callers apply their
// algorithm policy using DigestAlgorithm and SignatureAlgorithm.
func (sd *SignedData) Verify(digest []byte) (*x509.Certificate, error) {
	if len(sd.signedAttrsDER) == 0 {
		return nil, ErrNoSignedAttributes
	}
	if digest == nil {
		if sd.Content == nil {
			return nil, errors.New("cms: detached content: a digest is required")
		}
		if !sd.DigestAlgorithm.Available() {
			return nil, fmt.Errorf("%w: digest %v", ErrUnsupportedAlgorithm, sd.DigestAlgorithm)
		}
		h := sd.DigestAlgorithm.New()
		h.Write(sd.Content)
		digest = h.Sum(nil)
	}
	md, err := sd.singleSignedValue(OIDMessageDigest)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDigestMismatch, err)
	}
	var want []byte
	if err := unmarshalExact(md, &want, "message-digest"); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDigestMismatch, err)
	}
	if !bytes.Equal(want, digest) {
		return nil, ErrDigestMismatch
	}

	ctv, err := sd.singleSignedValue(OIDContentType)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrContentType, err)
	}
	var ct asn1.ObjectIdentifier
	if err := unmarshalExact(ctv, &ct, "content-type"); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrContentType, err)
	}
	if !ct.Equal(sd.ContentType) {
		return nil, fmt.Errorf("%w: attribute says %v, content is %v", ErrContentType, ct, sd.ContentType)
	}

	cert, err := sd.SignerCertificate()
	if err != nil {
		return nil, err
	}
	if err := sd.checkSignature(cert); err != nil {
		return nil, err
	}
	if err := sd.checkSigningCertificate(cert); err != nil {
		return nil, err
	}
	return cert, nil
}

// singleSignedValue returns the DER of the value of a signed attribute that
// RFC 5652 §5.3 requires to occur once with one value.
func (sd *SignedData) singleSignedValue(oid asn1.ObjectIdentifier) ([]byte, error) {
	var found *Attribute
	for i := range sd.SignedAttributes {
		a := &sd.SignedAttributes[i]
		if !a.Type.Equal(oid) {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("cms: attribute %v occurs more than once", oid)
		}
		found = a
	}
	if found == nil {
		return nil, fmt.Errorf("cms: attribute %v missing", oid)
	}
	if len(found.Values) != 1 {
		return nil, fmt.Errorf("cms: attribute %v has %d values", oid, len(found.Values))
	}
	return rawDER(found.Values[0])
}

// checkSignature verifies the signature over the signed attributes
// re-tagged as a SET OF (RFC 5652 §5.4).
func (sd *SignedData) checkSignature(cert *x509.Certificate) error {
	if len(sd.signedAttrsDER) == 0 || sd.signedAttrsDER[0] != 0xA0 {
		return ErrNoSignedAttributes
	}
	if !sd.signatureHash.Available() {
		return fmt.Errorf("%w: signature hash %v", ErrUnsupportedAlgorithm, sd.signatureHash)
	}
	msg := append([]byte{0x31}, sd.signedAttrsDER[1:]...)
	h := sd.signatureHash.New()
	h.Write(msg)
	sum := h.Sum(nil)

	switch pub := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if sd.signatureScheme != schemeECDSA {
			return fmt.Errorf("%w: ECDSA key with a non-ECDSA algorithm", ErrSignature)
		}
		if !ecdsa.VerifyASN1(pub, sum, sd.signature) {
			return ErrSignature
		}
	case *rsa.PublicKey:
		var err error
		switch sd.signatureScheme {
		case schemeRSAPKCS1:
			err = rsa.VerifyPKCS1v15(pub, sd.signatureHash, sum, sd.signature)
		case schemeRSAPSS:
			err = rsa.VerifyPSS(pub, sd.signatureHash, sum, sd.signature, &rsa.PSSOptions{SaltLength: sd.pssSaltLength, Hash: sd.signatureHash})
		default:
			return fmt.Errorf("%w: RSA key with a non-RSA algorithm", ErrSignature)
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrSignature, err)
		}
	default:
		return fmt.Errorf("%w: key type %T", ErrUnsupportedAlgorithm, cert.PublicKey)
	}
	return nil
}

// checkSigningCertificate checks the ESS signing-certificate-v2 attribute,
// or failing that the signing-certificate attribute, against cert.
func (sd *SignedData) checkSigningCertificate(cert *x509.Certificate) error {
	v2 := true
	val, ok := sd.SignedAttribute(OIDSigningCertificateV2)
	if !ok {
		v2 = false
		if val, ok = sd.SignedAttribute(OIDSigningCertificate); !ok {
			return ErrNoSigningCertificate
		}
	}
	der, err := rawDER(val)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSigningCertificate, err)
	}
	id, err := parseESSCertID(der, v2)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrSigningCertificate, err)
	}
	if !id.hash.Available() {
		return fmt.Errorf("%w: %w: hash %v", ErrSigningCertificate, ErrUnsupportedAlgorithm, id.hash)
	}
	return id.matches(cert)
}
