package identity

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeEmail(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"ann@example.org", "ann@example.org", true},
		{"  Ann.Lee@Example.ORG\t", "ann.lee@example.org", true},
		{"", "", false},
		{"ann", "", false},
		{"@example.org", "", false},
		{"ann@", "", false},
		{"ann@b@example.org", "", false},
		{"ann lee@example.org", "", false},
		{"ann\x00@example.org", "", false},
		{"\xff@example.org", "", false},
		{strings.Repeat("a", MaxEmail-11) + "@example.org", "", false},
		{strings.Repeat("a", MaxEmail-12) + "@example.org", strings.Repeat("a", MaxEmail-12) + "@example.org", true},
	} {
		got, err := NormalizeEmail(c.in)
		if c.ok != (err == nil) || got != c.want || (err != nil && !errors.Is(err, ErrInvalid)) {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestCheckStep(t *testing.T) {
	if err := CheckStep(1 << 62); err != nil {
		t.Fatal(err)
	}
	if err := CheckStep(1 << 63); !errors.Is(err, ErrInvalid) {
		t.Fatalf("step 2^63: %v, want ErrInvalid", err)
	}
}
