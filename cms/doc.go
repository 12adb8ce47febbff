// Package cms builds, parses and verifies CMS SignedData (RFC 5652) as used
// by PAdES signatures (ETSI EN 319 142-1, with the CAdES baseline signed
// attributes of ETSI EN 319 122-1) and by RFC 3161 timestamp tokens.
//
// It is written with encoding/asn1 and crypto/x509 only, and handles a
// SignedData with exactly one SignerInfo.
//
// # Signing
//
// [Sign] takes a [crypto.Signer], so the key may live in software, a
// PKCS #11 token or a KMS. The SignerInfo carries exactly three signed
// attributes: content-type and message-digest (RFC 5652 §11.1, §11.2) and
// ESS signing-certificate-v2 (RFC 5035), which binds the signer certificate
// to the signature. No signing-time attribute is written: PAdES baseline
// forbids it, and the trusted time comes from a timestamp. The signature is
// computed over the DER of the signed attributes encoded as a SET OF
// (tag 0x31), while they are stored as [0] IMPLICIT (RFC 5652 §5.4).
// Algorithms are ECDSA, RSA PKCS #1 v1.5 and RSASSA-PSS (RFC 4056) with
// SHA-256, SHA-384 or SHA-512 (RFC 5754).
//
// # Parsing and re-encoding
//
// [Parse] reads a ContentInfo and tolerates the zero padding of a PDF
// /Contents string. BER input, such as the indefinite-length encodings that
// streaming encoders and Network Security Services write, is converted to
// DER first; the signed attributes must be DER already (RFC 5652 §5.3), as
// their signature covers that encoding. [SignedData.Marshal] writes definite-length
// DER (keeping the given order of certificates and unsigned attributes) and
// keeps the signed parts byte for byte, so adding a timestamp with
// [SignedData.SetTimestampToken] (RFC 3161 Appendix A) keeps the signature
// valid.
//
// # Fuzzing
//
// FuzzParse, with its seed corpus in testdata/fuzz/FuzzParse, checks that
// Parse never panics and that whatever it accepts re-encodes to the same
// signed bytes. Regenerate the seeds with
//
//	go test -run TestFuzzCorpus -update ./cms
//
// # Verification
//
// [SignedData.Verify] checks the message digest, the content type, the
// signature and the ESS signing-certificate binding, and returns the signer
// certificate. Certificate path validation, revocation and timestamp
// checking are left to the caller.
package cms
