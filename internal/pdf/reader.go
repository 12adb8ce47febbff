package pdf

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Errors that callers branch on.
var (
	// ErrNotPDF means the input has no PDF header.
	ErrNotPDF = errors.New("pdf: not a PDF file (no %PDF- header)")
	// ErrNoStartXref means the file ends without a startxref pointer; it is
	// truncated or not a complete PDF.
	ErrNoStartXref = errors.New("pdf: no startxref near the end of the file (truncated?)")
	// ErrBrokenXref means the cross-reference data is missing or malformed.
	ErrBrokenXref = errors.New("pdf: broken cross-reference data")
	// ErrEncrypted means the document is encrypted (/Encrypt in the trailer).
	ErrEncrypted = errors.New("pdf: document is encrypted")
)

type entryKind uint8

const (
	entryFree entryKind = iota
	entryInUse
	entryCompressed
)

// xrefEntry locates one object: at an offset, or inside an object stream.
type xrefEntry struct {
	kind entryKind
	off  int64 // file offset (in use) or object stream number (compressed)
	gen  int   // generation (in use) or index within the stream (compressed)
}

// maxStream bounds the encoded size of a stream the reader loads.
const maxStream = 1 << 30

// A Section is one cross-reference section of the file: a classic table
// with its trailer, or a cross-reference stream.
type Section struct {
	// Offset is where the section starts (what startxref points to).
	Offset int64
	// Stream reports whether the section is a cross-reference stream.
	Stream bool
	// Trailer is the section's trailer dictionary (the stream dictionary for
	// a cross-reference stream).
	Trailer Dict
	// Objects lists the object numbers the section marks in use, including
	// those from a hybrid file's /XRefStm stream.
	Objects []int
	// Freed lists the object numbers the section marks free (object 0
	// excepted).
	Freed []int
}

// A Reader gives access to the objects of a PDF file.
type Reader struct {
	ra   io.ReaderAt
	size int64
	// Sections are the cross-reference sections, newest first.
	Sections []*Section
	// Trailer is the newest trailer dictionary.
	Trailer Dict
	// StartXref is the offset the file's last startxref points to.
	StartXref int64
	// Version is the version in the file header, e.g. "1.7".
	Version string

	xref   map[int]xrefEntry
	maxWin int
	// superseded holds entries of older sections that a newer section
	// replaced or freed: the objects as earlier revisions had them.
	superseded []numEntry

	budget, used int64
	exhausted    bool
	cache        *cache
	loading      map[int]bool // objects being loaded, against /Length cycles
}

type objStm struct {
	data    []byte
	first   int
	nums    []int // object numbers, from the header
	offsets []int
}

// Open reads the header, trailer and cross-reference data of the PDF held
// in ra, which is size bytes long. It does not read objects.
//
// Every Reader has a budget (see [WithBudget], default [DefaultBudget])
// for the bytes it materializes and a bounded cache (see [WithCacheSize],
// default [DefaultCacheSize]); a read beyond the budget fails with a
// [*BudgetError], which matches [ErrBudget].
func Open(ra io.ReaderAt, size int64, opts ...Option) (*Reader, error) {
	r := &Reader{ra: ra, size: size, xref: map[int]xrefEntry{}, maxWin: 64 << 20,
		budget: DefaultBudget, cache: newCache(DefaultCacheSize), loading: map[int]bool{}}
	for _, o := range opts {
		o(r)
	}
	head := make([]byte, min(size, 1024))
	if _, err := ra.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, fmt.Errorf("pdf: reading header: %w", err)
	}
	h := bytes.Index(head, []byte("%PDF-"))
	if h < 0 {
		return nil, ErrNotPDF
	}
	v := head[h+5:]
	if i := bytes.IndexAny(v, "\r\n \t%"); i >= 0 {
		v = v[:i]
	}
	r.Version = string(v)

	sx, err := r.findStartXref(size)
	if err != nil {
		return nil, err
	}
	r.StartXref = sx
	seen := map[int64]bool{}
	off := sx
	for {
		if seen[off] {
			return nil, fmt.Errorf("%w: loop in /Prev chain at offset %d", ErrBrokenXref, off)
		}
		seen[off] = true
		sec, err := r.readSection(off, seen)
		if err != nil {
			return nil, err
		}
		r.Sections = append(r.Sections, sec)
		if r.Trailer == nil {
			r.Trailer = sec.Trailer
		}
		prev, ok := sec.Trailer.Int("Prev")
		if !ok {
			break
		}
		off = prev
	}
	if _, ok := r.Trailer["Encrypt"]; ok {
		return nil, ErrEncrypted
	}
	if _, ok := r.Trailer["Root"].(Ref); !ok {
		return nil, fmt.Errorf("%w: trailer has no /Root", ErrBrokenXref)
	}
	return r, nil
}

