package pdf

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
)

// maxDecoded bounds the size of one decoded stream.
const maxDecoded = 32 << 20

// Decode returns the decoded data of a stream of the document r reads,
// charging the decoded bytes to r's budget (see [WithBudget]). It supports
// FlateDecode with PNG and TIFF predictors, which is what object and
// cross-reference streams use; other filters are reported as unsupported.
// A stream that decodes to more than 32 MiB is refused.
func (r *Reader) Decode(s *Stream) ([]byte, error) {
	return r.decode(s, maxDecoded, false)
}

// DecodePrefix returns at most the first n bytes of the decoded data of
// s, as [Reader.Decode] does, decoding (and charging) no more than it
// needs.
func (r *Reader) DecodePrefix(s *Stream, n int) ([]byte, error) {
	return r.decode(s, min(n, maxDecoded), true)
}

// decode runs the stream's filters, each stage's output limited to limit
// bytes and charged to the budget. With prefix, longer output is cut at
// limit rather than refused.
func (r *Reader) decode(s *Stream, limit int, prefix bool) ([]byte, error) {
	var filters []Name
	switch f := s.Dict["Filter"].(type) {
	case nil:
	case Name:
		filters = []Name{f}
	case Array:
		for _, e := range f {
			n, ok := e.(Name)
			if !ok {
				return nil, fmt.Errorf("pdf: bad /Filter entry")
			}
			filters = append(filters, n)
		}
	default:
		return nil, fmt.Errorf("pdf: bad /Filter")
	}
	var parms []Dict
	switch p := s.Dict["DecodeParms"].(type) {
	case Dict:
		parms = []Dict{p}
	case Array:
		for _, e := range p {
			d, _ := e.(Dict)
			parms = append(parms, d)
		}
	}
	data := s.Data
	if prefix && len(filters) == 0 && len(data) > limit {
		data = data[:limit]
	}
	for i, f := range filters {
		var p Dict
		if i < len(parms) {
			p = parms[i]
		}
		switch f {
		case "FlateDecode", "Fl":
			zr, err := zlib.NewReader(bytes.NewReader(data))
			if err != nil {
				return nil, fmt.Errorf("pdf: flate: %w", err)
			}
			// Never inflate more than the budget has left: a stream that
			// would exceed it fails here, not after it is in memory.
			room := min(int64(limit), r.remaining())
			out, err := io.ReadAll(io.LimitReader(zr, room+1))
			if err != nil && len(out) == 0 {
				return nil, fmt.Errorf("pdf: flate: %w", err)
			}
			if len(out) > limit && prefix {
				out = out[:limit]
			}
			if len(out) > limit {
				return nil, &StreamTooLargeError{Limit: int64(limit)}
			}
			// Output beyond the budget's room fails here.
			if err := r.charge(int64(len(out))); err != nil {
				return nil, err
			}
			if pred, _ := p.Int("Predictor"); pred > 1 {
				if prefix {
					out = wholeRows(out, p)
				}
				if err := r.charge(int64(len(out))); err != nil {
					return nil, err
				}
			}
			data, err = unpredict(out, p)
			if err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("pdf: unsupported filter /%s", f)
		}
	}
	return data, nil
}

// wholeRows cuts data, the start of a predicted stream, after its last
// whole PNG row, so that [unpredict] can undo the predictor on it.
func wholeRows(data []byte, p Dict) []byte {
	pred, _ := p.Int("Predictor")
	if pred < 10 {
		return data
	}
	cols, colors, bpc := int64(1), int64(1), int64(8)
	if c, ok := p.Int("Columns"); ok {
		cols = c
	}
	if c, ok := p.Int("Colors"); ok {
		colors = c
	}
	if c, ok := p.Int("BitsPerComponent"); ok {
		bpc = c
	}
	if cols < 1 || cols > 1<<20 || colors < 1 || colors > 32 || bpc < 1 || bpc > 16 {
		return data
	}
	row := int((cols*colors*bpc+7)/8) + 1
	return data[:len(data)/row*row]
}

// unpredict reverses a PNG (§7.4.4.4, predictors 10–15) or TIFF 2 predictor.
func unpredict(data []byte, p Dict) ([]byte, error) {
	pred, _ := p.Int("Predictor")
	if pred <= 1 {
		return data, nil
	}
	cols := int64(1)
	if c, ok := p.Int("Columns"); ok {
		cols = c
	}
	colors := int64(1)
	if c, ok := p.Int("Colors"); ok {
		colors = c
	}
	bpc := int64(8)
	if c, ok := p.Int("BitsPerComponent"); ok {
		bpc = c
	}
	if cols < 1 || cols > 1<<20 || colors < 1 || colors > 32 || (bpc != 1 && bpc != 2 && bpc != 4 && bpc != 8 && bpc != 16) {
		return nil, fmt.Errorf("pdf: bad predictor parameters")
	}
	bpp := int((colors*bpc + 7) / 8)
	rowLen := int((cols*colors*bpc + 7) / 8)
	if rowLen > len(data) {
		return nil, fmt.Errorf("pdf: predictor row longer than the data")
	}
	if pred == 2 {
		if bpc != 8 {
			return nil, fmt.Errorf("pdf: unsupported TIFF predictor depth")
		}
		out := append([]byte(nil), data...)
		for r := 0; r+rowLen <= len(out); r += rowLen {
			for i := bpp; i < rowLen; i++ {
				out[r+i] += out[r+i-bpp]
			}
		}
		return out, nil
	}
	if pred < 10 {
		return nil, fmt.Errorf("pdf: unsupported predictor %d", pred)
	}
	prev := make([]byte, rowLen)
	out := make([]byte, 0, len(data)/(rowLen+1)*rowLen)
	for r := 0; r < len(data); r += rowLen + 1 {
		if r+rowLen+1 > len(data) {
			return nil, fmt.Errorf("pdf: truncated predictor row")
		}
		typ := data[r]
		row := append([]byte(nil), data[r+1:r+1+rowLen]...)
		for i := range row {
			var left, up, ul byte
			if i >= bpp {
				left = row[i-bpp]
				ul = prev[i-bpp]
			}
			up = prev[i]
			switch typ {
			case 0:
			case 1:
				row[i] += left
			case 2:
				row[i] += up
			case 3:
				row[i] += byte((int(left) + int(up)) / 2)
			case 4:
				row[i] += paeth(left, up, ul)
			default:
				return nil, fmt.Errorf("pdf: bad PNG predictor row type %d", typ)
			}
		}
		out = append(out, row...)
		prev = row
	}
	return out, nil
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	if pa <= pb && pa <= pc {
		return a
	}
	if pb <= pc {
		return b
	}
	return c
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
