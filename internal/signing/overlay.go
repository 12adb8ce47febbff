package signing

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
)

// maxSealTail bounds what the seal appends to a document (its signature,
// the validation data of every signature and the document time-stamp).
const maxSealTail = 64 << 20

// overlay is the seal's working file (a pades.File): the document,
// read from its content and never copied, followed by what the seal
// appends, kept in memory. pades.Sign first writes the document as it
// read it; overlay keeps none of those bytes but hashes them, and
// [overlay.check] compares that hash with the document's SHA-256, so the
// working file is exactly what pades wrote. Writes after the document
// are kept; a write into the document is refused. Memory is bounded by
// the tail (at most [maxSealTail]); no plaintext reaches a file.
type overlay struct {
	base io.ReaderAt
	size int64
	// pos is the position of the next Write; the bytes before size are
	// hashed into copied.
	pos    int64
	copied hash.Hash
	tail   []byte
}

func newOverlay(base io.ReaderAt, size int64) *overlay {
	return &overlay{base: base, size: size, copied: sha256.New()}
}

// Write implements io.Writer, at the end of what was written so far.
func (o *overlay) Write(p []byte) (int, error) {
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
func (o *overlay) WriteAt(p []byte, off int64) (int, error) {
	if off < o.size {
		return 0, errors.New("signing: the seal writes into the document")
	}
	end := off - o.size + int64(len(p))
	if end > maxSealTail {
		return 0, fmt.Errorf("signing: the seal appends more than %d bytes", maxSealTail)
	}
	if end > int64(len(o.tail)) {
		o.tail = append(o.tail, make([]byte, end-int64(len(o.tail)))...)
	}
	copy(o.tail[off-o.size:], p)
	return len(p), nil
}

// ReadAt implements io.ReaderAt over the document and the tail.
func (o *overlay) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("signing: negative offset")
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

// check reports whether the whole document was written first and hashes
// to sum, the document's SHA-256.
func (o *overlay) check(sum string) error {
	if o.pos < o.size {
		return fmt.Errorf("signing: the seal wrote %d of the document's %d bytes", o.pos, o.size)
	}
	if got := hex.EncodeToString(o.copied.Sum(nil)); got != sum {
		return errors.New("signing: the seal's copy of the document differs from the document")
	}
	return nil
}