// Size returns the length of the file in bytes.
func (r *Reader) Size() int64 { return r.size }

// findStartXref finds the offset named by the last startxref in the file.
func (r *Reader) findStartXref(size int64) (int64, error) {
	n := min(size, 2048)
	tail := make([]byte, n)
	if _, err := r.ra.ReadAt(tail, size-n); err != nil && err != io.EOF {
		return 0, fmt.Errorf("pdf: reading trailer: %w", err)
	}
	i := bytes.LastIndex(tail, []byte("startxref"))
	if i < 0 {
		return 0, ErrNoStartXref
	}
	l := &lexer{b: tail[i+len("startxref"):], eofOK: true}
	l.skipSpace()
	k := l.keyword()
	off, err := strconv.ParseInt(string(k), 10, 64)
	if err != nil || off <= 0 || off >= size {
		return 0, fmt.Errorf("%w: startxref offset %q is outside the file", ErrBrokenXref, truncate(k))
	}
	return off, nil
}

// window returns up to n bytes at off and whether they reach the end of file.
func (r *Reader) window(off int64, n int) ([]byte, bool, error) {
	if off < 0 || off >= r.size {
		return nil, false, fmt.Errorf("pdf: offset %d outside the file", off)
	}
	eof := false
	if int64(n) >= r.size-off {
		n = int(r.size - off)
		eof = true
	}
	b := make([]byte, n)
	if _, err := r.ra.ReadAt(b, off); err != nil && err != io.EOF {
		return nil, false, err
	}
	return b, eof, nil
}

// parseAt runs fn over a growing window starting at off until it stops
// asking for more data.
func (r *Reader) parseAt(off int64, fn func(l *lexer) error) error {
	for n := 4096; ; n *= 4 {
		b, eof, err := r.window(off, n)
		if err != nil {
			return err
		}
		l := &lexer{b: b, eofOK: eof}
		err = fn(l)
		if !errors.Is(err, errShort) {
			return err
		}
		if eof || n >= r.maxWin {
			return fmt.Errorf("pdf: object at offset %d is too large or unterminated", off)
		}
	}
}

