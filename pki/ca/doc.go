// Package ca is Signet's internal certificate authority (RFC 5280).
//
// # Hierarchy
//
// A root CA signs only issuing CA certificates and its own CRLs
// (basicConstraints pathLen 1, keyUsage keyCertSign|cRLSign). Below it, one
// issuing CA per tenant (pathLen 0, the tenant in the subject's O) issues
// end-entity certificates: identity-bound document signers, OCSP responders
// and, from the platform issuing CA, time-stamping certificates. Every
// certificate below the root carries an authority information access
// extension (OCSP and CA-issuers URLs) and a CRL distribution point, built
// from [Config.BaseURL]:
//
//	<base>/ocsp            RFC 6960 responder (end-entity certificates)
//	<base>/ca/<name>.crt   the issuing certificate, DER (RFC 5280 §4.2.2.1)
//	<base>/crl/<name>.crl  the issuer's current CRL, DER (RFC 5280 §4.2.1.13)
//
// OCSP responses are signed by a delegated responder per issuing CA
// ([Authority.IssueOCSPResponder], RFC 6960 §4.2.2.2), so the CA keys are
// not used online for every query; issuing CA certificates (issued by the
// root, which signs no OCSP) are covered by the root's CRL only.
//
// # Signer certificates
//
// [Authority.IssueEphemeral] issues a short-lived certificate (ten minutes
// by default) for a key generated in the key backend for one signing event
// and destroyed afterwards; [Authority.IssueSigner] certifies a long-lived
// per-signer key instead. Both bind a verified [Identity] (CN, rfc822Name,
// O = tenant) and record the authentication evidence in a non-critical
// Signet extension, read back with [ParseAuthEvidence].
//
// # Records, revocation and audit
//
// Every certificate is stored as a [Record] in a [Store] and recorded as a
// certificate.issued event; [Authority.Revoke] and [Authority.RevokeByKey]
// record certificate.revoked. Events are recorded before the action and an
// audit failure stops it (fail closed). The subject of a certificate that
// names a person ([Kind.NamesPerson]: signer certificates) is a sensitive
// attribute of its events (sealed beside the leaf, an HMAC in it).
//
// # Sealed records
//
// [SealedStore] wraps a Store so that the subject and DER of signer
// certificates are sealed by a [RecordSealer] ([NewRecordSealer] uses
// keys/dataseal under a KEK per issuer, bound to issuer, serial and
// field); the subject column then holds [SealedPrefix] and the sealed
// value, and records stored in clear earlier read as before. Serials,
// issuers, status and revocation data stay in clear, so the OCSP
// responder and the CRL publisher read the inner store and need no key.
package ca
