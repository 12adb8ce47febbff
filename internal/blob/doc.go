// Package blob stores Signet's documents by content: a blob's name is the
// lowercase hex SHA-256 of its bytes (FIPS 180-4), so the same bytes are
// stored once and a name always denotes the same content.
//
// # Interface
//
// [Store] is the narrow interface the rest of Signet writes documents
// through. When contents are sealed at rest (package workflow, with a key
// ring), what it holds is ciphertext: each version of a document is a
// sealed stream of its tenant, stored whole and named by the SHA-256 of
// the ciphertext, and the workflow's content rows map the plaintext's
// SHA-256 to it. Wrappers MUST keep the contracts written on [Store].
//
// [FS] keeps blobs in a directory; package internal/blob/postgres keeps
// them in PostgreSQL, in chunk rows, for several nodes on one database,
// and internal/blob/s3 in an S3-compatible bucket. All pass the
// conformance suite internal/blob/storetest.
//
// # Filesystem layout
//
// [FS] keeps blob "abcdef…" at DIR/ab/cdef…, one directory per first byte.
// Put streams into a temporary file under DIR/tmp, fsyncs it, renames it
// into place and fsyncs the directory, so a crash never leaves a partial
// file under a final name: a reader sees the whole blob or no blob.
// A revision's small file is written the same way, but its temporary file
// and rename stay in the blob's own directory. Leftover temporary files
// from a crash are removed by [NewFS].
//
// # Revisions
//
// A signature adds an incremental update to a PDF: the signed version is
// the previous version followed by a few kilobytes. [Store.Append] stores
// it that way. [FS] writes DIR/ab/cdef….rev holding only the new bytes and
// a trailer naming the base blob, its size, the chain depth and the
// SHA-256 state after the whole content, so the next revision is hashed
// from that state without reading what came before ([Store.Digest]), and
// Open reads the chain's files as one. A signature on a 25 MB document
// thus writes and hashes kilobytes, not 25 MB per signer. A chain is at
// most 32 revisions deep; the next is stored whole. Garbage collection
// keeps the base of every blob it keeps ([FS.Base]).
package blob
