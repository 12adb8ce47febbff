package keys

import (
	"crypto"
	"fmt"
	"time"
)

// A Purpose is the one thing a key may be used for. A key is created with a
// purpose and keeps it for life: asking a signing key to wrap data, or a
// wrapping key to sign, fails with [ErrPurpose].
type Purpose string

// Key purposes.
const (
	// PurposeDocumentSigning keys sign PAdES signatures for signers.
	PurposeDocumentSigning Purpose = "document-signing"
	// PurposeIssuingCA keys sign signer certificates, OCSP responses and
	// CRLs of a (per-tenant) issuing CA.
	PurposeIssuingCA Purpose = "issuing-ca"
	// PurposeRootCA keys sign issuing-CA certificates and the root's CRLs
	// only.
	PurposeRootCA Purpose = "root-ca"
	// PurposePlatformSeal keys sign Signet's own seal on completed
	// documents.
	PurposePlatformSeal Purpose = "platform-seal"
	// PurposeTimestamping keys sign RFC 3161 time-stamp tokens.
	PurposeTimestamping Purpose = "timestamping"
	// PurposeAuditCheckpoint keys sign audit log checkpoints. Their
	// successful signatures are not recorded as key.used events: each
	// is a signed checkpoint, stored in the log and its anchors.
	PurposeAuditCheckpoint Purpose = "audit-checkpoint"
	// PurposeDataKeyWrapping keys encrypt data keys (envelope encryption).
	PurposeDataKeyWrapping Purpose = "data-key-wrapping"
	// PurposeTLS keys authenticate Signet in TLS and mTLS.
	PurposeTLS Purpose = "tls"
	// PurposeWebhookSigning keys sign outgoing webhooks.
	PurposeWebhookSigning Purpose = "webhook-signing"
)

// purposeAlgorithms lists, in order of preference, the algorithms each
// purpose allows. The first is the default.
var purposeAlgorithms = map[Purpose][]Algorithm{
	PurposeDocumentSigning: {ECDSAP256, ECDSAP384, RSA2048, RSA3072, RSA4096},
	PurposeIssuingCA:       {ECDSAP256, ECDSAP384, RSA2048, RSA3072, RSA4096},
	PurposeRootCA:          {ECDSAP384, ECDSAP256, RSA3072, RSA4096},
	PurposePlatformSeal:    {ECDSAP256, ECDSAP384, RSA2048, RSA3072, RSA4096},
	PurposeTimestamping:    {ECDSAP256, ECDSAP384, RSA2048, RSA3072, RSA4096},
	PurposeAuditCheckpoint: {Ed25519, ECDSAP256},
	PurposeDataKeyWrapping: {AES256},
	PurposeTLS:             {ECDSAP256, ECDSAP384, Ed25519, RSA2048, RSA3072, RSA4096},
	PurposeWebhookSigning:  {HMACSHA256, Ed25519},
}

// Purposes returns every purpose, in a fixed order.
func Purposes() []Purpose {
	return []Purpose{
		PurposeDocumentSigning, PurposeIssuingCA, PurposeRootCA, PurposePlatformSeal,
		PurposeTimestamping, PurposeAuditCheckpoint, PurposeDataKeyWrapping,
		PurposeTLS, PurposeWebhookSigning,
	}
}

// Valid reports whether p is one of the purposes above.
func (p Purpose) Valid() bool { _, ok := purposeAlgorithms[p]; return ok }

// Algorithms returns the algorithms p allows; the first is the default.
func (p Purpose) Algorithms() []Algorithm {
	return append([]Algorithm(nil), purposeAlgorithms[p]...)
}

// Allows reports whether a key of purpose p may have algorithm a.
func (p Purpose) Allows(a Algorithm) bool {
	for _, x := range purposeAlgorithms[p] {
		if x == a {
			return true
		}
	}
	return false
}

// Asymmetric reports whether a is a public-key algorithm (one that signs
// through a crypto.Signer).
func (a Algorithm) Asymmetric() bool {
	switch a {
	case ECDSAP256, ECDSAP384, RSA2048, RSA3072, RSA4096, Ed25519:
		return true
	}
	return false
}

// A State is the lifecycle state of one key version.
type State string

