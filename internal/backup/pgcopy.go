package backup

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgtype"
)

// copySignature opens every COPY BINARY stream.
var copySignature = []byte("PGCOPY\n\xff\r\n\x00")

// maxValueSize bounds one value of a table's stream that a reader
// accepts (a blob chunk is far smaller).
const maxValueSize = 64 << 20

// fixedSizes are the sizes of the binary values of fixed-size types, by
// oid.
var fixedSizes = map[uint32]int{
	pgtype.Int8OID: 8, pgtype.Int4OID: 4, pgtype.Int2OID: 2, pgtype.BoolOID: 1,
	pgtype.TimestamptzOID: 8, pgtype.Float8OID: 8, pgtype.Float4OID: 4,
}

// readCopy reads a table's COPY BINARY stream from r to its end, checking
// its framing (signature, header, every row's number of fields, every
// value's length for fixed-size types) and, with row set, decoding each
// row's values (nil for NULL) and passing them to row. It returns the
// number of rows. Anything after the trailer is an error.
func readCopy(r io.Reader, cols []pgColumn, row func([]any) error) (int64, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head := make([]byte, len(copySignature)+8)
	if _, err := io.ReadFull(br, head); err != nil {
		return 0, fmt.Errorf("header: %w", unexpected(err))
	}
	if !bytes.Equal(head[:len(copySignature)], copySignature) {
		return 0, errors.New("not a COPY BINARY stream")
	}
	if flags := binary.BigEndian.Uint32(head[len(copySignature):]); flags != 0 {
		return 0, fmt.Errorf("unknown COPY flags %#x", flags)
	}
	if ext := binary.BigEndian.Uint32(head[len(copySignature)+4:]); ext != 0 {
		if ext > maxValueSize {
			return 0, errors.New("header extension too long")
		}
		if _, err := io.CopyN(io.Discard, br, int64(ext)); err != nil {
			return 0, fmt.Errorf("header: %w", unexpected(err))
		}
	}
	m := pgtype.NewMap()
	var n int64
	var b4 [4]byte
	vals := make([]any, len(cols))
	var buf []byte
	for {
		if _, err := io.ReadFull(br, b4[:2]); err != nil {
			return n, fmt.Errorf("row %d: %w", n+1, unexpected(err))
		}
		fields := int16(binary.BigEndian.Uint16(b4[:2]))
		if fields == -1 {
			break
		}
		if int(fields) != len(cols) {
			return n, fmt.Errorf("row %d has %d fields, the table %d columns", n+1, fields, len(cols))
		}
		for i, c := range cols {
			if _, err := io.ReadFull(br, b4[:]); err != nil {
				return n, fmt.Errorf("row %d: %w", n+1, unexpected(err))
			}
			size := int32(binary.BigEndian.Uint32(b4[:]))
			vals[i] = nil
			if size == -1 {
				continue
			}
			if size < 0 || size > maxValueSize {
				return n, fmt.Errorf("row %d: column %s: value of %d bytes", n+1, c.Name, size)
			}
			if want, ok := fixedSizes[c.OID]; ok && int(size) != want {
				return n, fmt.Errorf("row %d: column %s: %s value of %d bytes", n+1, c.Name, c.Type, size)
			}
			if row == nil {
				if _, err := br.Discard(int(size)); err != nil {
					return n, fmt.Errorf("row %d: %w", n+1, unexpected(err))
				}
				continue
			}
			if cap(buf) < int(size) {
				buf = make([]byte, size)
			}
			buf = buf[:size]
			if _, err := io.ReadFull(br, buf); err != nil {
				return n, fmt.Errorf("row %d: %w", n+1, unexpected(err))
			}
			t, ok := m.TypeForOID(c.OID)
			if !ok {
				return n, fmt.Errorf("column %s: unknown type oid %d", c.Name, c.OID)
			}
			v, err := t.Codec.DecodeValue(m, c.OID, pgtype.BinaryFormatCode, buf)
			if err != nil {
				return n, fmt.Errorf("row %d: column %s: %w", n+1, c.Name, err)
			}
			if bs, ok := v.([]byte); ok {
				v = bytes.Clone(bs)
			}
			vals[i] = v
		}
		n++
		if row != nil {
			if err := row(vals); err != nil {
				return n, err
			}
		}
	}
	k, err := io.Copy(io.Discard, br)
	if err != nil {
		return n, err
	}
	if k != 0 {
		return n, fmt.Errorf("%d bytes after the end of the rows", k)
	}
	return n, nil
}

// unexpected turns the end of a stream in the middle of a row into
// io.ErrUnexpectedEOF.
func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
