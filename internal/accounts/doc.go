// Package accounts holds Signet's tenants and API keys: the domain types,
// the [Service] that creates tenants (provisioning each one's issuing CA
// and seal key through a hook) and creates, lists and revokes scoped API
// keys, each change recorded in the audit log before it is stored; the
// [Handler] serving /v1/tenants and /v1/api-keys; the bootstrap of the
// platform administrator's key on first start ([Service.Bootstrap]); and
// the [KeyVerifier] that turns an API key secret into an [api.Principal]
// for the authentication middleware of package internal/api.
//
// Secrets are shown once and stored only as their SHA-256 ([HashSecret]).
// The stores are the [TenantStore] and [KeyStore] interfaces; package
// internal/accounts/sqlite implements them on SQLite.
//
// Package internal/api below it knows principals and scopes but not
// tenants or keys; the service packages (workflow, signing) take the
// tenant from the principal and never import this package.
package accounts
