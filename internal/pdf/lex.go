package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
)

// errShort reports that the parser ran off the end of its buffer; the reader
// retries with a larger window.
var errShort = errors.New("pdf: unexpected end of data")

// maxDepth bounds the nesting of arrays and dictionaries.
const maxDepth = 64

func isWhite(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == 0
}

func isDelimiter(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

// lexer parses PDF objects from an in-memory buffer.
type lexer struct {
	b   []byte
	pos int
	// eofOK is set when b ends at the end of the file, so that running off
	// the end is a syntax error rather than a request for more data.
	eofOK bool
}

func (l *lexer) short() error {
	if l.eofOK {
		return fmt.Errorf("pdf: unexpected end of file")
	}
	return errShort
}

func (l *lexer) skipSpace() {
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		if isWhite(c) {
			l.pos++
			continue
		}
		if c == '%' {
			for l.pos < len(l.b) && l.b[l.pos] != '\n' && l.b[l.pos] != '\r' {
				l.pos++
			}
			continue
		}
		return
	}
}

// keyword reads a run of regular characters.
func (l *lexer) keyword() []byte {
	start := l.pos
	for l.pos < len(l.b) && !isWhite(l.b[l.pos]) && !isDelimiter(l.b[l.pos]) {
		l.pos++
	}
	return l.b[start:l.pos]
}

// expect consumes the keyword kw.
func (l *lexer) expect(kw string) error {
	l.skipSpace()
	if l.pos >= len(l.b) {
		return l.short()
	}
	start := l.pos
	k := l.keyword()
	if string(k) != kw {
		if l.pos >= len(l.b) && !l.eofOK {
			return errShort
		}
		return fmt.Errorf("pdf: expected %q at offset +%d, found %q", kw, start, truncate(k))
	}
	return nil
}

func truncate(b []byte) []byte {
	if len(b) > 20 {
		return b[:20]
	}
	return b
}

// object parses one direct object. Indirect references "n g R" are
// recognised by looking ahead.
func (l *lexer) object(depth int) (Object, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("pdf: objects nested too deeply")
	}
	l.skipSpace()
	if l.pos >= len(l.b) {
		return nil, l.short()
	}
	c := l.b[l.pos]
	switch {
	case c == '/':
		l.pos++
		return l.name()
	case c == '(':
		l.pos++
		return l.literal()
	case c == '<':
		if l.pos+1 >= len(l.b) {
			return nil, l.short()
		}
		if l.b[l.pos+1] == '<' {
			l.pos += 2
			return l.dict(depth)
		}
		l.pos++
		return l.hex()
	case c == '[':
		l.pos++
		var a Array
		for {
			l.skipSpace()
			if l.pos >= len(l.b) {
				return nil, l.short()
			}
			if l.b[l.pos] == ']' {
				l.pos++
				if a == nil {
					a = Array{}
				}
				return a, nil
			}
			o, err := l.object(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, o)
		}
	case c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9'):
		return l.number()
	default:
		start := l.pos
		k := l.keyword()
		if l.pos >= len(l.b) && !l.eofOK {
			return nil, errShort
		}
		switch string(k) {
		case "true":
			return Bool(true), nil
		case "false":
			return Bool(false), nil
		case "null":
			return Null{}, nil
		}
		if len(k) == 0 {
			l.pos++
		}
		return nil, fmt.Errorf("pdf: unexpected %q at offset +%d", truncate(l.b[start:max(l.pos, start+1)]), start)
	}
}

