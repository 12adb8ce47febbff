package pdf

import (
	"crypto/rand"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// A HexSlot is a fixed-capacity hexadecimal string, written as "<" followed
// by 2·Len zeros and ">". Its offset is recorded while it is written, so that
// it can be filled in place later without searching the output.
type HexSlot struct {
	// Len is the capacity in bytes.
	Len int
	// Offset is the position of the opening "<", relative to the start of the
	// update, set by [Update.Build].
	Offset int
}

// A TextSlot is a fixed-width run of spaces to be overwritten later with
// PDF syntax of at most Width bytes (e.g. a /ByteRange array).
type TextSlot struct {
	// Width is the number of bytes reserved.
	Width int
	// Offset is the slot's position relative to the start of the update, set
	// by [Update.Build].
	Offset int
}

// An Update is an incremental update to a file read by a [Reader]
// (ISO 32000-1 §7.5.6).
type Update struct {
	r    *Reader
	objs map[int]Object
	gens map[int]int
	next int
	// ForceClassic writes a classic cross-reference table even after a
	// cross-reference stream; it is meant for tests.
	ForceClassic bool
}

// NewUpdate starts an update of the file r reads.
func NewUpdate(r *Reader) *Update {
	return &Update{r: r, objs: map[int]Object{}, gens: map[int]int{}, next: r.NextObjectNumber()}
}

// Add adds a new object and returns its reference.
func (u *Update) Add(o Object) Ref {
	ref := Ref{Num: u.next}
	u.next++
	u.objs[ref.Num] = o
	return ref
}

// Reserve allocates an object number for an object set later with Set.
func (u *Update) Reserve() Ref {
	ref := Ref{Num: u.next}
	u.next++
	return ref
}

// Set writes o as the new version of the object ref.
func (u *Update) Set(ref Ref, o Object) {
	u.objs[ref.Num] = o
	u.gens[ref.Num] = ref.Gen
}

// Get returns the object ref as changed by this update, or as the file
// has it.
func (u *Update) Get(ref Ref) (Object, error) {
	if o, ok := u.objs[ref.Num]; ok {
		return o, nil
	}
	return u.r.Resolve(ref)
}

// Built is a serialized update.
type Built struct {
	// Data is the bytes to append to the original file.
	Data []byte
	// Base is the file offset at which Data starts (the original size).
	Base int64
}

// Build serializes the update: the objects, a cross-reference section in
// the style of the file's newest one, and a trailer whose /Prev points at
// the previous section. Placeholder slots inside the objects get their
// offsets recorded.
func (u *Update) Build() (*Built, error) {
	var b []byte
	last := make([]byte, 1)
	if _, err := u.r.ra.ReadAt(last, u.r.size-1); err != nil && err != io.EOF {
		return nil, err
	}
	if last[0] != '\n' && last[0] != '\r' {
		b = append(b, '\n')
	}
	nums := make([]int, 0, len(u.objs)+1)
	for n := range u.objs {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	offsets := map[int]int64{}
	base := u.r.size
	enc := &encoder{b: b}
	for _, n := range nums {
		offsets[n] = base + int64(len(enc.b))
		enc.b = fmt.Appendf(enc.b, "%d %d obj\n", n, u.gens[n])
		enc.marshal(u.objs[n])
		enc.b = append(enc.b, "\nendobj\n"...)
	}
	b = enc.b

	trailer := Dict{}
	for _, k := range []Name{"Root", "Info", "ID"} {
		if v, ok := u.r.Trailer[k]; ok {
			trailer[k] = v
		}
	}
	if _, ok := trailer["ID"]; !ok {
		id := make([]byte, 16)
		if _, err := rand.Read(id); err != nil {
			return nil, err
		}
		trailer["ID"] = Array{HexString(id), HexString(id)}
	}
	trailer["Prev"] = Integer(u.r.StartXref)

	xrefOff := base + int64(len(b))
	if u.r.Sections[0].Stream && !u.ForceClassic {
		self := u.next
		u.next++
		offsets[self] = xrefOff
		nums = append(nums, self)
		u.gens[self] = 0
		trailer["Size"] = Integer(u.next)
		trailer["Type"] = Name("XRef")
		w2 := 1
		for v := xrefOff; v > 0xff; v >>= 8 {
			w2++
		}
		trailer["W"] = Array{Integer(1), Integer(w2), Integer(2)}
		var index Array
		var data []byte
		for _, run := range runs(nums) {
			index = append(index, Integer(run[0]), Integer(run[1]))
			for n := run[0]; n < run[0]+run[1]; n++ {
				data = append(data, 1)
				for i := w2 - 1; i >= 0; i-- {
					data = append(data, byte(offsets[n]>>(8*i)))
				}
				g := u.gens[n]
				data = append(data, byte(g>>8), byte(g))
			}
		}
		trailer["Index"] = index
		enc := &encoder{b: b}
		enc.b = fmt.Appendf(enc.b, "%d 0 obj\n", self)
		enc.marshal(&Stream{Dict: trailer, Data: data})
		enc.b = append(enc.b, "\nendobj\n"...)
		b = enc.b
	} else {
		trailer["Size"] = Integer(max(u.next, u.r.NextObjectNumber()))
		b = append(b, "xref\n"...)
		for _, run := range runs(nums) {
			b = fmt.Appendf(b, "%d %d\n", run[0], run[1])
			for n := run[0]; n < run[0]+run[1]; n++ {
				b = fmt.Appendf(b, "%010d %05d n\r\n", offsets[n], u.gens[n])
			}
		}
		b = append(b, "trailer\n"...)
		b = Marshal(b, trailer)
		b = append(b, '\n')
	}
	b = append(b, "startxref\n"...)
	b = strconv.AppendInt(b, xrefOff, 10)
	b = append(b, "\n%%EOF\n"...)
	return &Built{Data: b, Base: base}, nil
}

// runs groups sorted object numbers into [start, count] runs.
func runs(nums []int) [][2]int {
	sort.Ints(nums)
	var out [][2]int
	for _, n := range nums {
		if len(out) > 0 && out[len(out)-1][0]+out[len(out)-1][1] == n {
			out[len(out)-1][1]++
			continue
		}
		out = append(out, [2]int{n, 1})
	}
	return out
}

// encoder marshals objects and records the offsets of slots.
type encoder struct{ b []byte }

func (e *encoder) marshal(o Object) {
	switch v := o.(type) {
	case *HexSlot:
		v.Offset = len(e.b)
		e.b = append(e.b, '<')
		e.b = append(e.b, strings.Repeat("0", 2*v.Len)...)
		e.b = append(e.b, '>')
	case *TextSlot:
		v.Offset = len(e.b)
		e.b = append(e.b, strings.Repeat(" ", v.Width)...)
	case Array:
		e.b = append(e.b, '[')
		for i, x := range v {
			if i > 0 {
				e.b = append(e.b, ' ')
			}
			e.marshal(x)
		}
		e.b = append(e.b, ']')
	case Dict:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, string(k))
		}
		sort.Strings(keys)
		e.b = append(e.b, "<<"...)
		for _, k := range keys {
			e.b = appendName(e.b, Name(k))
			e.b = append(e.b, ' ')
			e.marshal(v[Name(k)])
		}
		e.b = append(e.b, ">>"...)
	case nil, Null:
		e.b = append(e.b, "null"...)
	case Bool:
		if v {
			e.b = append(e.b, "true"...)
		} else {
			e.b = append(e.b, "false"...)
		}
	case Integer:
		e.b = strconv.AppendInt(e.b, int64(v), 10)
	case Real:
		e.b = append(e.b, v...)
	case String:
		e.b = appendLiteral(e.b, v)
	case HexString:
		e.b = append(e.b, '<')
		e.b = appendHex(e.b, v)
		e.b = append(e.b, '>')
	case Name:
		e.b = appendName(e.b, v)
	case Ref:
		e.b = strconv.AppendInt(e.b, int64(v.Num), 10)
		e.b = append(e.b, ' ')
		e.b = strconv.AppendInt(e.b, int64(v.Gen), 10)
		e.b = append(e.b, " R"...)
	case *Stream:
		d := v.Dict.Clone()
		d["Length"] = Integer(len(v.Data))
		e.marshal(d)
		e.b = append(e.b, "\nstream\n"...)
		e.b = append(e.b, v.Data...)
		e.b = append(e.b, "\nendstream"...)
	default:
		panic(fmt.Sprintf("pdf: cannot marshal %T", o))
	}
}