func (r *Reader) readSection(off int64, seen map[int64]bool) (*Section, error) {
	sec := &Section{Offset: off}
	var classic bool
	var table []numEntry
	err := r.parseAt(off, func(l *lexer) error {
		l.skipSpace()
		classic = bytes.HasPrefix(l.b[l.pos:], []byte("xref"))
		if !classic {
			return nil
		}
		l.pos += 4
		entries, objs, freed, err := parseXrefTable(l)
		if err != nil {
			return err
		}
		t, err := l.object(0)
		if err != nil {
			return err
		}
		d, ok := t.(Dict)
		if !ok {
			return fmt.Errorf("pdf: trailer is not a dictionary")
		}
		sec.Trailer = d
		table = entries
		sec.Objects, sec.Freed = objs, freed
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w at offset %d: %w", ErrBrokenXref, off, err)
	}
	if !classic {
		return r.readXrefStream(off)
	}
	if err := r.charge(int64(len(table)) * entryCost); err != nil {
		return nil, err
	}
	// In-use entries of the table come first; in a hybrid file the
	// /XRefStm stream then supplies the objects the table leaves free for
	// older readers (§7.5.8.4); free entries come last.
	for _, e := range table {
		if e.entry.kind == entryInUse {
			r.define(e.num, e.entry)
		}
	}
	if xs, ok := sec.Trailer.Int("XRefStm"); ok {
		if seen[xs] {
			return nil, fmt.Errorf("%w: /XRefStm loop", ErrBrokenXref)
		}
		seen[xs] = true
		s, err := r.readXrefStream(xs)
		if err != nil {
			return nil, err
		}
		inStream := map[int]bool{}
		for _, n := range s.Objects {
			inStream[n] = true
		}
		sec.Objects = append(sec.Objects, s.Objects...)
		freed := sec.Freed[:0]
		for _, n := range sec.Freed {
			if !inStream[n] {
				freed = append(freed, n)
			}
		}
		sec.Freed = append(freed, s.Freed...)
	}
	for _, e := range table {
		if e.entry.kind == entryFree {
			r.define(e.num, e.entry)
		}
	}
	return sec, nil
}

// define records entry e for object num from a section read after every
// newer one: the newest definition wins, and an older in-use definition it
// hides is kept as superseded.
func (r *Reader) define(num int, e xrefEntry) {
	cur, dup := r.xref[num]
	if !dup {
		r.xref[num] = e
		return
	}
	if e.kind != entryFree && cur != e {
		r.superseded = append(r.superseded, numEntry{num, e})
	}
}

type numEntry struct {
	num   int
	entry xrefEntry
}

func parseXrefTable(l *lexer) ([]numEntry, []int, []int, error) {
	var out []numEntry
	var objs, freed []int
	for {
		l.skipSpace()
		if l.pos >= len(l.b) {
			return nil, nil, nil, l.short()
		}
		if bytes.HasPrefix(l.b[l.pos:], []byte("trailer")) {
			l.pos += len("trailer")
			return out, objs, freed, nil
		}
		start, err1 := strconv.Atoi(string(l.keyword()))
		l.skipSpace()
		count, err2 := strconv.Atoi(string(l.keyword()))
		if l.pos >= len(l.b) {
			return nil, nil, nil, l.short()
		}
		if err1 != nil || err2 != nil || start < 0 || count < 0 || count > 10_000_000 {
			return nil, nil, nil, fmt.Errorf("bad subsection header")
		}
		for i := 0; i < count; i++ {
			l.skipSpace()
			o, e1 := strconv.ParseInt(string(l.keyword()), 10, 64)
			l.skipSpace()
			g, e2 := strconv.Atoi(string(l.keyword()))
			l.skipSpace()
			t := l.keyword()
			if l.pos >= len(l.b) {
				return nil, nil, nil, l.short()
			}
			if e1 != nil || e2 != nil || len(t) != 1 || (t[0] != 'n' && t[0] != 'f') {
				return nil, nil, nil, fmt.Errorf("bad entry %d in subsection %d", i, start)
			}
			e := xrefEntry{kind: entryFree, off: o, gen: g}
			if t[0] == 'n' {
				e.kind = entryInUse
				objs = append(objs, start+i)
			} else if start+i != 0 {
				freed = append(freed, start+i)
			}
			out = append(out, numEntry{start + i, e})
		}
	}
}

func (r *Reader) readXrefStream(off int64) (*Section, error) {
	_, obj, err := r.readIndirect(off, -1)
	if err != nil {
		return nil, fmt.Errorf("%w at offset %d: %w", ErrBrokenXref, off, err)
	}
	s, ok := obj.(*Stream)
	if !ok || s.Dict.Name("Type") != "XRef" {
		return nil, fmt.Errorf("%w: no cross-reference table or stream at offset %d", ErrBrokenXref, off)
	}
	data, err := r.Decode(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBrokenXref, err)
	}
	w, ok := s.Dict["W"].(Array)
	if !ok || len(w) != 3 {
		return nil, fmt.Errorf("%w: bad /W in cross-reference stream", ErrBrokenXref)
	}
	var widths [3]int
	total := 0
	for i := range w {
		n, ok := w[i].(Integer)
		if !ok || n < 0 || n > 8 {
			return nil, fmt.Errorf("%w: bad /W in cross-reference stream", ErrBrokenXref)
		}
		widths[i] = int(n)
		total += int(n)
	}
	if total == 0 {
		return nil, fmt.Errorf("%w: bad /W in cross-reference stream", ErrBrokenXref)
	}
	size, _ := s.Dict.Int("Size")
	index := []int64{0, size}
	if ix, ok := s.Dict["Index"].(Array); ok {
		index = index[:0]
		for _, e := range ix {
			n, ok := e.(Integer)
			if !ok {
				return nil, fmt.Errorf("%w: bad /Index", ErrBrokenXref)
			}
			index = append(index, int64(n))
		}
		if len(index)%2 != 0 {
			return nil, fmt.Errorf("%w: bad /Index", ErrBrokenXref)
		}
	}
	sec := &Section{Offset: off, Stream: true, Trailer: s.Dict}
	pos := 0
	field := func(i int, def int64) int64 {
		if widths[i] == 0 {
			return def
		}
		var v int64
		for k := 0; k < widths[i]; k++ {
			v = v<<8 | int64(data[pos])
			pos++
		}
		return v
	}
	for i := 0; i < len(index); i += 2 {
		start, count := index[i], index[i+1]
		if start < 0 || count < 0 || count > 10_000_000 {
			return nil, fmt.Errorf("%w: bad /Index", ErrBrokenXref)
		}
		for j := int64(0); j < count; j++ {
			if pos+total > len(data) {
				return nil, fmt.Errorf("%w: cross-reference stream is short", ErrBrokenXref)
			}
			if err := r.charge(entryCost); err != nil {
				return nil, err
			}
			typ := field(0, 1)
			f2 := field(1, 0)
			f3 := field(2, 0)
			num := int(start + j)
			var e xrefEntry
			switch typ {
			case 0:
				e = xrefEntry{kind: entryFree}
				if num != 0 {
					sec.Freed = append(sec.Freed, num)
				}
			case 1:
				e = xrefEntry{kind: entryInUse, off: f2, gen: int(f3)}
				sec.Objects = append(sec.Objects, num)
			case 2:
				e = xrefEntry{kind: entryCompressed, off: f2, gen: int(f3)}
				sec.Objects = append(sec.Objects, num)
			default:
				continue // reserved types are ignored (§7.5.8.3)
			}
			r.define(num, e)
		}
	}
	return sec, nil
}

