package cms

import "errors"

// Sentinel errors that callers branch on with [errors.Is]. Errors returned by
// this package wrap them with context.
var (
	// ErrKeyMismatch means the signer's public key is not the public key of
	// the signer certificate.
	ErrKeyMismatch = errors.New("cms: signer key does not match signer certificate")
	// ErrSignerCount means a SignedData does not hold exactly one SignerInfo.
	ErrSignerCount = errors.New("cms: SignedData must have exactly one SignerInfo")
	// ErrNoSignerCertificate means no certificate in the SignedData matches
	// the SignerInfo's sid (RFC 5652 §5.3).
	ErrNoSignerCertificate = errors.New("cms: signer certificate not found")
	// ErrDigestMismatch means the content digest differs from the
	// message-digest attribute (RFC 5652 §11.2), or that attribute is
	// missing.
	ErrDigestMismatch = errors.New("cms: message digest mismatch")
	// ErrContentType means the content-type attribute (RFC 5652 §11.1) is
	// missing or differs from the encapsulated content type.
	ErrContentType = errors.New("cms: content-type attribute mismatch")
	// ErrSignature means the signature value does not verify over the signed
	// attributes with the signer certificate's key (RFC 5652 §5.6).
	ErrSignature = errors.New("cms: invalid signature")
	// ErrNoSigningCertificate means neither an ESS signing-certificate-v2
	// (RFC 5035) nor a signing-certificate (RFC 2634) attribute is signed.
	ErrNoSigningCertificate = errors.New("cms: no signing-certificate attribute")
	// ErrSigningCertificate means the ESS signing-certificate(-v2) attribute
	// does not identify the signer certificate.
	ErrSigningCertificate = errors.New("cms: signing-certificate attribute does not match signer certificate")
	// ErrUnsupportedAlgorithm means a digest or signature algorithm, or a key
	// type, that this package does not implement.
	ErrUnsupportedAlgorithm = errors.New("cms: unsupported algorithm")
	// ErrNoSignedAttributes means the SignerInfo has no signed attributes,
	// which CAdES and PAdES require (ETSI EN 319 122-1 §5.2).
	ErrNoSignedAttributes = errors.New("cms: no signed attributes")
)
