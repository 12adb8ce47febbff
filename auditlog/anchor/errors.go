package anchor

import (
	"errors"
	"fmt"
)

// Errors that callers branch on with [errors.Is].
var (
	// ErrMalformed reports a checkpoint, cosignature line, key or witness
	// response that does not follow its format.
	ErrMalformed = errors.New("anchor: malformed input")

	// ErrBadCosignature reports a cosignature from a configured witness key
	// that does not verify over the checkpoint (C2SP tlog-cosignature), or
	// a witness answer without any cosignature from its configured key.
	ErrBadCosignature = errors.New("anchor: invalid cosignature")

	// ErrWitnessConflict reports a witness that answered 409 Conflict: its
	// latest cosigned size differs from the old size sent, or it holds a
	// different root hash for the same size (C2SP tlog-witness). Errors
	// returned for a 409 are [*ConflictError] values.
	ErrWitnessConflict = errors.New("anchor: witness holds a conflicting checkpoint")

	// ErrWitnessRefused reports a witness that refused the checkpoint for
	// another reason: unknown origin (404), no trusted log signature (403),
	// a consistency proof that does not verify (422), or a bad request.
	// Errors are [*RefusedError] values.
	ErrWitnessRefused = errors.New("anchor: witness refused the checkpoint")

	// ErrKind reports an [auditlog.Anchor] handed to the wrong verifier.
	ErrKind = errors.New("anchor: wrong anchor kind")

	// ErrExists reports a write-once sink that already holds a different
	// checkpoint for the same size.
	ErrExists = errors.New("anchor: sink already holds a different checkpoint of this size")

	// ErrRollback reports a sink holding a checkpoint larger than any the
	// log holds: the log was truncated or rolled back.
	ErrRollback = errors.New("anchor: log is behind its write-once sink")

	// ErrForked reports a sink holding, for a size the log also holds, a
	// checkpoint that differs from the log's.
	ErrForked = errors.New("anchor: sink and log disagree on a checkpoint")
)

// ConflictError is a witness's 409 Conflict answer: Size is the tree size of
// the latest checkpoint it cosigned for the log (C2SP tlog-witness). It
// wraps [ErrWitnessConflict].
type ConflictError struct {
	// Witness names the witness.
	Witness string
	// Size is the witness's latest cosigned size.
	Size int64
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("anchor: witness %s: 409 Conflict: it has cosigned size %d", e.Witness, e.Size)
}

// Unwrap returns [ErrWitnessConflict].
func (e *ConflictError) Unwrap() error { return ErrWitnessConflict }

// RefusedError is a witness answer other than 200 and 409. Status is the
// HTTP status code: 404 unknown log origin, 403 no signature from a trusted
// log key, 422 consistency proof does not verify, 400 malformed request
// (C2SP tlog-witness). It wraps [ErrWitnessRefused].
type RefusedError struct {
	// Witness names the witness.
	Witness string
	// Status is the HTTP status code.
	Status int
	// Body is the start of the response body, for diagnostics.
	Body string
}

func (e *RefusedError) Error() string {
	msg := fmt.Sprintf("anchor: witness %s: HTTP %d", e.Witness, e.Status)
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Unwrap returns [ErrWitnessRefused].
func (e *RefusedError) Unwrap() error { return ErrWitnessRefused }