// readIndirect parses "num gen obj … endobj" at off. If want >= 0 the object
// number must match.
func (r *Reader) readIndirect(off int64, want int) (Ref, Object, error) {
	var ref Ref
	var obj Object
	var streamStart int64 = -1
	parsed := 0
	err := r.parseAt(off, func(l *lexer) error {
		l.skipSpace()
		n, err := strconv.Atoi(string(l.keyword()))
		l.skipSpace()
		g, err2 := strconv.Atoi(string(l.keyword()))
		if l.pos >= len(l.b) {
			return l.short()
		}
		if err != nil || err2 != nil {
			return fmt.Errorf("pdf: no object at offset %d", off)
		}
		if want >= 0 && n != want {
			return fmt.Errorf("pdf: offset %d holds object %d, not %d", off, n, want)
		}
		if err := l.expect("obj"); err != nil {
			return err
		}
		ref = Ref{n, g}
		obj, err = l.object(0)
		if err != nil {
			return err
		}
		if d, ok := obj.(Dict); ok {
			save := l.pos
			l.skipSpace()
			if l.pos+6 > len(l.b) && !l.eofOK {
				return errShort
			}
			if bytes.HasPrefix(l.b[l.pos:], []byte("stream")) {
				l.pos += 6
				if l.pos < len(l.b) && l.b[l.pos] == '\r' {
					l.pos++
				}
				if l.pos < len(l.b) && l.b[l.pos] == '\n' {
					l.pos++
				}
				streamStart = off + int64(l.pos)
				obj = &Stream{Dict: d}
			} else {
				l.pos = save
			}
		}
		parsed = l.pos
		return nil
	})
	if err != nil {
		return ref, nil, err
	}
	// Parsing is charged too: objects may overlap, and a file can make
	// many objects parse the same large region.
	if err := r.charge(int64(parsed)); err != nil {
		return ref, nil, err
	}
	if s, ok := obj.(*Stream); ok {
		length, err := r.streamLength(s.Dict, want)
		if err != nil {
			return ref, nil, err
		}
		if length < 0 || streamStart+length > r.size || length > maxStream {
			return ref, nil, fmt.Errorf("pdf: stream length of object %d is out of range", ref.Num)
		}
		if err := r.charge(length); err != nil {
			return ref, nil, err
		}
		s.Data = make([]byte, length)
		if _, err := r.ra.ReadAt(s.Data, streamStart); err != nil && err != io.EOF {
			return ref, nil, err
		}
	}
	return ref, obj, nil
}

