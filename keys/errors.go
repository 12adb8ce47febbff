package keys

import "errors"

// Errors of the key manager that callers branch on; test with errors.Is.
var (
	// ErrNotFound means no key with that id (or no such version) exists.
	ErrNotFound = errors.New("keys: key not found")
	// ErrExists means a key with that id already exists.
	ErrExists = errors.New("keys: key already exists")
	// ErrPurpose means the operation does not match the key's purpose: a
	// signing key asked to wrap, a wrapping key asked to sign, or a key
	// asked for under a purpose it does not have.
	ErrPurpose = errors.New("keys: operation not allowed for the key's purpose")
	// ErrAlgorithm means the algorithm is not allowed for the purpose.
	ErrAlgorithm = errors.New("keys: algorithm not allowed for the purpose")
	// ErrState means the version's state forbids the operation: it is not
	// active (to sign or wrap), or it is revoked or destroyed (to unwrap).
	ErrState = errors.New("keys: key version state forbids the operation")
	// ErrUsageLimit means the version has reached its usage limit.
	ErrUsageLimit = errors.New("keys: key version usage limit reached")
	// ErrAudit means the audit log refused to record the operation, which
	// therefore did not happen.
	ErrAudit = errors.New("keys: audit log refused the record")
	// ErrRevocationHook means a version was revoked but a revocation hook
	// (e.g. the CA revoking its certificates) failed; the revocation
	// itself stands.
	ErrRevocationHook = errors.New("keys: revocation hook failed")
	// ErrMalformedBlob means a wrapped blob is not one Signet made.
	ErrMalformedBlob = errors.New("keys: malformed wrapped blob")
)
