// Package pdf reads the structure of PDF files (ISO 32000-1 §7) and writes
// incremental updates to them.
//
// It reads lazily: opening a file reads the trailer and cross-reference
// data only, and objects are parsed on demand from an [io.ReaderAt], so the
// cost of an operation grows with the objects it touches, not with the file.
//
// # Objects
//
// PDF objects map onto Go types: [Null], [Bool], [Integer], [Real], [String],
// [Name], [Array], [Dict], [Ref] and [*Stream].
//
// # Updates
//
// An [Update] collects new and changed objects and appends them, with a
// cross-reference section in the style of the file's last one (classic table
// or cross-reference stream), after the original bytes (§7.5.6). Earlier bytes
// are never rewritten, which keeps earlier signatures valid.
package pdf

import (
	"bytes"
	"fmt"
	"strconv"
)

// An Object is one of Null, Bool, Integer, Real, String, Name, Array, Dict,
// Ref or *Stream.
type Object any

// Null is the PDF null object.
type Null struct{}

// Bool is a PDF boolean.
type Bool bool

// Integer is a PDF integer.
type Integer int64

// Real is a PDF real number, kept in its textual form so that it is written
// back exactly as read.
type Real string

// String is a PDF string (literal or hexadecimal; the bytes are decoded).
type String []byte

// Name is a PDF name, without its leading slash and with #xx escapes decoded.
type Name string

// Array is a PDF array.
type Array []Object

// Dict is a PDF dictionary, keyed by name.
type Dict map[Name]Object

// Ref is an indirect reference to object Num, generation Gen.
type Ref struct {
	Num int
	Gen int
}

// String returns the reference in PDF syntax ("12 0 R").
func (r Ref) String() string { return fmt.Sprintf("%d %d R", r.Num, r.Gen) }

// A Stream is a stream object: its dictionary and its encoded data.
type Stream struct {
	Dict Dict
	// Data is the stream's encoded data as stored in the file.
	Data []byte
}

// Name returns d[key] if it is a name, else "".
func (d Dict) Name(key Name) Name {
	n, _ := d[key].(Name)
	return n
}

// Int returns d[key] if it is an integer.
func (d Dict) Int(key Name) (int64, bool) {
	i, ok := d[key].(Integer)
	return int64(i), ok
}

// Clone returns a shallow copy of d.
func (d Dict) Clone() Dict {
	c := make(Dict, len(d))
	for k, v := range d {
		c[k] = v
	}
	return c
}

// Marshal appends the PDF syntax of o to b. Dictionary keys are written in
// sorted order so that output is deterministic.
func Marshal(b []byte, o Object) []byte {
	e := &encoder{b: b}
	e.marshal(o)
	return e.b
}

// HexString is a string written in hexadecimal form (<…>) when marshalled.
// The parser returns every string as [String].
type HexString []byte

const hexDigits = "0123456789ABCDEF"

func appendHex(b, s []byte) []byte {
	for _, c := range s {
		b = append(b, hexDigits[c>>4], hexDigits[c&15])
	}
	return b
}

func appendLiteral(b, s []byte) []byte {
	b = append(b, '(')
	for _, c := range s {
		switch c {
		case '(', ')', '\\':
			b = append(b, '\\', c)
		case '\r':
			b = append(b, `\r`...)
		case '\n':
			b = append(b, `\n`...)
		default:
			if c < 0x20 || c > 0x7e {
				b = append(b, '\\', '0'+(c>>6), '0'+(c>>3)&7, '0'+c&7)
			} else {
				b = append(b, c)
			}
		}
	}
	return append(b, ')')
}

func appendName(b []byte, n Name) []byte {
	b = append(b, '/')
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c <= 0x20 || c >= 0x7f || c == '#' || isDelimiter(c) {
			b = append(b, '#', hexDigits[c>>4], hexDigits[c&15])
		} else {
			b = append(b, c)
		}
	}
	return b
}

// Equal reports whether two objects are structurally equal. Streams compare
// by dictionary and encoded data.
func Equal(a, b Object) bool {
	switch x := a.(type) {
	case nil, Null:
		switch b.(type) {
		case nil, Null:
			return true
		}
		return false
	case String:
		y, ok := b.(String)
		return ok && bytes.Equal(x, y)
	case Array:
		y, ok := b.(Array)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !Equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case Dict:
		y, ok := b.(Dict)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !Equal(v, w) {
				return false
			}
		}
		return true
	case *Stream:
		y, ok := b.(*Stream)
		return ok && Equal(x.Dict, y.Dict) && bytes.Equal(x.Data, y.Data)
	case Real:
		y, ok := b.(Real)
		if !ok {
			return false
		}
		fx, err1 := strconv.ParseFloat(string(x), 64)
		fy, err2 := strconv.ParseFloat(string(y), 64)
		return err1 == nil && err2 == nil && fx == fy
	default:
		return a == b
	}
}