func (r *Reader) streamLength(d Dict, self int) (int64, error) {
	switch l := d["Length"].(type) {
	case Integer:
		return int64(l), nil
	case Ref:
		if l.Num == self {
			return 0, fmt.Errorf("pdf: stream /Length refers to itself")
		}
		v, err := r.Resolve(l)
		if err != nil {
			return 0, err
		}
		if n, ok := v.(Integer); ok {
			return int64(n), nil
		}
	}
	return 0, fmt.Errorf("pdf: stream without a valid /Length")
}

// Resolve follows a reference (and returns other objects unchanged). A
// reference to a missing or free object resolves to Null, as §7.3.10 says.
func (r *Reader) Resolve(o Object) (Object, error) {
	ref, ok := o.(Ref)
	if !ok {
		return o, nil
	}
	key := cacheKey{num: ref.Num}
	if v, ok := r.cache.get(key); ok {
		return v, nil
	}
	// Guard against reference cycles through /Length.
	if r.loading[ref.Num] {
		return Null{}, nil
	}
	r.loading[ref.Num] = true
	v, err := r.load(ref.Num)
	delete(r.loading, ref.Num)
	if err != nil {
		return nil, err
	}
	r.cache.put(key, v, sizeOf(v))
	return v, nil
}

// Dict resolves o and returns it as a dictionary (the dictionary of a
// stream is returned too); a missing object yields nil without error.
func (r *Reader) Dict(o Object) (Dict, error) {
	v, err := r.Resolve(o)
	if err != nil {
		return nil, err
	}
	switch d := v.(type) {
	case Dict:
		return d, nil
	case *Stream:
		return d.Dict, nil
	case Null, nil:
		return nil, nil
	}
	return nil, fmt.Errorf("pdf: expected a dictionary, found %T", v)
}

func (r *Reader) load(num int) (Object, error) {
	e, ok := r.xref[num]
	if !ok {
		return Null{}, nil
	}
	return r.loadEntry(num, e)
}

// loadEntry parses object num where entry e says it is.
func (r *Reader) loadEntry(num int, e xrefEntry) (Object, error) {
	switch e.kind {
	case entryFree:
		return Null{}, nil
	case entryInUse:
		_, obj, err := r.readIndirect(e.off, num)
		if err != nil {
			return nil, fmt.Errorf("pdf: object %d: %w", num, err)
		}
		return obj, nil
	}
	stm, err := r.objectStream(int(e.off))
	if err != nil {
		return nil, fmt.Errorf("pdf: object %d: %w", num, err)
	}
	if e.gen < 0 || e.gen >= len(stm.offsets) {
		return nil, fmt.Errorf("pdf: object %d: index %d outside object stream %d", num, e.gen, e.off)
	}
	obj, err := r.objStmObject(stm, e.gen)
	if err != nil {
		return nil, fmt.Errorf("pdf: object %d: %w", num, err)
	}
	return obj, nil
}

