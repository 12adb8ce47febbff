package pdf

import (
	"errors"
	"fmt"
)

// Default limits of a [Reader]; see [WithBudget] and [WithCacheSize].
const (
	// DefaultBudget is the default total of bytes a Reader may
	// materialize for one document: 256 MiB.
	DefaultBudget int64 = 256 << 20
	// DefaultCacheSize is the default bound of the bytes a Reader keeps
	// cached: 32 MiB.
	DefaultCacheSize int64 = 32 << 20
)

// entryCost is what one cross-reference entry is charged against the
// budget: about what it costs in the reader's maps and lists.
const entryCost = 48

// ErrBudget is matched (with errors.Is) by every [*BudgetError].
var ErrBudget = errors.New("pdf: the document exceeds its decoding budget")

// A BudgetError means that reading the document needed more than the
// Reader's budget: more bytes decompressed, read as stream data, parsed or
// held as cross-reference entries than [WithBudget] allows. Once a Reader has
// returned one, every later read that needs budget fails with it too.
type BudgetError struct {
	// Limit is the budget in bytes.
	Limit int64
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("pdf: the document needs more than its budget of %d bytes to read (decompressed streams, stream data, parsed objects and cross-reference entries)", e.Limit)
}

// Is reports whether target is [ErrBudget].
func (e *BudgetError) Is(target error) bool { return target == ErrBudget }

// A StreamTooLargeError means one stream decodes to more than the limit
// of a single stream (32 MiB), whatever the document's budget has left.
type StreamTooLargeError struct {
	// Limit is the per-stream limit in bytes.
	Limit int64
}

func (e *StreamTooLargeError) Error() string {
	return fmt.Sprintf("pdf: a stream decodes to more than %d bytes, the limit for one stream", e.Limit)
}

// An Option sets a limit of a [Reader].
type Option func(*Reader)

// WithBudget sets the total of bytes the Reader may materialize for the
// document over its whole life: the decoded output of every stream it
// decodes (object streams, cross-reference streams, and [Reader.Decode]),
// the encoded data of every stream object it loads, the syntax of every
// object it parses, and a fixed cost per cross-reference entry. Data read
// again after it left the cache is charged again. n <= 0 keeps
// [DefaultBudget].
func WithBudget(n int64) Option {
	return func(r *Reader) {
		if n > 0 {
			r.budget = n
		}
	}
}

// WithCacheSize bounds the bytes of parsed objects and decoded object
// streams the Reader keeps for reuse; the least recently used go first,
// and a single item larger than the bound is not kept. n <= 0 keeps
// [DefaultCacheSize].
func WithCacheSize(n int64) Option {
	return func(r *Reader) {
		if n > 0 {
			r.cache.max = n
		}
	}
}

// Budget returns the Reader's budget in bytes.
func (r *Reader) Budget() int64 { return r.budget }

// Used returns the bytes charged against the budget so far.
func (r *Reader) Used() int64 { return r.used }

// remaining returns how much of the budget is left.
func (r *Reader) remaining() int64 {
	if r.exhausted {
		return 0
	}
	return r.budget - r.used
}

// charge takes n bytes from the budget, or fails with a [*BudgetError]
// and marks the budget exhausted.
func (r *Reader) charge(n int64) error {
	if r.exhausted || n > r.budget-r.used {
		r.exhausted = true
		return &BudgetError{Limit: r.budget}
	}
	r.used += n
	return nil
}
