// Package keys is Signet's key custody: keys of one purpose each, with
// versions and states, held by a [Backend] (a sealed software store or a
// PKCS#11 token), rotated and revoked with evidence in the audit log.
package keys
