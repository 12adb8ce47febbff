// Package accounts holds Signet's tenants and its service accounts' API
// keys and access tokens: the domain types; the [Service] that creates
// tenants (provisioning each one's issuing CA and seal key through a hook),
// provisions keys for the platform administrator, and creates, lists,
// rotates and revokes keys for a tenant's own administrators, each change
// recorded in the audit log before it is stored; the [Handler] serving
// /v1/tenants, /v1/tenants/{id}, /v1/tenants/{id}/api-keys, /v1/api-keys
// and /v1/tokens; the bootstrap of the platform administrator's key on
// first start
// ([Service.Bootstrap]); and the [KeyVerifier] that turns an API key
// ("sk_") or access token ("st_") into an [api.Principal] for the
// authentication middleware of package internal/api.
//
// # Service accounts
//
// A key of a tenant is a service account: it holds standing grants of
// Roles and acts only within the Actions it is bound to (the authorizer,
// not this package, decides which grants count: privileged roles only if
// the tenant allows standing privileged grants, and a service account is
// never allowed a risky action, since it cannot step up). A key without a
// tenant is the platform administrator's ([PlatformActions]). A key may
// be limited to source addresses ([APIKey.AllowedIPs]) and may expire
// ([MaxKeyLifetime]). Which route needs which action is declared in
// [OpenAPI] and checked by the action gate; the service checks what the
// gate cannot: the platform administrator acts only through the platform
// routes, tenant principals only on their own tenant's keys, and for a
// key it changes the service asks [api.Authorize] with the key as
// subject (and, creating a key, about each action it binds: nobody mints
// a key stronger than themselves).
//
// Rotation ([Service.RotateKey]) replaces a key by a new one with the same
// binding; the old secret keeps working until the overlap ends. Access
// tokens ([Service.ExchangeToken]) live at most [MaxTokenLifetime], may be
// narrowed to some of their key's actions, and die with their key:
// the verifier checks the key on every request. [Service.DisableKey]
// revokes a key for good, with the keys it replaced still in overlap and
// every token of them; [Service.RevokeKeysOwnedBy] does so for every key a
// user owns (offboarding).
//
// # Deleting a tenant
//
// [Service.DeleteTenant] (DELETE /v1/tenants/{id}, the platform
// administrator's) records tenant.deleted, then marks the tenant deleted
// and revokes every key and token of it in one store transaction (its
// credentials are then refused like unknown ones, and no key is created
// for it again), then calls the [Service.ShredTenant] hook, which
// destroys the tenant's keys so that its sealed data is unrecoverable.
// It is idempotent: deleting again retries the hook. The tenant's record
// stays, marked deleted, and its id is never reused.
//
// Secrets and tokens are shown once and stored only as their SHA-256
// ([HashSecret]). The stores are the [TenantStore], [KeyStore] and
// [TokenStore] interfaces; packages internal/accounts/sqlite and
// internal/accounts/postgres implement them, and
// internal/accounts/storetest is their conformance suite.
//
// Package internal/api below it knows principals and actions but not
// tenants or keys; the service packages (workflow, signing) take the
// tenant from the principal and never import this package.
package accounts
