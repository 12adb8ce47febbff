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
// # Outbox and delivery
//
// A [Message] ({"type","timestamp","data"}, ids and states only) goes to
// the outbox as one pending delivery per matching enabled endpoint of its
// tenant, in the transaction of the change it announces when the change
// has one (the workflow's envelope stores call the driver's
// InsertMessages), else right after the change is recorded
// ([Service.Notify]). [Service.Run] claims due deliveries under a lease
// (no two workers hold one delivery), signs and posts each, and records
// the attempt: at least once, retried on [DefaultSchedule] with jitter,
// then dead-lettered with the endpoint marked failing.
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
