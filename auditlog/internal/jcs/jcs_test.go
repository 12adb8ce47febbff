package jcs

import (
	"encoding/json"
	"math"
	"testing"
)

// TestAppendixB checks the number samples of RFC 8785 Appendix B.
func TestAppendixB(t *testing.T) {
	tests := []struct {
		bits uint64
		want string
	}{
		{0x0000000000000000, "0"},
		{0x8000000000000000, "0"},
		{0x0000000000000001, "5e-324"},
		{0x8000000000000001, "-5e-324"},
		{0x7fefffffffffffff, "1.7976931348623157e+308"},
		{0xffefffffffffffff, "-1.7976931348623157e+308"},
		{0x4340000000000000, "9007199254740992"},
		{0xc340000000000000, "-9007199254740992"},
		{0x4430000000000000, "295147905179352830000"},
		{0x44b52d02c7e14af5, "9.999999999999997e+22"},
		{0x44b52d02c7e14af6, "1e+23"},
		{0x44b52d02c7e14af7, "1.0000000000000001e+23"},
		{0x444b1ae4d6e2ef4e, "999999999999999700000"},
		{0x444b1ae4d6e2ef4f, "999999999999999900000"},
		{0x444b1ae4d6e2ef50, "1e+21"},
		{0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
		{0x3eb0c6f7a0b5ed8d, "0.000001"},
		{0x41b3de4355555553, "333333333.3333332"},
		{0x41b3de4355555554, "333333333.33333325"},
		{0x41b3de4355555555, "333333333.3333333"},
		{0x41b3de4355555556, "333333333.3333334"},
		{0x41b3de4355555557, "333333333.33333343"},
		{0xbecbf647612f3696, "-0.0000033333333333333333"},
		{0x43143ff3c1cb0959, "1424953923781206.2"},
	}
	for _, tt := range tests {
		got, err := FormatNumber(math.Float64frombits(tt.bits))
		if err != nil || got != tt.want {
			t.Errorf("FormatNumber(%016x) = %q, %v; want %q", tt.bits, got, err, tt.want)
		}
	}
	for _, bits := range []uint64{0x7fffffffffffffff, 0x7ff0000000000000, 0xfff0000000000000} {
		if s, err := FormatNumber(math.Float64frombits(bits)); err == nil {
			t.Errorf("FormatNumber(%016x) = %q, want an error", bits, s)
		}
	}
}

// TestExamples checks the worked examples of RFC 8785 Sections 3.2.2 and
// 3.2.3, and the properties canonicalization must have.
func TestExamples(t *testing.T) {
	tests := []struct{ in, want string }{
		{ // Section 3.2.2
			`{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`,
			`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
		},
		{ // Section 3.2.3: sorting by UTF-16 code units
			`{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`,
			"{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}",
		},
		{`{"b":[],"a":{"d":1,"c":{}}}`, `{"a":{"c":{},"d":1},"b":[]}`},
		{`"\u0001\b\t\f\u001f"`, `"\u0001\b\t\f\u001f"`},
		{`[1.0, -0, 100, 1e21, 1e-7]`, `[1,0,100,1e+21,1e-7]`},
	}
	for _, tt := range tests {
		got, err := Canonicalize([]byte(tt.in))
		if err != nil || string(got) != tt.want {
			t.Errorf("Canonicalize(%s) =\n%s, %v\nwant\n%s", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`{"a":1,"a":2}`, `[1,`, `{"a":1} x`, `1e400`} {
		if got, err := Canonicalize([]byte(bad)); err == nil {
			t.Errorf("Canonicalize(%s) = %s, want an error", bad, got)
		}
	}
	if _, err := Marshal("\xff"); err == nil {
		t.Errorf("Marshal of invalid UTF-8 succeeded")
	}
	if _, err := Marshal(int64(1 << 53)); err == nil {
		t.Errorf("Marshal of 2^53 succeeded")
	}
}

// FuzzCanonicalize checks that canonical output is valid JSON, means the
// same as the input, and is a fixed point.
func FuzzCanonicalize(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := Canonicalize(in)
		if err != nil {
			return
		}
		if !json.Valid(c) {
			t.Fatalf("canonical form %q is not JSON", c)
		}
		c2, err := Canonicalize(c)
		if err != nil || string(c2) != string(c) {
			t.Fatalf("not a fixed point: %q -> %q, %v", c, c2, err)
		}
	})
}
