// Package jcs implements the JSON Canonicalization Scheme of RFC 8785:
// object members sorted by the UTF-16 code units of their names (Section
// 3.2.3), no insignificant whitespace, minimal string escaping (Section
// 3.2.2.2) and numbers as ECMAScript Number.prototype.toString prints them
// (Section 3.2.2.3).
package jcs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Marshal returns the canonical encoding of v, which may be nil, bool,
// string, int, int64, float64, json.Number, []any, []string or
// map[string]any, nested.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := encode(&b, v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Canonicalize parses JSON text and returns its canonical form. Numbers are
// read as IEEE 754 doubles, as RFC 8785 Section 3.2.2.3 requires; duplicate
// member names are rejected (I-JSON, RFC 7493).
func Canonicalize(text []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(text))
	d.UseNumber()
	v, err := decodeValue(d)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("jcs: trailing data")
	}
	return Marshal(v)
}

func decodeValue(d *json.Decoder) (any, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, fmt.Errorf("jcs: %w", err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := map[string]any{}
			for d.More() {
				k, err := d.Token()
				if err != nil {
					return nil, fmt.Errorf("jcs: %w", err)
				}
				key := k.(string)
				if _, dup := m[key]; dup {
					return nil, fmt.Errorf("jcs: duplicate member %q", key)
				}
				v, err := decodeValue(d)
				if err != nil {
					return nil, err
				}
				m[key] = v
			}
			_, err := d.Token()
			return m, err
		case '[':
			a := []any{}
			for d.More() {
				v, err := decodeValue(d)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := d.Token()
			return a, err
		}
		return nil, fmt.Errorf("jcs: unexpected %v", t)
	default:
		return t, nil
	}
}

func encode(b *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case string:
		return encodeString(b, x)
	case int:
		return encodeInt(b, int64(x))
	case int64:
		return encodeInt(b, x)
	case float64:
		s, err := FormatNumber(x)
		if err != nil {
			return err
		}
		b.WriteString(s)
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return fmt.Errorf("jcs: number %q: %w", x, err)
		}
		s, err := FormatNumber(f)
		if err != nil {
			return err
		}
		b.WriteString(s)
	case []string:
		b.WriteByte('[')
		for i, s := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := encodeString(b, s); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := encode(b, e); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareUTF16)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := encodeString(b, k); err != nil {
				return err
			}
			b.WriteByte(':')
			if err := encode(b, x[k]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	default:
		return fmt.Errorf("jcs: unsupported type %T", v)
	}
	return nil
}

// maxSafe is 2^53, beyond which not every integer is a double.
const maxSafe = 1 << 53

func encodeInt(b *bytes.Buffer, n int64) error {
	if n >= maxSafe || n <= -maxSafe {
		return fmt.Errorf("jcs: integer %d outside the I-JSON range", n)
	}
	b.WriteString(strconv.FormatInt(n, 10))
	return nil
}

// compareUTF16 orders strings by their UTF-16 code units (RFC 8785,
// Section 3.2.3).
func compareUTF16(a, b string) int {
	if isASCII(a) && isASCII(b) {
		return strings.Compare(a, b)
	}
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// encodeString writes s with the escaping of RFC 8785 Section 3.2.2.2:
// only '"', '\\' and control characters are escaped, the usual ones by
// their short forms, the others as \u00xx in lower case.
func encodeString(b *bytes.Buffer, s string) error {
	if !utf8.ValidString(s) {
		return errors.New("jcs: string is not valid UTF-8")
	}
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b.WriteString(s[start:i])
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteString(`\u00`)
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
		}
		start = i + 1
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
	return nil
}

// FormatNumber prints f as ECMAScript's Number.prototype.toString does
// (ECMA-262 7.1.12.1, referenced by RFC 8785 Section 3.2.2.3): the
// shortest round-tripping digits, in plain notation for magnitudes in
// [1e-6, 1e21) and in exponent notation otherwise. NaN and infinities are
// errors.
func FormatNumber(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("jcs: %v is not a JSON number", f)
	}
	if f == 0 {
		return "0", nil
	}
	var sign string
	if f < 0 {
		sign, f = "-", -f
	}
	e := strconv.FormatFloat(f, 'e', -1, 64) // d[.ddd]e±xx
	i := strings.IndexByte(e, 'e')
	digits := strings.Replace(e[:i], ".", "", 1)
	exp, _ := strconv.Atoi(e[i+1:])
	k, n := len(digits), exp+1 // value = 0.digits × 10^n
	switch {
	case k <= n && n <= 21:
		return sign + digits + strings.Repeat("0", n-k), nil
	case 0 < n && n <= 21:
		return sign + digits[:n] + "." + digits[n:], nil
	case -6 < n && n <= 0:
		return sign + "0." + strings.Repeat("0", -n) + digits, nil
	}
	es := "+"
	if n-1 < 0 {
		es = "-"
	}
	m := digits[:1]
	if k > 1 {
		m += "." + digits[1:]
	}
	return sign + m + "e" + es + strconv.Itoa(abs(n-1)), nil
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
