// Package keyadmin serves the administration of a tenant's keys and
// certificates:
//
//	GET  /v1/keys                              the tenant's keys, one entry per version, with their certificates
//	POST /v1/keys/{id}/rotate                  a new active version of the seal key or the data key (KEK)
//	POST /v1/certificates/{serial}/revoke      revoke a certificate of the tenant's CA or keys
//
// The listing declares the action audit.read (auditors see the keys'
// status; there is no key.read); rotation and revocation declare
// key.admin, which the authorization model counts as risky: the router's
// gate demands a recent strong authentication (step-up). The tenant is
// the principal's; another tenant's key or certificate is not found.
//
// The tenant's keys are those the key manager holds for it: its issuing
// CA's key and the CA's OCSP responder key, its seal key and its
// key-encryption key of data at rest. Each version's status is active,
// retired (rotated out or destroyed), revoked, or expired (active, but
// its last certificate has expired). Certificates come from the CA's
// records of the key version, newest first, with the status active (the
// newest valid one), retired (an older valid one), revoked or expired.
//
// Rotation goes through the key manager (the seal key) or the keys at
// rest (the KEK), which record key.rotated; the CA's keys are renewed
// with their certificates by the PKI, never rotated here (409).
// Revocation goes through the CA (certificate.revoked, then the CRL and
// OCSP answer revoked). What would break the service is refused with
// 409: the root, a certificate a PKI role (CA, OCSP responder, TSA, TLS)
// uses now, and the certificate of the seal key's active version (rotate
// the seal key first).
package keyadmin
