package ca

import (
	"regexp"
	"strings"
	"testing"
)

// nameRE is the rule ValidName implements, as a regular expression.
var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// TestValidName checks the CA name rule at its edges.
func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"root", true},
		{"platform", true},
		{"t-0123abc", true},
		{"0", true},
		{"a-", true},
		{strings.Repeat("a", 63), true},
		{"", false},
		{strings.Repeat("a", 64), false},
		{"-a", false},
		{"Root", false},
		{"a_b", false},
		{"a.b", false},
		{"a/b", false},
		{"a\n", false},
		{"é", false},
	} {
		if got := ValidName(tc.name); got != tc.ok {
			t.Errorf("ValidName(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

// FuzzValidName checks ValidName against the regular expression that
// states the rule.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"root", "", "-a", "a-", strings.Repeat("z", 63), strings.Repeat("z", 64), "A", "a\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := ValidName(s), nameRE.MatchString(s); got != want {
			t.Errorf("ValidName(%q) = %v, the rule says %v", s, got, want)
		}
	})
}
