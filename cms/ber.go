package cms

import (
	"errors"
	"fmt"
)

// maxBERDepth bounds the nesting of constructed values that berToDER
// follows. A SignedData with a timestamp token nests about 25 levels deep.
const maxBERDepth = 64

// berToDER re-encodes the first BER value of b (X.690 §8) with definite,
// minimal lengths, and with constructed OCTET STRINGs flattened into
// primitive ones, and returns it with the bytes that follow it. It leaves
// values that are already DER unchanged. It does not sort SET OF or
// otherwise canonicalize contents: signed attributes must already be DER
// (RFC 5652 §5.3), and a signature over any other encoding fails to verify.
//
// Network Security Services (used by poppler's pdfsig) writes SignedData
// with indefinite lengths, which RFC 5652 §5.1 allows outside the signed
// attributes.
func berToDER(b []byte) (der, rest []byte, err error) {
	out, n, err := berValue(b, 0)
	if err != nil {
		return nil, nil, err
	}
	return out, b[n:], nil
}

// berValue converts one value at the start of b and reports how many bytes
// of b it used.
func berValue(b []byte, depth int) ([]byte, int, error) {
	if depth > maxBERDepth {
		return nil, 0, errors.New("cms: BER: nested too deeply")
	}
	tagLen, err := berTagLen(b)
	if err != nil {
		return nil, 0, err
	}
	constructed := b[0]&0x20 != 0
	if tagLen >= len(b) {
		return nil, 0, errors.New("cms: BER: truncated length")
	}
	l := b[tagLen]
	off := tagLen + 1
	if l == 0x80 {
		if !constructed {
			return nil, 0, errors.New("cms: BER: indefinite length on a primitive value")
		}
		// Indefinite length: children until the end-of-contents octets.
		var content []byte
		var parts [][]byte
		for {
			if off+2 <= len(b) && b[off] == 0 && b[off+1] == 0 {
				off += 2
				break
			}
			if off >= len(b) {
				return nil, 0, errors.New("cms: BER: missing end-of-contents")
			}
			child, n, err := berValue(b[off:], depth+1)
			if err != nil {
				return nil, 0, err
			}
			parts = append(parts, child)
			off += n
		}
		content = concat(parts...)
		enc, err := encodeConverted(b[:tagLen], content, parts)
		return enc, off, err
	}
	length := 0
	if l < 0x80 {
		length = int(l)
	} else {
		nb := int(l & 0x7f)
		if nb > 4 || l == 0xff {
			return nil, 0, errors.New("cms: BER: length too large")
		}
		if off+nb > len(b) {
			return nil, 0, errors.New("cms: BER: truncated length")
		}
		for _, c := range b[off : off+nb] {
			length = length<<8 | int(c)
		}
		off += nb
		if length < 0 || length > len(b) {
			return nil, 0, errors.New("cms: BER: length exceeds input")
		}
	}
	if off+length > len(b) {
		return nil, 0, errors.New("cms: BER: truncated value")
	}
	body := b[off : off+length]
	end := off + length
	if !constructed {
		return appendTLV(nil, b[:tagLen], body), end, nil
	}
	var parts [][]byte
	for p := 0; p < len(body); {
		child, n, err := berValue(body[p:], depth+1)
		if err != nil {
			return nil, 0, err
		}
		parts = append(parts, child)
		p += n
	}
	enc, err := encodeConverted(b[:tagLen], concat(parts...), parts)
	return enc, end, err
}

// encodeConverted encodes converted constructed content under tag; a
// constructed universal OCTET STRING becomes a primitive one holding the
// concatenated segments (X.690 §8.7.3, §10.2).
func encodeConverted(tag, content []byte, parts [][]byte) ([]byte, error) {
	if len(tag) == 1 && tag[0] == 0x24 {
		var flat []byte
		for _, p := range parts {
			if len(p) == 0 || p[0] != 0x04 {
				return nil, errors.New("cms: BER: constructed OCTET STRING holds a non-OCTET STRING")
			}
			_, body, err := splitDER(p)
			if err != nil {
				return nil, err
			}
			flat = append(flat, body...)
		}
		return appendTLV(nil, []byte{0x04}, flat), nil
	}
	return appendTLV(nil, tag, content), nil
}

// berTagLen returns the length of the identifier octets at the start of b.
func berTagLen(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, errors.New("cms: BER: truncated tag")
	}
	if b[0]&0x1f != 0x1f {
		return 1, nil
	}
	for i := 1; i < len(b) && i <= 5; i++ {
		if b[i]&0x80 == 0 {
			return i + 1, nil
		}
	}
	return 0, errors.New("cms: BER: bad high tag number")
}

// appendTLV appends tag, a minimal definite length and content to dst.
func appendTLV(dst, tag, content []byte) []byte {
	dst = append(dst, tag...)
	n := len(content)
	switch {
	case n < 0x80:
		dst = append(dst, byte(n))
	case n < 1<<8:
		dst = append(dst, 0x81, byte(n))
	case n < 1<<16:
		dst = append(dst, 0x82, byte(n>>8), byte(n))
	case n < 1<<24:
		dst = append(dst, 0x83, byte(n>>16), byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, content...)
}

// splitDER splits a converted (definite-length) value into tag and content.
func splitDER(v []byte) (tag, content []byte, err error) {
	tl, err := berTagLen(v)
	if err != nil || tl >= len(v) {
		return nil, nil, fmt.Errorf("cms: BER: malformed segment")
	}
	l := v[tl]
	off := tl + 1
	if l >= 0x80 {
		off += int(l & 0x7f)
	}
	if off > len(v) {
		return nil, nil, fmt.Errorf("cms: BER: malformed segment")
	}
	return v[:tl], v[off:], nil
}
