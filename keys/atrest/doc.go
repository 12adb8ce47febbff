// Package atrest is the middle level of Signet's keys at rest: one data
// key per stored object of a tenant, wrapped by the tenant's
// key-encryption key in custody.
//
// # The hierarchy
//
//  1. A tenant's key-encryption key (KEK) is a key of [keys.Manager] of
//     the data-key-wrapping purpose (AES-256, Tenant set, label
//     [KEKLabel]) on the configured backend, created on first use. The
//     registry ([Store.TenantKEK]) names it, once per tenant even when
//     several nodes race to create it (the losers revoke and destroy
//     their spare key).
//  2. Each object (a document's content, an envelope, a recipient's
//     session, a user ...) has a random 256-bit data key, wrapped by the
//     tenant's KEK with [keys.Manager.Wrap], the object's identity
//     (tenant, object) bound as associated data, and kept in one table
//     (atrest_data_keys).
//  3. Values and streams are sealed with keys/dataseal under the object's
//     KEK, dataseal.NewAESKEK("1", dataKey), which [Service.ObjectKEK]
//     returns.
//
// Rotating a tenant's KEK ([Service.RotateTenantKEK]) makes new data keys
// wrap under the new version; [Service.Rewrap] re-wraps the stored data
// keys under it without touching any ciphertext, after which the old
// versions may be destroyed. Shredding an object ([Service.Shred]) deletes
// its row; shredding a tenant ([Service.ShredTenant]) marks it shredded,
// revokes and destroys its KEK and deletes its rows. What was sealed under
// a shredded key can no longer be read.
//
// # Cache
//
// Unwrapping goes through key custody (and an HSM round trip on PKCS#11),
// so the KEKs of recently used objects are cached: at most
// [Config.CacheSize] objects, each for at most [Config.CacheTTL] (one
// minute by default). The cache holds the AES-GCM ciphers, not the key
// bytes, which are cleared once the cipher is made. A shredding on this
// node takes effect in its cache at once (a load that raced it does not
// cache what it read); one on another node takes effect here when the
// entry expires, within the TTL. Each wrap and unwrap is recorded in the
// audit log in blocks ([keys.AggregateUses], [UseRecordInterval]), so a
// busy tenant's key adds a few key.used events per minute, not one per
// object opened.
//
// # Storage
//
// [Store] is implemented by [MemStore], keys/atrest/sqlite (signet.db)
// and keys/atrest/postgres; keys/atrest/storetest is the conformance
// suite all three pass.
package atrest
