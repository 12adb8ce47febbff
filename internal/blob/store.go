package blob

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// Errors that callers branch on.
var (
	// ErrNotFound means no blob has the given name.
	ErrNotFound = errors.New("blob: not found")
	// ErrInvalidName means a name is not 64 lowercase hex digits.
	ErrInvalidName = errors.New("blob: invalid name (want 64 lowercase hex digits of a SHA-256)")
)

// A Reader reads one stored blob. It is both a stream and random-access,
// as the PDF reader and the HTTP download need. The caller MUST Close it.
type Reader interface {
	io.ReadSeekCloser
	io.ReaderAt
}

// A Store holds blobs named by the hex SHA-256 of their content.
//
// Implementations MUST be safe for concurrent use, including concurrent
// Puts of the same content, and MUST make Put atomic: once Put returns a
// name the blob is durable and complete, and before that no reader can see
// a partial blob under that name.
type Store interface {
	// Put stores everything read from r and returns its name (lowercase
	// hex SHA-256) and size. Storing content that is already present
	// succeeds and returns the same name. If reading r fails, nothing is
	// stored and the error is returned wrapped.
	Put(ctx context.Context, r io.Reader) (name string, size int64, err error)
	// Append stores the content of blob base followed by everything read
	// from tail as a new blob and returns its name and size, as Put of
	// that content would. It is how a new revision of a document (a PDF
	// incremental update) is stored: an implementation may keep it as a
	// reference to base plus tail, in which case base stays stored as
	// long as the new blob is. An error wraps ErrNotFound if base is not
	// stored.
	Append(ctx context.Context, base string, tail io.Reader) (name string, size int64, err error)
	// Digest returns a SHA-256 hash.Hash in the state after writing the
	// blob's content, so that a caller can hash content appended to the
	// blob without reading the blob again. Each call returns a new hash.
	Digest(ctx context.Context, name string) (hash.Hash, error)
	// Open returns a reader of the blob and its size, or an error wrapping
	// ErrNotFound.
	Open(ctx context.Context, name string) (Reader, int64, error)
	// Delete removes the blob; deleting a missing blob is not an error.
	Delete(ctx context.Context, name string) error
}

// CheckName returns an error wrapping [ErrInvalidName] unless name is a
// well-formed blob name: 64 lowercase hex digits. Every Store checks the
// names it is given with it before using them.
func CheckName(name string) error {
	if len(name) != 64 {
		return fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	if _, err := hex.DecodeString(name); err != nil {
		return fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	for _, c := range name {
		if c >= 'A' && c <= 'F' {
			return fmt.Errorf("%w: %q", ErrInvalidName, name)
		}
	}
	return nil
}
