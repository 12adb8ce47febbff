// Package webhook sends events to integrations: webhook endpoints
// registered per tenant, signed as the Standard Webhooks specification
// describes (standardwebhooks.com), delivered at least once from a durable
// outbox, with an SSRF guard on every connection.
//
// # Signatures
//
// Every delivery carries webhook-id, webhook-timestamp (unix seconds) and
// webhook-signature, a space-separated list of "v1,<base64 HMAC-SHA256>"
// signatures of "id.timestamp.body" under the endpoint's secrets
// (whsec_<base64 of the key>; during a secret rotation the old and the new
// secret both sign until the overlap ends) and, when the service has a
// tenant signing key, one "v1a,<base64 Ed25519 signature>" verifiable with
// the tenant's published public key (whpk_<base64>). [Verify] checks such
// headers in constant time within a timestamp tolerance.
//
// # SSRF guard
//
// [Guard] refuses URLs that are not https (http only when allowed), and
// hosts that are or resolve to loopback, private, link-local (including
// the 169.254.169.254 metadata address), CGNAT, unspecified or multicast
// addresses, IPv4-mapped IPv6 forms included. It checks at registration
// and again at connect time, on the address actually dialled, which
// defeats DNS rebinding.
package webhook
