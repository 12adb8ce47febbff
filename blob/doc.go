// Package blob stores Signet's documents by content: a blob's name is the
// lowercase hex SHA-256 of its bytes (FIPS 180-4), so the same bytes are
// stored once and a name always denotes the same content.
//
// # Interface
//
// [Store] is the narrow interface the rest of Signet writes documents
// through. The encryption-at-rest issue wraps it: a wrapping Store
// encrypts in Put and decrypts in Open while keeping the plaintext SHA-256
// as the name, so callers (the workflow and signing packages) do not
// change. Wrappers MUST keep the contracts written on [Store].
//
// # Filesystem layout
//
// [FS] keeps blob "abcdef…" at DIR/ab/cdef…, one directory per first byte.
// Put streams into a temporary file under DIR/tmp, fsyncs it, renames it
// into place and fsyncs the directory, so a crash never leaves a partial
// file under a final name: a reader sees the whole blob or no blob.
// Leftover temporary files from a crash are removed by [NewFS].
package blob
