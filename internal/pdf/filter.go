package pdf

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
)

// maxDecoded bounds the size of a decoded stream that this package reads for
// its own use (object streams and cross-reference streams).
const maxDecoded = 32 << 20

// Decode returns the decoded data of a stream. It supports FlateDecode with
// PNG and TIFF predictors, which is what object and cross-reference streams
// use; other filters are reported as unsupported.
func Decode(s *Stream) ([]byte, error) {
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
			out, err := io.ReadAll(io.LimitReader(zr, maxDecoded+1))
			if err != nil && len(out) == 0 {
				return nil, fmt.Errorf("pdf: flate: %w", err)
			}
			if len(out) > maxDecoded {
				return nil, fmt.Errorf("pdf: decoded stream too large")
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
