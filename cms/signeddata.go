package cms

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
)

// SignedData is a parsed or freshly built CMS SignedData (RFC 5652 §5.1) with
// exactly one SignerInfo (RFC 5652 §5.3).
//
// The exported fields describe the structure. ContentType, Content,
// Certificates and UnsignedAttributes are written back by
// [SignedData.Marshal]; the signed parts (signed attributes, algorithms,
// signer identifier and signature) are kept as the bytes that were signed or
// parsed, so changing SignedAttributes, DigestAlgorithm or
// SignatureAlgorithm does not change the encoding.
type SignedData struct {
	// ContentType is the eContentType of encapContentInfo.
	ContentType asn1.ObjectIdentifier
	// Content is the eContent, or nil if the content is detached.
	Content []byte
	// Certificates holds every X.509 certificate of the certificates field,
	// in stored order.
	Certificates []*x509.Certificate
	// DigestAlgorithm is the SignerInfo's digestAlgorithm.
	DigestAlgorithm crypto.Hash
	// SignatureAlgorithm is the SignerInfo's signature algorithm combined
	// with its hash, e.g. x509.ECDSAWithSHA256, x509.SHA256WithRSA or
	// x509.SHA256WithRSAPSS.
	SignatureAlgorithm x509.SignatureAlgorithm
	// SignedAttributes are the SignerInfo's signed attributes, in stored
	// order.
	SignedAttributes []Attribute
	// UnsignedAttributes are the SignerInfo's unsigned attributes, in stored
	// order.
	UnsignedAttributes []Attribute

	version         int             // SignedData version
	digestAlgs      []byte          // DER of the digestAlgorithms SET
	otherCerts      []asn1.RawValue // certificates-field entries that are not parsed X.509 certificates
	crls            []byte          // DER of the crls [1] field, or nil
	signerVersion   int             // SignerInfo version
	sid             asn1.RawValue   // SignerIdentifier
	digestAlgID     []byte          // DER of the SignerInfo digestAlgorithm
	sigAlgID        []byte          // DER of the SignerInfo signatureAlgorithm
	signedAttrsDER  []byte          // DER of signedAttrs as stored ([0] IMPLICIT), or nil
	signature       []byte          // signature OCTET STRING content
	pssSaltLength   int             // RSASSA-PSS salt length, when SignatureAlgorithm is PSS
	signatureHash   crypto.Hash     // hash used by the signature algorithm
	signatureScheme sigScheme       // key family of the signature algorithm
}

// Attribute is one CMS attribute (RFC 5652 §5.3): its type and the DER of
// each value in its SET.
type Attribute struct {
	// Type is the attribute type.
	Type asn1.ObjectIdentifier
	// Values holds the attribute values; each value's FullBytes is its DER.
	Values []asn1.RawValue
}

// Signature returns the content of the SignerInfo's signature OCTET STRING
// (RFC 5652 §5.3). This is what a signature-time-stamp token imprints
// (RFC 3161 Appendix A).
func (sd *SignedData) Signature() []byte {
	return sd.signature
}

// SignedAttribute returns the first value of the signed attribute of type
// oid, and whether that attribute is present.
func (sd *SignedData) SignedAttribute(oid asn1.ObjectIdentifier) (asn1.RawValue, bool) {
	return firstValue(sd.SignedAttributes, oid)
}

// MessageDigest returns the value of the message-digest signed attribute
// (RFC 5652 §11.2), or nil if it is absent or malformed.
func (sd *SignedData) MessageDigest() []byte {
	v, ok := sd.SignedAttribute(OIDMessageDigest)
	if !ok {
		return nil
	}
	var d []byte
	if rest, err := asn1.Unmarshal(v.FullBytes, &d); err != nil || len(rest) != 0 {
		return nil
	}
	return d
}

// firstValue returns the first value of the first attribute of type oid.
func firstValue(attrs []Attribute, oid asn1.ObjectIdentifier) (asn1.RawValue, bool) {
	for _, a := range attrs {
		if a.Type.Equal(oid) {
			if len(a.Values) == 0 {
				return asn1.RawValue{}, false
			}
			return a.Values[0], true
		}
	}
	return asn1.RawValue{}, false
}
