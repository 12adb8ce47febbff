// Package keyref resolves a key reference, the --key argument of
// `signet sign`, into a [crypto.Signer] and its certificate chain.
//
// # Reference forms
//
//   - pkcs11:token=...;object=...  a PKCS#11 URI (RFC 7512), parsed by
//     [ParsePKCS11URI] and handed to [Options.PKCS11];
//   - signet:KEY-ID                a key in Signet's key store, handed to
//     [Options.Store];
//   - FILE.p12, FILE.pfx           a PKCS#12 file (RFC 7292) holding the key,
//     its certificate and usually the chain;
//   - any other path               a private key in PEM ("PRIVATE KEY",
//     "ENCRYPTED PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY") or DER
//     (PKCS#8, RFC 5958; PKCS#1, RFC 8017; SEC 1, RFC 5915), with its
//     certificate from [Options.CertFile] and the chain from
//     [Options.ChainFile].
//
// # Checks
//
// Whatever the source, [Open] checks that the certificate's public key is
// the signer's ([ErrKeyMismatch]) and that the key is RSA with a 2048 to
// 4096-bit modulus or ECDSA on P-256 or P-384 ([ErrUnsupportedKey]), the
// key types Signet signs PAdES signatures with. Error messages are one line
// and never contain key material, PINs or passwords.
//
// # Backends
//
// PKCS#11 tokens and the key store are reached through the function fields
// of [Options], so that the caller picks its backends explicitly; a nil
// field makes references of that form fail with [ErrBackendUnavailable].
package keyref
