package archive

import (
	"errors"
	"fmt"
	"io"
)

// maxTail bounds what one renewal appends to a document (the validation
// data of every signature and time-stamp and a document time-stamp).
const maxTail = 64 << 20

// overlay is a renewal's working file (a pades.File): the document, read
// from its content and never copied, followed by what the renewal
// appends, kept in memory. Writes into the document are refused.
type overlay struct {
	base io.ReaderAt
	size int64
	tail []byte
}

func newOverlay(base io.ReaderAt, size int64) *overlay {
	return &overlay{base: base, size: size}
}

// WriteAt implements io.WriterAt after the document.
func (o *overlay) WriteAt(p []byte, off int64) (int, error) {
	if off < o.size {
		return 0, errors.New("archive: the renewal writes into the document")
	}
	end := off - o.size + int64(len(p))
	if end > maxTail {
		return 0, fmt.Errorf("archive: the renewal appends more than %d bytes", maxTail)
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
		return 0, errors.New("archive: negative offset")
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

// Size returns the size of the document with the tail.
func (o *overlay) Size() int64 { return o.size + int64(len(o.tail)) }
