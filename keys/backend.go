package keys

import (
	"context"
	"crypto"
	"errors"
)

// Errors that backends return and callers branch on.
var (
	// ErrBackendUnavailable means the backend cannot be reached (token
	// absent, module missing, wrong PIN): fail closed with this error.
	ErrBackendUnavailable = errors.New("keys: key backend unavailable")
	// ErrKeyNotFound means the backend holds no key with that handle.
	ErrKeyNotFound = errors.New("keys: key not found in backend")
	// ErrUnsupportedAlgorithm means the backend cannot make or use keys of
	// the requested algorithm.
	ErrUnsupportedAlgorithm = errors.New("keys: algorithm not supported by backend")
)

// Algorithm names a key type.
type Algorithm string

// Key algorithms. Asymmetric ones sign; AES256 wraps data keys; HMACSHA256
// signs webhooks.
const (
	ECDSAP256  Algorithm = "ecdsa-p256"
	ECDSAP384  Algorithm = "ecdsa-p384"
	RSA2048    Algorithm = "rsa-2048"
	RSA3072    Algorithm = "rsa-3072"
	RSA4096    Algorithm = "rsa-4096"
	Ed25519    Algorithm = "ed25519"
	AES256     Algorithm = "aes-256"
	HMACSHA256 Algorithm = "hmac-sha256"
)

// A Backend holds key material and performs operations with it; the
// material never leaves it through this interface. Implementations: the
// sealed software store (keys/soft) and PKCS#11 tokens (keys/pkcs11). Cloud
// KMS backends (AWS KMS, GCP KMS, Azure Key Vault, Vault Transit) implement
// the same interface, one file each.
//
// A Backend knows nothing of purposes, versions or states: the Manager
// enforces those and records every operation in the audit log before it
// reaches the backend.
type Backend interface {
	// Name identifies the backend in key metadata, e.g. "soft" or
	// "pkcs11:signet-hsm".
	Name() string
	// Generate creates a key inside the backend and returns its handle (an
	// opaque, backend-specific reference safe to store in a database) and,
	// for asymmetric keys, its public key. Keys MUST be generated inside the
	// backend and, where the backend allows, be non-extractable.
	Generate(ctx context.Context, alg Algorithm, label string) (handle string, pub crypto.PublicKey, err error)
	// Signer returns a crypto.Signer for an asymmetric key.
	Signer(ctx context.Context, handle string) (crypto.Signer, error)
	// Destroy deletes the key material. It MUST be irreversible.
	Destroy(ctx context.Context, handle string) error
}

// An Importer is a Backend that can take in a key generated elsewhere.
// Signet imports only what an earlier version kept outside the key store
// (the audit checkpoint key file); keys are otherwise generated inside the
// backend.
type Importer interface {
	Import(ctx context.Context, alg Algorithm, label string, key crypto.Signer) (handle string, pub crypto.PublicKey, err error)
}

// A Wrapper is a Backend that can encrypt data keys under a symmetric key it
// holds (envelope encryption). aad binds the ciphertext to its context.
type Wrapper interface {
	Wrap(ctx context.Context, handle string, plaintext, aad []byte) ([]byte, error)
	Unwrap(ctx context.Context, handle string, ciphertext, aad []byte) ([]byte, error)
}

// A MACer is a Backend that computes MACs with a symmetric key it holds
// (webhook signing).
type MACer interface {
	MAC(ctx context.Context, handle string, data []byte) ([]byte, error)
}

// A SessionGenerator is a Backend that can make session keys: keys that
// live only in the backend's memory (for PKCS#11, session objects with
// CKA_TOKEN false), are never written to storage, and are gone at Destroy
// or when the process ends. Per-signing-event keys use them: such a key
// signs once and nothing of it should outlive the event. Signer and
// Destroy accept their handles like any other.
type SessionGenerator interface {
	GenerateSession(ctx context.Context, alg Algorithm, label string) (handle string, pub crypto.PublicKey, err error)
}
