// Package testpki builds throwaway X.509 hierarchies for tests and for
// `signet quickstart`: a root CA, optional intermediates, document-signer
// certificates and RFC 3161 time-stamping certificates.
//
// # Profiles
//
// Certificates follow RFC 5280. A root is self-signed, valid for ten years,
// with basicConstraints CA:TRUE and keyUsage keyCertSign|cRLSign. Signer
// certificates carry keyUsage digitalSignature|nonRepudiation and the
// extended key usage id-kp-emailProtection (RFC 5280 §4.2.1.12): that is the
// usage NSS (and therefore pdfsig) checks for a document signer, the one
// `openssl cms -verify` checks by default (purpose smimesign) and one Adobe
// Acrobat accepts for document signing. Verifiers built on crypto/x509 must
// therefore pass [x509.ExtKeyUsageEmailProtection] or [x509.ExtKeyUsageAny]
// in [x509.VerifyOptions.KeyUsages], since the default there is serverAuth.
//
// Time-stamping certificates carry keyUsage digitalSignature and an extended
// key usage holding id-kp-timeStamping only, marked critical, as RFC 3161
// §2.3 requires. crypto/x509 writes the extension non-critical, so this
// package encodes it itself and passes it through
// [x509.Certificate.ExtraExtensions].
//
// # Cost
//
// Keys are generated fresh on every call. ECDSA keys take microseconds; RSA
// keys take tens of milliseconds (2048 bits) to a few seconds (4096 bits).
// Tests that need many certificates should prefer ECDSA or share a CA.
package testpki
