package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// MaxJSONDepth bounds the nesting of objects and arrays that
// [UnmarshalStrict] accepts.
const MaxJSONDepth = 64

// ErrJSONTooDeep is returned by [UnmarshalStrict] for JSON nested deeper
// than [MaxJSONDepth].
var ErrJSONTooDeep = errors.New("json: nesting deeper than " + strconv.Itoa(MaxJSONDepth) + " levels")

// ErrJSONTrailingData is returned by [UnmarshalStrict] for data after the
// JSON value.
var ErrJSONTrailingData = errors.New("json: trailing data after the JSON value")

// A KeyReason says why [UnmarshalStrict] refused an object key.
type KeyReason int

// The reasons for refusing a key.
const (
	// KeyDuplicate is a key that occurs twice in one object.
	KeyDuplicate KeyReason = iota + 1
	// KeyCaseMismatch is a key that matches a field's name only when
	// letter case is ignored (encoding/json would accept it).
	KeyCaseMismatch
	// KeyUnknown is a key that matches no field.
	KeyUnknown
)

// A JSONKeyError reports an object key that [UnmarshalStrict] refuses.
type JSONKeyError struct {
	Reason KeyReason
	// Key is the key as decoded (escapes resolved).
	Key string
	// Field is the field name Key differs from only in case, for
	// [KeyCaseMismatch].
	Field string
	// Path locates the object holding the key, e.g. "recipients[1]"; ""
	// is the top level.
	Path string
}

// Error describes the refused key.
func (e *JSONKeyError) Error() string {
	where := ""
	if e.Path != "" {
		where = " in " + e.Path
	}
	switch e.Reason {
	case KeyDuplicate:
		return fmt.Sprintf("json: duplicate key %s%s", quoteKey(e.Key), where)
	case KeyCaseMismatch:
		return fmt.Sprintf("json: key %s%s matches field %q only when case is ignored; keys must match exactly", quoteKey(e.Key), where, e.Field)
	}
	return fmt.Sprintf("json: unknown field %s%s", quoteKey(e.Key), where)
}

// quoteKey quotes k for a message, cut to 64 bytes.
func quoteKey(k string) string {
	if len(k) > 64 {
		return strconv.Quote(k[:64]) + "…"
	}
	return strconv.Quote(k)
}

// UnmarshalStrict decodes data, which must hold exactly one JSON value,
// into v. Beyond json.Unmarshal with DisallowUnknownFields it refuses, with
// a [*JSONKeyError], a key that occurs twice in one object (encoding/json
// keeps the last, another reader may keep the first) and a key that is not
// exactly the JSON name of a field of the target struct (encoding/json
// matches names case-insensitively, with Unicode folding such as "ſ" for
// "s" and the Kelvin sign for "k"). It also refuses trailing data
// ([ErrJSONTrailingData]) and nesting deeper than [MaxJSONDepth]
// ([ErrJSONTooDeep]). Other failures are encoding/json's errors.
//
// Keys of maps and of values decoded by their own UnmarshalJSON are free,
// but duplicates are refused everywhere.
func UnmarshalStrict(data []byte, v any) error {
	if err := checkKeys(data, shapeOf(reflect.TypeOf(v))); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err == nil {
			return ErrJSONTrailingData
		}
		return err
	}
	return nil
}

// A shape is what a JSON value decodes into, as far as keys matter.
type shape struct {
	kind   shapeKind
	fields map[string]*shape // shapeStruct: exact JSON names
	elem   *shape            // shapeMap values, shapeArray elements
}

type shapeKind int

const (
	shapeFree   shapeKind = iota // any keys (interfaces, custom decoders, scalars)
	shapeStruct                  // the keys of fields only
	shapeMap                     // any keys, values of elem
	shapeArray                   // elements of elem
)

var freeShape = &shape{kind: shapeFree}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

var (
	shapesMu sync.RWMutex
	shapes   = map[reflect.Type]*shape{}
)

// shapeOf returns the shape of values of type t (cached; t is usually a
// pointer to the target).
func shapeOf(t reflect.Type) *shape {
	if t == nil {
		return freeShape
	}
	// Shapes are complete once the write lock is released, so a cached
	// one is read under the read lock only: decoding takes no exclusive
	// lock after a type's first request.
	shapesMu.RLock()
	sh, ok := shapes[t]
	shapesMu.RUnlock()
	if ok {
		return sh
	}
	shapesMu.Lock()
	defer shapesMu.Unlock()
	return buildShape(t)
}