// Version states. Transitions only go forward: active → verify-only →
// revoked → destroyed, and any state but destroyed → revoked or destroyed.
const (
	// StateActive versions are used for new operations; a key has at most
	// one active version.
	StateActive State = "active"
	// StateVerifyOnly versions were rotated out: their public keys still
	// verify signatures and, for wrapping keys, they still unwrap
	// (decrypt-only), but they sign and wrap nothing new.
	StateVerifyOnly State = "verify-only"
	// StateRevoked versions are out of use for good: they neither sign nor
	// unwrap. Their public keys remain, to judge signatures made before the
	// compromise time.
	StateRevoked State = "revoked"
	// StateDestroyed versions have no key material left in the backend.
	StateDestroyed State = "destroyed"
)

// A Key is the metadata of one purpose-bound key and its versions. The key
// material stays in the backend, referenced by each version's handle.
type Key struct {
	// ID identifies the key across versions, e.g. "key_01j…".
	ID string
	// Purpose is what the key may be used for.
	Purpose Purpose
	// Algorithm is the key type of every version.
	Algorithm Algorithm
	// Backend is the [Backend.Name] of the backend holding the material.
	Backend string
	// Tenant owns the key; "" for platform keys.
	Tenant string
	// Label is a human name, not unique.
	Label string
	// Created is when the key (version 1) was created.
	Created time.Time
	// RotateAfter is the age after which the active version is rotated by
	// [Manager.RotateDue]; zero means never by age.
	RotateAfter time.Duration
	// UsageLimit is the number of operations after which the active
	// version is rotated automatically; zero means no limit.
	UsageLimit int64
	// Versions are the key's versions in increasing Number order.
	Versions []Version
}

// A Version is one generation of a key's material.
type Version struct {
	// Number counts from 1.
	Number int
	// Handle is the backend's opaque reference to the material.
	Handle string
	// Public is the public key of asymmetric versions (nil for symmetric
	// ones).
	Public crypto.PublicKey
	// State is the version's lifecycle state.
	State State
	// Created is when the version was generated.
	Created time.Time
	// Usage counts the operations made with the version. A Manager
	// counts a busy version's uses in blocks: one durable update
	// reserves up to 64 uses ahead, and the uses a process had reserved
	// but not made when it stopped stay counted, so Usage may exceed the
	// operations made but never falls short of them. Occasional uses,
	// and every use within two blocks of the usage limit, are counted
	// one by one.
	Usage int64
	// Revocation is set once the version is revoked.
	Revocation *Revocation
	// Destroyed is when the material was destroyed (zero if it was not).
	Destroyed time.Time
}

// A Revocation records why and when a version was revoked.
type Revocation struct {
	// Reason is the RFC 5280 §5.3.1 reason code.
	Reason RevocationReason
	// Time is when the version was revoked.
	Time time.Time
	// CompromiseTime is when the key is known or suspected to have been
	// compromised (RFC 5280 §5.3.2 invalidityDate); zero when unknown.
	CompromiseTime time.Time
}

// A KeyVersionRef names one version of a key.
type KeyVersionRef struct {
	KeyID   string
	Version int
}

// String returns "ID/vN".
func (r KeyVersionRef) String() string { return fmt.Sprintf("%s/v%d", r.KeyID, r.Version) }

// Active returns the active version, or nil if the key has none (all of
// its versions are revoked or destroyed).
func (k *Key) Active() *Version {
	for i := len(k.Versions) - 1; i >= 0; i-- {
		if k.Versions[i].State == StateActive {
			return &k.Versions[i]
		}
	}
	return nil
}

// Version returns version n, or nil.
func (k *Key) Version(n int) *Version {
	for i := range k.Versions {
		if k.Versions[i].Number == n {
			return &k.Versions[i]
		}
	}
	return nil
}

// Clone returns a deep copy of k (public keys are shared: they are
// immutable).
func (k *Key) Clone() *Key {
	c := *k
	c.Versions = make([]Version, len(k.Versions))
	copy(c.Versions, k.Versions)
	for i := range c.Versions {
		if r := c.Versions[i].Revocation; r != nil {
			rc := *r
			c.Versions[i].Revocation = &rc
		}
	}
	return &c
}
