package dataseal

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"testing"
)

var testAD = AD{Tenant: "t1", Object: "doc-1", Field: "original"}

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func seal(t *testing.T, kek KEK, ad AD, pt []byte) []byte {
	t.Helper()
	s, err := Seal(context.Background(), kek, ad, pt, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sealStream(t testing.TB, kek KEK, ad AD, pt []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(context.Background(), kek, ad, &buf, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(pt); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func openStream(kek KEK, ad AD, s []byte) ([]byte, error) {
	r, err := NewReader(context.Background(), kek, ad, bytes.NewReader(s))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

var sizes = []struct {
	name string
	n    int
}{
	{"empty", 0}, {"small", 13}, {"one segment", SegmentSize}, {"one segment plus one", SegmentSize + 1},
	{"many segments", 5*SegmentSize + 777}, {"exact multiple", 3 * SegmentSize},
}

func TestRoundTrip(t *testing.T) {
	kek := NewAESKEK("v1", key(1))
	for _, tc := range sizes {
		t.Run(tc.name, func(t *testing.T) {
			pt := randBytes(tc.n)
			got, err := Open(context.Background(), kek, testAD, seal(t, kek, testAD, pt))
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("Open: %v, equal %v", err, bytes.Equal(got, pt))
			}
			got, err = openStream(kek, testAD, sealStream(t, kek, testAD, pt))
			if err != nil || !bytes.Equal(got, pt) {
				t.Fatalf("stream: %v, equal %v", err, bytes.Equal(got, pt))
			}
		})
	}
}

func TestStreamSmallWrites(t *testing.T) {
	kek := NewAESKEK("v1", key(1))
	pt := randBytes(2*SegmentSize + 5)
	var buf bytes.Buffer
	w, err := NewWriter(context.Background(), kek, testAD, &buf, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(pt); i += 1000 {
		if _, err := w.Write(pt[i:min(i+1000, len(pt))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("write after Close accepted")
	}
	got, err := openStream(kek, testAD, buf.Bytes())
	if err != nil || !bytes.Equal(got, pt) {
		t.Fatalf("%v, equal %v", err, bytes.Equal(got, pt))
	}
	if !bytes.Equal(got, pt) || buf.Len() != len(sealStream(t, kek, testAD, pt)) {
		t.Fatal("size differs with write pattern")
	}
}

func TestWrongAD(t *testing.T) {
	kek := NewAESKEK("v1", key(1))
	pt := []byte("alice@example.com")
	v := seal(t, kek, testAD, pt)
	s := sealStream(t, kek, testAD, pt)
	for _, ad := range []AD{
		{Tenant: "t2", Object: "doc-1", Field: "original"},
		{Tenant: "t1", Object: "doc-2", Field: "original"},
		{Tenant: "t1", Object: "doc-1", Field: "signed"},
		{Tenant: "t1d", Object: "oc-1", Field: "original"}, // same concatenation
	} {
		if _, err := Open(context.Background(), kek, ad, v); !errors.Is(err, ErrAuth) {
			t.Errorf("Open under %+v: %v, want ErrAuth", ad, err)
		}
		if _, err := openStream(kek, ad, s); !errors.Is(err, ErrAuth) {
			t.Errorf("stream under %+v: %v, want ErrAuth", ad, err)
		}
	}
}

func TestADEncoding(t *testing.T) {
	a, _ := AD{"ab", "c", "d"}.Encode()
	b, _ := AD{"a", "bc", "d"}.Encode()
	if bytes.Equal(a, b) {
		t.Fatal("ambiguous encoding")
	}
	if !bytes.HasPrefix(a, []byte(adLabel+"\x01")) {
		t.Fatalf("encoding %q lacks label and version", a)
	}
	for _, bad := range []AD{{"", "o", "f"}, {"t", "", "f"}, {"t", "o", ""}, {string(make([]byte, MaxADFieldLen+1)), "o", "f"}} {
		if _, err := bad.Encode(); err == nil {
			t.Errorf("%v accepted", bad)
		}
		if _, err := Seal(context.Background(), NewAESKEK("v1", key(1)), bad, nil, rand.Reader); err == nil {
			t.Errorf("Seal with %v accepted", bad)
		}
	}
}

func TestValueTamper(t *testing.T) {
	kek := NewAESKEK("v1", key(1))
	v := seal(t, kek, testAD, []byte("a small secret value"))
	for i := range len(v) * 8 {
		c := bytes.Clone(v)
		c[i/8] ^= 1 << (i % 8)
		if _, err := Open(context.Background(), kek, testAD, c); err == nil {
			t.Fatalf("bit %d flipped accepted", i)
		}
	}
	for n := range len(v) {
		if _, err := Open(context.Background(), kek, testAD, v[:n]); err == nil {
			t.Fatalf("truncated to %d accepted", n)
		}
	}
	if _, err := Open(context.Background(), kek, testAD, append(bytes.Clone(v), 0)); !errors.Is(err, ErrAuth) {
		t.Fatalf("appended byte: %v", err)
	}
	s := sealStream(t, kek, testAD, []byte("x"))
	if _, err := Open(context.Background(), kek, testAD, s); !errors.Is(err, ErrMalformed) {
		t.Fatalf("stream opened as value: %v", err)
	}
	if _, err := NewReader(context.Background(), kek, testAD, bytes.NewReader(v)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("value read as stream: %v", err)
	}
}

// streamParts splits a stream into header+prefix and its segments.
func streamParts(t *testing.T, s []byte) (head []byte, segs [][]byte) {
	t.Helper()
	h, body, err := parse(s)
	if err != nil {
		t.Fatal(err)
	}
	hl := h.size() + prefixSize
	head, body = s[:hl], body[prefixSize:]
	for len(body) > segmentCT {
		segs = append(segs, body[:segmentCT])
		body = body[segmentCT:]
	}
	return head, append(segs, body)
}

func join(head []byte, segs ...[]byte) []byte {
	out := bytes.Clone(head)
	for _, s := range segs {
		out = append(out, s...)
	}
	return out
}

func TestStreamTamper(t *testing.T) {
	kek := NewAESKEK("v1", key(1))
	pt := randBytes(3*SegmentSize + 100)
	s := sealStream(t, kek, testAD, pt)
	head, segs := streamParts(t, s)
	if len(segs) != 4 {
		t.Fatalf("%d segments, want 4", len(segs))
	}
	other := sealStream(t, kek, testAD, pt)
	_, otherSegs := streamParts(t, other)
	full := sealStream(t, kek, testAD, pt[:2*SegmentSize])
	fullHead, fullSegs := streamParts(t, full)

	cases := map[string][]byte{
		"no segment":                 head,
		"truncated after segment 1":  join(head, segs[0]),
		"truncated after segment 2":  join(head, segs[0], segs[1]),
		"truncated after segment 3":  join(head, segs[:3]...),
		"truncated inside last":      s[:len(s)-1],
		"swapped segments":           join(head, segs[1], segs[0], segs[2], segs[3]),
		"dropped last segment":       join(head, segs[:3]...),
		"dropped middle segment":     join(head, segs[0], segs[2], segs[3]),
		"appended garbage":           append(bytes.Clone(s), 1, 2, 3),
		"appended a full segment":    join(head, append(segs[:3:3], segs[2], segs[3])...),
		"segment of another stream":  join(head, segs[0], otherSegs[1], segs[2], segs[3]),
		"full last dropped":          join(fullHead, fullSegs[0]),
		"full stream plus empty tag": append(bytes.Clone(full), make([]byte, tagSize)...),
	}
	for name, c := range cases {
		if _, err := openStream(kek, testAD, c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Truncation at every byte near each segment boundary and in the header.
	for _, end := range []int{len(head)} {
		for n := range end + 1 {
			if _, err := openStream(kek, testAD, s[:n]); err == nil {
				t.Fatalf("truncated to %d accepted", n)
			}
		}
	}
	for k := 1; k <= len(segs); k++ {
		b := len(head) + k*segmentCT
		for n := b - tagSize - 1; n <= b+1 && n < len(s); n++ {
			if _, err := openStream(kek, testAD, s[:n]); err == nil {
				t.Fatalf("truncated to %d (boundary %d) accepted", n, k)
			}
		}
	}
}

// TestSmallStreamEveryBit flips every bit of a one-segment stream.
func TestSmallStreamEveryBit(t *testing.T) {
	kek := NewAESKEK("v1", key(1))
	s := sealStream(t, kek, testAD, []byte("a short document"))
	for i := range len(s) * 8 {
		c := bytes.Clone(s)
		c[i/8] ^= 1 << (i % 8)
		if _, err := openStream(kek, testAD, c); err == nil {
			t.Fatalf("bit %d flipped accepted", i)
		}
	}
}

// TestStreamBitFlips flips every bit of the header and of bytes spread
// over a multi-segment stream, segment boundaries included.
func TestStreamBitFlips(t *testing.T) {
	kek := NewAESKEK("v1", key(1))
	s := sealStream(t, kek, testAD, randBytes(2*SegmentSize+10))
	// Every bit of the header, and bits spread over the segments.
	positions := []int{}
	head, _ := streamParts(t, s)
	for i := range len(head) {
		positions = append(positions, i)
	}
	for i := len(head); i < len(s); i += 997 {
		positions = append(positions, i)
	}
	positions = append(positions, len(s)-1, len(head)+segmentCT-1, len(head)+segmentCT)
	for _, p := range positions {
		for bit := range 8 {
			c := bytes.Clone(s)
			c[p] ^= 1 << bit
			if _, err := openStream(kek, testAD, c); err == nil {
				t.Fatalf("bit %d of byte %d flipped accepted", bit, p)
			}
		}
	}
}

func TestRewrap(t *testing.T) {
	old := NewAESKEK("v1", key(1))
	nw := NewAESKEK("v2", key(2))
	pt := []byte("the recipient's phone number")
	for _, stream := range []bool{false, true} {
		var v []byte
		if stream {
			v = sealStream(t, old, testAD, randBytes(SegmentSize+3))
		} else {
			v = seal(t, old, testAD, pt)
		}
		r, err := Rewrap(context.Background(), old, nw, testAD, v)
		if err != nil {
			t.Fatal(err)
		}
		h0, b0, _ := parse(v)
		h1, b1, err := parse(r)
		if err != nil || !bytes.Equal(b0, b1) {
			t.Fatalf("payload bytes changed (%v)", err)
		}
		if h1.version != "v2" || h0.version != "v1" || bytes.Equal(h0.wrapped, h1.wrapped) {
			t.Fatalf("header not rewrapped: %q %q", h0.version, h1.version)
		}
		open := func(k KEK, s []byte) ([]byte, error) {
			if stream {
				return openStream(k, testAD, s)
			}
			return Open(context.Background(), k, testAD, s)
		}
		if _, err := open(nw, r); err != nil {
			t.Fatalf("new KEK: %v", err)
		}
		if _, err := open(old, r); !errors.Is(err, ErrUnknownVersion) {
			t.Fatalf("old KEK opened rewrapped value: %v", err)
		}
		if _, err := open(NewAESKEK("v2", key(3)), r); !errors.Is(err, ErrAuth) {
			t.Fatalf("wrong v2 key: %v", err)
		}
		if _, err := Rewrap(context.Background(), old, nw, AD{"t2", "doc-1", "original"}, v); !errors.Is(err, ErrAuth) {
			t.Fatalf("rewrap under another AD: %v", err)
		}
	}
}

func TestKEKSet(t *testing.T) {
	v1, v2 := NewAESKEK("v1", key(1)), NewAESKEK("v2", key(2))
	old, err := NewKEKSet("v1", map[string]KEK{"v1": v1})
	if err != nil {
		t.Fatal(err)
	}
	a := seal(t, old, testAD, []byte("a"))
	set, err := NewKEKSet("v2", map[string]KEK{"v1": v1, "v2": v2})
	if err != nil {
		t.Fatal(err)
	}
	b := seal(t, set, testAD, []byte("b"))
	if h, _, _ := parse(b); h.version != "v2" || set.Current() != "v2" {
		t.Fatalf("set wrapped with %q", h.version)
	}
	for _, c := range []struct {
		v    []byte
		want string
	}{{a, "a"}, {b, "b"}} {
		got, err := Open(context.Background(), set, testAD, c.v)
		if err != nil || string(got) != c.want {
			t.Fatalf("set open: %q %v", got, err)
		}
	}
	if _, err := Open(context.Background(), old, testAD, b); !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("v1-only set opened v2: %v", err)
	}
	if _, err := NewKEKSet("v3", map[string]KEK{"v1": v1}); !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("current outside set: %v", err)
	}
	lying, _ := NewKEKSet("v9", map[string]KEK{"v9": v1})
	if _, err := Seal(context.Background(), lying, testAD, nil, rand.Reader); err == nil {
		t.Fatal("KEK registered under another version accepted")
	}
}

func TestAESKEKInvalid(t *testing.T) {
	for _, k := range []KEK{NewAESKEK("v1", key(1)[:16]), NewAESKEK("", key(1)), NewAESKEK(string(make([]byte, MaxVersionLen+1)), key(1))} {
		if _, err := Seal(context.Background(), k, testAD, []byte("x"), rand.Reader); err == nil {
			t.Error("invalid KEK sealed")
		}
	}
}

func TestBounds(t *testing.T) {
	kek := NewAESKEK("v1", key(1))
	if _, err := Seal(context.Background(), kek, testAD, make([]byte, MaxValueSize+1), rand.Reader); err == nil {
		t.Fatal("oversized value sealed")
	}
	// Hand-made headers with out-of-range lengths.
	for name, b := range map[string][]byte{
		"empty":           {},
		"bad magic":       {0x00, kindValue, 2, 'v', '1', 0, 1, 0},
		"unknown kind":    {magic, 9, 2, 'v', '1', 0, 1, 0},
		"zero version":    {magic, kindValue, 0, 0, 1, 0},
		"long version":    append([]byte{magic, kindValue, MaxVersionLen + 1}, make([]byte, 80)...),
		"zero wrapped":    {magic, kindValue, 2, 'v', '1', 0, 0},
		"huge wrapped":    {magic, kindValue, 2, 'v', '1', 0xff, 0xff, 0},
		"short wrapped":   {magic, kindValue, 2, 'v', '1', 0, 9, 0},
		"no nonce":        {magic, kindValue, 2, 'v', '1', 0, 1, 0},
		"stream no prefx": {magic, kindStream, 2, 'v', '1', 0, 1, 0, 1, 2},
	} {
		if _, err := Open(context.Background(), kek, testAD, b); !errors.Is(err, ErrMalformed) {
			t.Errorf("Open %s: %v, want ErrMalformed", name, err)
		}
		if _, err := openStream(kek, testAD, b); !errors.Is(err, ErrMalformed) {
			t.Errorf("stream %s: %v, want ErrMalformed", name, err)
		}
	}
}

// failWriter fails after n bytes.
type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		return 0, errors.New("disk full")
	}
	f.n -= len(p)
	return len(p), nil
}

func TestWriterError(t *testing.T) {
	kek := NewAESKEK("v1", key(1))
	w, err := NewWriter(context.Background(), kek, testAD, &failWriter{n: 200}, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, werr := w.Write(make([]byte, 3*SegmentSize))
	if werr == nil {
		t.Fatal("write error lost")
	}
	if err := w.Close(); err == nil {
		t.Fatal("Close after failed write succeeded")
	}
}

func TestCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Seal(ctx, NewAESKEK("v1", key(1)), testAD, nil, rand.Reader); !errors.Is(err, context.Canceled) {
		t.Fatalf("%v", err)
	}
}
