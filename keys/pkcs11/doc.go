// Package pkcs11 is a [keys.Backend] over a PKCS#11 token: an HSM such as
// CloudHSM, Luna, nShield, YubiHSM or Google's kmsp11, or SoftHSM2 in tests.
//
// # Custody
//
// Keys are generated inside the token (C_GenerateKeyPair, PKCS#11 v2.40
// §5.13) as token objects that are private, sensitive and non-extractable
// (CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE true, CKA_EXTRACTABLE false), and
// [Backend.Generate] refuses a key the token reports otherwise. Private key
// material never enters the process: [Backend.Signer] returns a
// [crypto.Signer] whose Sign runs C_Sign in the token.
//
// Key-encryption keys ([keys.AES256], the algorithm of the data-key-wrapping
// purpose, such as a tenant's KEK) are AES-256 secret keys generated in the
// token (C_GenerateKey, CKM_AES_KEY_GEN) with the same custody attributes
// and only the encrypt and decrypt uses (CKA_ENCRYPT, CKA_DECRYPT true;
// CKA_WRAP, CKA_UNWRAP, CKA_SIGN, CKA_VERIFY, CKA_DERIVE false). The
// Backend is a [keys.Wrapper]: [Backend.Wrap] and [Backend.Unwrap] run in
// the token, so a data key is wrapped and unwrapped without the KEK ever
// leaving it.
//
// # Configuration
//
// A [Config] names the module (the vendor's .so), the token by its label
// (CK_TOKEN_INFO.label; never by slot id, which can change when tokens are
// added or re-initialized) and the user PIN. The PIN is never logged and
// never appears in errors: [Config] prints it as "REDACTED".
//
// # Handles
//
// A key's handle is its CKA_ID in lower-case hex. Generate sets a random
// 16-byte CKA_ID on both halves of the pair and the label it is given as
// CKA_LABEL; [Backend.Find] maps a label (or id) of an existing key, such
// as one named by an RFC 7512 URI, to its handle.
//
// # Mechanisms
//
// ECDSA (P-256, P-384) signs a digest with CKM_ECDSA and returns the
// ASN.1 DER form of RFC 5480 §2.2.3 (the token returns r‖s, PKCS#11 v2.40
// §2.3.1). RSA (2048–4096 bits) signs with CKM_RSA_PKCS over a DigestInfo
// (RFC 8017 §9.2) or with CKM_RSA_PKCS_PSS for [rsa.PSSOptions]. The
// hash-and-sign mechanisms (CKM_ECDSA_SHA256 and friends) are not used:
// callers hand a crypto.Signer a digest, and SoftHSM 2.6 lacks them.
//
// Wrapping uses CKM_AES_GCM with a random 96-bit IV from crypto/rand (or
// the one the token reports, for tokens that choose their own), a 128-bit
// tag and the caller's additional data as GCM AAD; a wrapped blob is
// iv ‖ ciphertext ‖ tag, the software backend's layout. A blob that does
// not open, for any reason, gives [ErrUnwrap]. A Backend remembers the
// object handles of the AES keys it used, so that a call does not search
// the token; Wrap checks a remembered handle's CKA_ID first, Unwrap
// searches again when a remembered handle fails.
//
// # Concurrency and errors
//
// A Backend keeps one logged-in session for its lifetime and a pool of up to
// [Config.MaxSessions] sessions for operations, so its methods and its
// signers are safe for concurrent use. A missing module, an absent token or
// a wrong PIN yields an error wrapping [keys.ErrBackendUnavailable]; an
// unknown or destroyed handle, [keys.ErrKeyNotFound].
//
// Without cgo the package still compiles, and [Open] returns
// [keys.ErrBackendUnavailable].
package pkcs11