// objStmObject parses the i-th object of stm, charging the bytes parsed.
func (r *Reader) objStmObject(stm *objStm, i int) (Object, error) {
	start := stm.first + stm.offsets[i]
	if start < 0 || start >= len(stm.data) {
		return nil, fmt.Errorf("offset outside object stream")
	}
	l := &lexer{b: stm.data[start:], eofOK: true}
	obj, err := l.object(0)
	if err != nil {
		return nil, err
	}
	if err := r.charge(int64(l.pos)); err != nil {
		return nil, err
	}
	return obj, nil
}

func (r *Reader) objectStream(num int) (*objStm, error) {
	key := cacheKey{objStm: true, num: num}
	if s, ok := r.cache.get(key); ok {
		return s.(*objStm), nil
	}
	e, ok := r.xref[num]
	if !ok || e.kind != entryInUse {
		return nil, fmt.Errorf("object stream %d is not in the file", num)
	}
	_, obj, err := r.readIndirect(e.off, num)
	if err != nil {
		return nil, err
	}
	s, ok := obj.(*Stream)
	if !ok || s.Dict.Name("Type") != "ObjStm" {
		return nil, fmt.Errorf("object %d is not an object stream", num)
	}
	stm, err := r.parseObjStm(num, s)
	if err != nil {
		return nil, err
	}
	r.cache.put(key, stm, int64(len(stm.data))+16*int64(len(stm.offsets))+64)
	return stm, nil
}

// parseObjStm decodes object stream num and reads its header (§7.5.7).
func (r *Reader) parseObjStm(num int, s *Stream) (*objStm, error) {
	data, err := r.Decode(s)
	if err != nil {
		return nil, err
	}
	n, _ := s.Dict.Int("N")
	first, _ := s.Dict.Int("First")
	if n < 0 || n > 1<<20 || first < 0 || first > int64(len(data)) {
		return nil, fmt.Errorf("object stream %d has bad /N or /First", num)
	}
	l := &lexer{b: data[:first], eofOK: true}
	stm := &objStm{data: data, first: int(first)}
	for i := int64(0); i < n; i++ {
		l.skipSpace()
		on, err := strconv.Atoi(string(l.keyword()))
		if err != nil {
			return nil, fmt.Errorf("object stream %d has a bad header", num)
		}
		l.skipSpace()
		o, err := strconv.Atoi(string(l.keyword()))
		if err != nil {
			return nil, fmt.Errorf("object stream %d has a bad header", num)
		}
		stm.nums = append(stm.nums, on)
		stm.offsets = append(stm.offsets, o)
	}
	return stm, nil
}

// InObjectStream reports whether object num is stored compressed in an
// object stream.
func (r *Reader) InObjectStream(num int) bool {
	e, ok := r.xref[num]
	return ok && e.kind == entryCompressed
}

// NextObjectNumber returns the trailer's /Size: the first free object number
// for new objects.
func (r *Reader) NextObjectNumber() int {
	n, _ := r.Trailer.Int("Size")
	return int(n)
}

// Catalog returns the document catalog and its reference.
func (r *Reader) Catalog() (Ref, Dict, error) {
	ref, _ := r.Trailer["Root"].(Ref)
	d, err := r.Dict(ref)
	if err != nil {
		return ref, nil, err
	}
	if d == nil {
		return ref, nil, fmt.Errorf("%w: /Root object %d is missing", ErrBrokenXref, ref.Num)
	}
	return ref, d, nil
}

// Generation returns the generation number the cross-reference data gives
// object num (0 for compressed objects).
func (r *Reader) Generation(num int) int {
	e := r.xref[num]
	if e.kind == entryInUse {
		return e.gen
	}
	return 0
}
