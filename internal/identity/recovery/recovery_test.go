package recovery

import (
	"bytes"
	"errors"
	"regexp"
	"strings"
	"testing"
)

var secret = bytes.Repeat([]byte{7}, 32)

func hasher(t testing.TB) *Hasher {
	h, err := NewHasher(secret)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestGenerate(t *testing.T) {
	h := hasher(t)
	codes, stored, err := h.Generate("user-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != Count || len(stored) != Count {
		t.Fatalf("%d codes, %d stored; want %d", len(codes), len(stored), Count)
	}
	if Bits < 50 {
		t.Fatalf("codes carry %d bits", Bits)
	}
	shape := regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`)
	seen := map[string]bool{}
	for i, c := range codes {
		if !shape.MatchString(c) || seen[c] {
			t.Errorf("code %q: bad shape or repeated", c)
		}
		seen[c] = true
		if bytes.Contains(stored[i].Hash[:], []byte(canonical(c))) || stored[i].Used {
			t.Errorf("stored form of %q holds the code or is used", c)
		}
		want, err := h.Hash("user-1", c)
		if err != nil || want != stored[i].Hash {
			t.Errorf("stored[%d] is not the hash of codes[%d]", i, i)
		}
	}
	again, _, _ := h.Generate("user-1")
	for _, c := range again {
		if seen[c] {
			t.Errorf("a second set repeats %q", c)
		}
	}
}

func TestRedeem(t *testing.T) {
	h := hasher(t)
	codes, stored, err := h.Generate("user-1")
	if err != nil {
		t.Fatal(err)
	}
	lower := strings.ToLower(codes[3])
	typed := strings.ReplaceAll(lower, "-", " ")
	for _, tc := range []struct {
		name, subject, code string
		want                int
		err                 error
	}{
		{"as shown", "user-1", codes[0], 0, nil},
		{"again", "user-1", codes[0], -1, ErrInvalidCode},
		{"typed lower case with spaces", "user-1", typed, 3, nil},
		{"another user's subject", "user-2", codes[1], -1, ErrInvalidCode},
		{"unknown", "user-1", "0000-0000-0000", -1, ErrInvalidCode},
		{"malformed", "user-1", "abc", -1, ErrInvalidCode},
		{"empty subject", "", codes[1], -1, ErrSubject},
		{"last", "user-1", codes[9], 9, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.Redeem(tc.subject, stored, tc.code)
			if got != tc.want || !errors.Is(err, tc.err) {
				t.Errorf("Redeem = %d, %v; want %d, %v", got, err, tc.want, tc.err)
			}
		})
	}
	if n := Remaining(stored); n != Count-3 {
		t.Errorf("Remaining = %d, want %d", n, Count-3)
	}
	other, _ := NewHasher(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Redeem("user-1", stored, codes[2]); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("a code under another server secret: %v", err)
	}
	if _, err := NewHasher(make([]byte, 31)); !errors.Is(err, ErrKey) {
		t.Errorf("short secret: %v", err)
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{"7KQ2-M9XD-C4TB", "7KQ2M9XDC4TB", nil},
		{"7kq2 m9xd c4tb", "7KQ2M9XDC4TB", nil},
		{"7KQ2M9XDC4TB", "7KQ2M9XDC4TB", nil},
		{"OIL0-0000-0000", "011000000000", nil},
		{"7KQ2-M9XD-C4T", "", ErrInvalidCode},
		{"7KQ2-M9XD-C4TBX", "", ErrInvalidCode},
		{"7KQ2-M9XD-C4TU", "", ErrInvalidCode},
		{"7KQ2_M9XD_C4TB", "", ErrInvalidCode},
		{"7KQ2-M9XD-C4T\u00e9", "", ErrInvalidCode},
		{strings.Repeat("-", 65), "", ErrInvalidCode},
		{"", "", ErrInvalidCode},
	} {
		got, err := Parse(tc.in)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("Parse(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// FuzzParse: Parse never panics, and what it accepts is canonical: twelve
// alphabet characters that parse to themselves.
func FuzzParse(f *testing.F) {
	f.Add("7KQ2-M9XD-C4TB")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			return
		}
		if len(c) != Groups*GroupLen || strings.Trim(c, alphabet) != "" {
			t.Fatalf("Parse(%q) = %q, not canonical", s, c)
		}
		if again, err := Parse(c); err != nil || again != c {
			t.Fatalf("Parse(%q) = %q, %v; want it unchanged", c, again, err)
		}
	})
}

// BenchmarkRedeem is one recovery-code check against a full set.
func BenchmarkRedeem(b *testing.B) {
	h := hasher(b)
	_, stored, err := h.Generate("user-1")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := h.Redeem("user-1", stored, "0000-0000-0000"); !errors.Is(err, ErrInvalidCode) {
			b.Fatal(err)
		}
	}
}
