package pades

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// MaxOverlayTail bounds what an [Overlay] keeps: what one signature,
// seal or archive renewal appends to a document (its signature, the
// validation data of every signature and the document time-stamp).
const MaxOverlayTail = 64 << 20

// An Overlay is the working [File] of a signature or renewal of a
// document held elsewhere (a sealed content, read at random): the
// document, read from base and never copied, followed by what is
// appended, kept in memory. [Sign] first writes the document as it read
// it; an Overlay keeps none of those bytes but hashes them, and
// [Overlay.Check] compares that hash with the document's SHA-256, so the
// working file is exactly what was written. Writes after the document
// are kept; a write into the document is refused. Memory is bounded by
// the tail (at most [MaxOverlayTail]); no byte of the document reaches a
// file.
type Overlay struct {
	base io.ReaderAt
	size int64
	// pos is the position of the next Write; the bytes before size are
	// hashed into copied.
	pos    int64
	copied hash.Hash
	tail   []byte
}

// NewOverlay returns the working file of the document of size bytes in
// base.
func NewOverlay(base io.ReaderAt, size int64) *Overlay {
	return &Overlay{base: base, size: size, copied: sha256.New()}
}

// Write implements io.Writer, at the end of what was written so far.
func (o *Overlay) Write(p []byte) (int, error) {
	n := 0
	if o.pos < o.size {
		k := int(min(int64(len(p)), o.size-o.pos))
		o.copied.Write(p[:k])
		o.pos += int64(k)
		n, p = k, p[k:]
	}
	if len(p) == 0 {
		return n, nil
	}
	m, err := o.WriteAt(p, o.pos)
	o.pos += int64(m)
	return n + m, err
}

// WriteAt implements io.WriterAt after the document.
func (o *Overlay) WriteAt(p []byte, off int64) (int, error) {
	if off < o.size {
		return 0, errors.New("pades: a write into the document")
	}
	end := off - o.size + int64(len(p))
	if end > MaxOverlayTail {
		return 0, fmt.Errorf("pades: more than %d bytes appended to the document", MaxOverlayTail)
	}
	if end > int64(len(o.tail)) {
		o.tail = append(o.tail, make([]byte, end-int64(len(o.tail)))...)
	}
	copy(o.tail[off-o.size:], p)
	return len(p), nil
}

// ReadAt implements io.ReaderAt over the document and the tail.
func (o *Overlay) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("pades: negative offset")
	}
	n := 0
	if off < o.size {
		k := int(min(int64(len(p)), o.size-off))
		m, err := o.base.ReadAt(p[:k], off)
		n += m
		if m < k {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
	}
	if n < len(p) {
		t := off + int64(n) - o.size
		if t < int64(len(o.tail)) {
			n += copy(p[n:], o.tail[t:])
		}
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Check reports whether the whole document was written first (as [Sign]
// does) and hashes to sum, the document's hex SHA-256.
func (o *Overlay) Check(sum string) error {
	if o.pos < o.size {
		return fmt.Errorf("pades: %d of the document's %d bytes were written", o.pos, o.size)
	}
	if got := hex.EncodeToString(o.copied.Sum(nil)); got != sum {
		return errors.New("pades: the copy of the document written differs from the document")
	}
	return nil
}

// Tail returns what was appended after the document.
func (o *Overlay) Tail() []byte { return o.tail }

// Size returns the size of the document with what was appended.
func (o *Overlay) Size() int64 { return o.size + int64(len(o.tail)) }