func (l *lexer) number() (Object, error) {
	start := l.pos
	k := l.keyword()
	if l.pos >= len(l.b) && !l.eofOK {
		return nil, errShort
	}
	if i, err := strconv.ParseInt(string(k), 10, 64); err == nil {
		// Look ahead for "g R".
		save := l.pos
		if i >= 0 && i <= 1<<31 {
			l.skipSpace()
			gs := l.pos
			g := l.keyword()
			if len(g) > 0 && g[0] >= '0' && g[0] <= '9' {
				if gen, err := strconv.Atoi(string(g)); err == nil && gs > save {
					l.skipSpace()
					if l.pos < len(l.b) && l.b[l.pos] == 'R' && (l.pos+1 >= len(l.b) || isWhite(l.b[l.pos+1]) || isDelimiter(l.b[l.pos+1])) {
						l.pos++
						return Ref{Num: int(i), Gen: gen}, nil
					}
					if l.pos >= len(l.b) && !l.eofOK {
						return nil, errShort
					}
				}
			} else if l.pos >= len(l.b) && !l.eofOK {
				return nil, errShort
			}
		}
		l.pos = save
		return Integer(i), nil
	}
	if _, err := strconv.ParseFloat(string(k), 64); err == nil {
		return Real(k), nil
	}
	// Some producers write "--1" or "1.2.3"; treat malformed numbers as 0.
	if len(k) == 0 {
		l.pos = start + 1
	}
	return Integer(0), nil
}

func (l *lexer) name() (Object, error) {
	start := l.pos
	k := l.keyword()
	if l.pos >= len(l.b) && !l.eofOK {
		return nil, errShort
	}
	if bytes.IndexByte(k, '#') < 0 {
		return Name(k), nil
	}
	var n []byte
	for i := 0; i < len(k); i++ {
		if k[i] == '#' && i+2 < len(k) {
			if v, err := strconv.ParseUint(string(k[i+1:i+3]), 16, 8); err == nil {
				n = append(n, byte(v))
				i += 2
				continue
			}
		}
		n = append(n, k[i])
	}
	_ = start
	return Name(n), nil
}

func (l *lexer) literal() (Object, error) {
	var s []byte
	depth := 1
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		l.pos++
		switch c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				if s == nil {
					s = []byte{}
				}
				return String(s), nil
			}
		case '\\':
			if l.pos >= len(l.b) {
				return nil, l.short()
			}
			e := l.b[l.pos]
			l.pos++
			switch e {
			case 'n':
				c = '\n'
			case 'r':
				c = '\r'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case 'f':
				c = '\f'
			case '\r':
				if l.pos < len(l.b) && l.b[l.pos] == '\n' {
					l.pos++
				}
				continue
			case '\n':
				continue
			default:
				if e >= '0' && e <= '7' {
					v := int(e - '0')
					for k := 0; k < 2 && l.pos < len(l.b) && l.b[l.pos] >= '0' && l.b[l.pos] <= '7'; k++ {
						v = v*8 + int(l.b[l.pos]-'0')
						l.pos++
					}
					c = byte(v)
				} else {
					c = e
				}
			}
		}
		s = append(s, c)
	}
	return nil, l.short()
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func (l *lexer) hex() (Object, error) {
	s := []byte{}
	var hi byte
	half := false
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		l.pos++
		if c == '>' {
			if half {
				s = append(s, hi<<4)
			}
			return String(s), nil
		}
		if isWhite(c) {
			continue
		}
		v, ok := unhex(c)
		if !ok {
			return nil, fmt.Errorf("pdf: bad character %q in hex string", c)
		}
		if half {
			s = append(s, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	return nil, l.short()
}

func (l *lexer) dict(depth int) (Object, error) {
	d := Dict{}
	for {
		l.skipSpace()
		if l.pos+1 >= len(l.b) {
			return nil, l.short()
		}
		if l.b[l.pos] == '>' && l.b[l.pos+1] == '>' {
			l.pos += 2
			return d, nil
		}
		k, err := l.object(depth + 1)
		if err != nil {
			return nil, err
		}
		name, ok := k.(Name)
		if !ok {
			return nil, fmt.Errorf("pdf: dictionary key is %T, not a name", k)
		}
		v, err := l.object(depth + 1)
		if err != nil {
			return nil, err
		}
		if _, isNull := v.(Null); !isNull {
			d[name] = v
		}
	}
}
