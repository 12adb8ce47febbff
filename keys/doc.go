// Package keys is Signet's key custody: keys of one purpose each, with
// versions and states, held by a [Backend] (a sealed software store or a
// PKCS#11 token), rotated and revoked with evidence in the audit log.
//
// # Keys, versions and purposes
//
// A [Key] has one [Purpose] for life and an [Algorithm] the purpose
// allows ([Purpose.Allows]). Its [Version]s move forward through the
// states active, verify-only (decrypt-only for wrapping keys), revoked
// and destroyed. The [Manager] hands out a guarded crypto.Signer
// ([Manager.Signer]) for signing purposes, and wraps ([Manager.Wrap],
// [Manager.Unwrap]) or MACs ([Manager.MAC]) with symmetric keys; using a
// key outside its purpose fails with [ErrPurpose].
//
// # Rotation and revocation
//
// [Manager.Rotate] adds an active version and keeps the old ones for
// verifying and unwrapping; [Manager.RotateDue] rotates by age and every
// use counts toward the key's usage limit, which rotates it automatically.
// [Manager.Revoke] takes RFC 5280 §5.3.1 reasons and an invalidity
// (compromise) time, stops use at once and calls the registered
// [RevocationHook]s, through which the CA revokes the key's certificates.
// [Manager.Destroy] deletes material irreversibly.
//
// # Audit
//
// Every operation, refused attempt and failure is recorded through a
// [Recorder] before it takes effect; if the record fails, the operation
// does not happen (fail closed, as [auditlog.Recorder] requires). A
// signer asked for with [AggregateUses], for a key that signs for anyone
// who asks, records its uses in blocks: one key.used event, before them,
// reserves the uses of a block of at most an interval. The one exception
// is the successful signature of an audit-checkpoint key: the signed
// checkpoint is its own record (see [PurposeAuditCheckpoint]).
//
// # Storage
//
// Metadata lives behind [Store]: [MemStore] in memory, keys/sqlite on
// SQLite. keys/storetest is the conformance suite for both.
package keys
