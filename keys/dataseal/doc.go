// Package dataseal is envelope encryption at rest: every value is sealed
// with AES-256-GCM under a fresh 256-bit data key, and the data key is
// wrapped by a key-encryption key ([KEK]) that key custody controls.
//
// # Associated data
//
// Every ciphertext is bound to an [AD] (tenant, object, field). Its
// canonical encoding ([AD.Encode]) is a domain-separation label, a format
// version and the three fields, each with a 4-byte big-endian length, so
// that no two distinct ADs encode alike. The encoding is both the AEAD
// associated data of the payload and the associated data given to the
// KEK, so a ciphertext copied to another tenant, object or field fails to
// open, and so does its wrapped key.
//
// # Format
//
// A sealed value ([Seal], [Open]) and a sealed stream ([NewWriter],
// [NewReader]) share one header:
//
//	magic      1 byte   0xD5
//	kind       1 byte   0x01 value, 0x02 stream (the format version)
//	verLen     1 byte   1..MaxVersionLen
//	version    verLen bytes, the KEK version that wrapped the data key
//	wrapLen    2 bytes  big-endian, 1..MaxWrappedLen
//	wrapped    wrapLen bytes, the wrapped data key
//
// A value continues with a 12-byte random nonce and the GCM ciphertext
// with its 16-byte tag (plaintext at most [MaxValueSize]).
//
// A stream continues with a 7-byte random nonce prefix and segments
// (the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár):
// every segment but the last holds exactly [SegmentSize] bytes of
// plaintext, the last 0..SegmentSize, each followed by its 16-byte tag.
// The nonce of segment i is prefix || uint32 big-endian i || last, where
// last is 1 for the final segment and 0 otherwise, so truncating,
// reordering, dropping or appending segments fails authentication. A
// stream has at most 2^32 segments. A reader hands out a segment's
// plaintext only after its tag checks, but the stream as a whole is
// authentic only once Read returned io.EOF: a caller must discard what
// it read if any Read fails. [NewReaderAt] reads a stream at random
// offsets instead: it derives the segment layout from the stream's size
// (every segment but the last is full), opens the last segment at once,
// so that a truncated or extended stream is refused before anything is
// read, and authenticates each segment a read touches before handing
// out any of its bytes. [NewSealingReader] yields the same stream as
// [NewWriter] to a consumer that reads it (a store's Put), sealing on a
// goroutine of its own a few segments ahead, and [ReaderAt.Stream] reads
// a stream's plaintext in order, opening the next segments ahead the same
// way; neither changes the format.
//
// The payload's associated data is the encoded AD preceded by the kind
// byte; it does not cover the KEK version or the wrapped key, so
// [Rewrap] replaces the header under a new KEK without touching the
// payload bytes (a wrong wrapped key yields a wrong data key, which
// fails the payload's tags).
//
// Malformed, truncated or oversized input is refused with an error
// wrapping [ErrMalformed]; a failed authentication with [ErrAuth].
package dataseal