// buildShape builds t's shape; shapesMu is held. A shape is cached before
// its members are built, so recursive types end.
func buildShape(t reflect.Type) *shape {
	if s, ok := shapes[t]; ok {
		return s
	}
	if t.Implements(jsonUnmarshaler) || t.Implements(textUnmarshaler) ||
		(t.Kind() != reflect.Pointer && (reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler))) {
		shapes[t] = freeShape
		return freeShape
	}
	switch t.Kind() {
	case reflect.Pointer:
		// Not cached: a recursive type ends at its struct.
		return buildShape(t.Elem())
	case reflect.Struct:
		s := &shape{kind: shapeStruct, fields: map[string]*shape{}}
		shapes[t] = s
		for name, ft := range jsonFields(t) {
			s.fields[name] = buildShape(ft)
		}
		return s
	case reflect.Map:
		s := &shape{kind: shapeMap}
		shapes[t] = s
		s.elem = buildShape(t.Elem())
		return s
	case reflect.Slice, reflect.Array:
		s := &shape{kind: shapeArray}
		shapes[t] = s
		s.elem = buildShape(t.Elem())
		return s
	}
	shapes[t] = freeShape
	return freeShape
}

// jsonFields returns the JSON names of struct t's fields and their types,
// following encoding/json: exported fields, "-" skipped, tag names, the
// fields of untagged embedded structs promoted (a shallower name wins).
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	level := []reflect.Type{t}
	seen := map[reflect.Type]bool{t: true}
	for len(level) > 0 {
		var next []reflect.Type
		here := map[string]reflect.Type{}
		for _, st := range level {
			for i := range st.NumField() {
				f := st.Field(i)
				ft := f.Type
				if f.Anonymous {
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !f.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !f.IsExported() {
					continue
				}
				tag := f.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, _, _ := strings.Cut(tag, ",")
				if !validTagName(name) {
					name = ""
				}
				if name == "" && f.Anonymous && ft.Kind() == reflect.Struct {
					if !seen[ft] {
						seen[ft] = true
						next = append(next, ft)
					}
					continue
				}
				if name == "" {
					name = f.Name
				}
				if _, ok := out[name]; ok {
					continue
				}
				if _, ok := here[name]; !ok {
					here[name] = f.Type
				}
			}
		}
		for k, v := range here {
			out[k] = v
		}
		level = next
	}
	return out
}

// validTagName is encoding/json's isValidTag.
func validTagName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// A frame is an open object or array in checkKeys.
type frame struct {
	object bool
	shape  *shape
	keys   map[string]struct{}
	// key is the object's latest key; index the array's next element.
	key   string
	index int
	// wantKey is set in an object when the next token is a key.
	wantKey bool
}

// checkKeys walks data's tokens against s, refusing duplicate, inexact and
// unknown keys and excess depth. Syntax errors are returned as they come;
// it stops after the first value.
func checkKeys(data []byte, s *shape) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*frame
	// valueShape is the shape of the next value.
	valueShape := s
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if top != nil && top.object && top.wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return nil
				}
				afterValue(stack[len(stack)-1])
				continue
			}
			key := tok.(string) // the decoder allows only strings here
			if _, dup := top.keys[key]; dup {
				return &JSONKeyError{Reason: KeyDuplicate, Key: key, Path: framePath(stack)}
			}
			top.keys[key] = struct{}{}
			top.key, top.wantKey = key, false
			switch top.shape.kind {
			case shapeStruct:
				fs, ok := top.shape.fields[key]
				if !ok {
					e := &JSONKeyError{Reason: KeyUnknown, Key: key, Path: framePath(stack)}
					for name := range top.shape.fields {
						if strings.EqualFold(name, key) {
							e.Reason, e.Field = KeyCaseMismatch, name
							break
						}
					}
					return e
				}
				valueShape = fs
			case shapeMap:
				valueShape = top.shape.elem
			default:
				valueShape = freeShape
			}
			continue
		}
		if top != nil && !top.object {
			if d, ok := tok.(json.Delim); ok && d == ']' {
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return nil
				}
				afterValue(stack[len(stack)-1])
				continue
			}
			valueShape = top.shape.elem
			if top.shape.kind != shapeArray {
				valueShape = freeShape
			}
		}
		// tok starts a value of valueShape.
		d, ok := tok.(json.Delim)
		if !ok {
			if top == nil {
				return nil
			}
			afterValue(top)
			continue
		}
		if len(stack) >= MaxJSONDepth {
			return ErrJSONTooDeep
		}
		f := &frame{object: d == '{', shape: valueShape}
		if f.object {
			f.keys, f.wantKey = map[string]struct{}{}, true
			if f.shape.kind != shapeStruct && f.shape.kind != shapeMap {
				f.shape = freeShape
			}
		} else if f.shape.kind != shapeArray {
			f.shape = freeShape
		}
		stack = append(stack, f)
	}
}

// afterValue advances f past one member value.
func afterValue(f *frame) {
	if f.object {
		f.wantKey = true
	} else {
		f.index++
	}
}

// framePath names the innermost object of stack, e.g. "items[2].meta".
func framePath(stack []*frame) string {
	var b strings.Builder
	for i, f := range stack[:len(stack)-1] {
		if f.object {
			if i > 0 {
				b.WriteByte('.')
			}
			k := f.key
			if len(k) > 64 {
				k = k[:64] + "…"
			}
			b.WriteString(strings.Map(func(r rune) rune {
				if !unicode.IsPrint(r) {
					return '?'
				}
				return r
			}, k))
		} else {
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		}
	}
	return b.String()
}
