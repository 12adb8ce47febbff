package cms

import (
	"crypto"
	"encoding/asn1"
)

// Object identifiers for the CMS content types and attributes Signet reads
// and writes.
var (
	// OIDData is id-data, the content type of arbitrary octets (RFC 5652 §4).
	OIDData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	// OIDSignedData is id-signedData (RFC 5652 §5.1).
	OIDSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	// OIDTSTInfo is id-ct-TSTInfo, the content type of an RFC 3161 timestamp
	// token's encapsulated content (RFC 3161 §2.4.2).
	OIDTSTInfo = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 4}

	// OIDContentType is the content-type attribute (RFC 5652 §11.1).
	OIDContentType = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	// OIDMessageDigest is the message-digest attribute (RFC 5652 §11.2).
	OIDMessageDigest = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	// OIDSigningTime is the signing-time attribute (RFC 5652 §11.3). Signet
	// never writes it (ETSI EN 319 142-1 forbids it in PAdES baseline
	// signatures); verifiers use the OID to report its presence.
	OIDSigningTime = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	// OIDSigningCertificate is the ESS signing-certificate attribute
	// (RFC 2634 §5.4), which identifies the signer certificate by its SHA-1
	// hash.
	OIDSigningCertificate = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 12}
	// OIDSigningCertificateV2 is the ESS signing-certificate-v2 attribute
	// (RFC 5035 §3), which identifies the signer certificate by a hash under
	// a stated algorithm.
	OIDSigningCertificateV2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 47}
	// OIDTimestampToken is the id-aa-signatureTimeStampToken unsigned
	// attribute (RFC 3161 Appendix A), holding a timestamp token over the
	// SignerInfo's signature value.
	OIDTimestampToken = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 2, 14}
)

// Digest algorithm identifiers (RFC 5754 §2, RFC 3370 §2.1).
var (
	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
)

// Signature algorithm identifiers (RFC 5754 §3, RFC 4056 §2, RFC 3279 §2.2).
var (
	oidRSAEncryption   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidSHA1WithRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	oidSHA256WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidRSAPSS          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidMGF1            = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidECPublicKey     = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidECDSAWithSHA1   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidECDSAWithSHA512 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
)

// HashFromOID returns the hash function named by a digest algorithm
// identifier: SHA-256, SHA-384 or SHA-512 (RFC 5754 §2), or SHA-1
// (RFC 3370 §2.1), which Signet accepts when reading so that verifiers can
// report it. It reports false for any other identifier.
func HashFromOID(oid asn1.ObjectIdentifier) (crypto.Hash, bool) {
	switch {
	case oid.Equal(oidSHA256):
		return crypto.SHA256, true
	case oid.Equal(oidSHA384):
		return crypto.SHA384, true
	case oid.Equal(oidSHA512):
		return crypto.SHA512, true
	case oid.Equal(oidSHA1):
		return crypto.SHA1, true
	}
	return 0, false
}

// OIDFromHash returns the digest algorithm identifier of h (RFC 5754 §2,
// RFC 3370 §2.1). It reports false for a hash Signet does not support.
func OIDFromHash(h crypto.Hash) (asn1.ObjectIdentifier, bool) {
	switch h {
	case crypto.SHA256:
		return oidSHA256, true
	case crypto.SHA384:
		return oidSHA384, true
	case crypto.SHA512:
		return oidSHA512, true
	case crypto.SHA1:
		return oidSHA1, true
	}
	return nil, false
}
