package password

import (
	_ "embed"
	"errors"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Length limits, in Unicode code points after NFKC normalization (NIST SP
// 800-63B counts each code point as one character).
const (
	MinLength             = 8   // with a second factor
	MinLengthSingleFactor = 15  // when the password is the only factor
	MaxLength             = 128 // NIST asks for at least 64
	// minContextWord is the shortest context word looked for: shorter
	// fragments of a name or address would refuse too much.
	minContextWord = 4
)

// Policy refusals. Each names one NIST SP 800-63B check; none is a
// composition rule.
var (
	ErrTooShort = errors.New("password: too short")
	ErrTooLong  = errors.New("password: too long")
	// ErrCharacters reports invalid UTF-8 or control characters.
	ErrCharacters = errors.New("password: invalid characters")
	// ErrCommon reports a password from the list of common passwords, or
	// one that is such a password with digits or symbols around it.
	ErrCommon = errors.New("password: too common")
	// ErrContext reports a password that, without the context's words
	// (the user's e-mail address or name, the service's name), is shorter
	// than the minimum length.
	ErrContext = errors.New("password: built on the user's or service's name")
)

// serviceWords are the service's own context words, part of every check.
var serviceWords = []string{"signet"}

// Policy is the set of checks a new password must pass.
type Policy struct {
	// SingleFactor raises the minimum length to MinLengthSingleFactor.
	SingleFactor bool
	// Context holds words the password must not be built on: the user's
	// e-mail address (split into its local part and domain labels by
	// Check) and name. serviceWords are always added.
	Context []string
}

// Check returns nil if password is acceptable as a new password, or the
// first refusal: ErrCharacters, ErrTooShort, ErrTooLong, ErrCommon,
// ErrContext (or ErrInputTooLong for input beyond MaxInputBytes).
func (p Policy) Check(password string) error {
	if !utf8.ValidString(password) {
		return ErrCharacters
	}
	pw, err := Normalize(password)
	if err != nil {
		return err
	}
	for _, r := range pw {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return ErrCharacters
		}
	}
	min := MinLength
	if p.SingleFactor {
		min = MinLengthSingleFactor
	}
	n := utf8.RuneCountInString(pw)
	if n < min {
		return ErrTooShort
	}
	if n > MaxLength {
		return ErrTooLong
	}
	lower := strings.ToLower(pw)
	if IsCommon(lower) || IsCommon(strings.TrimFunc(lower, notLetter)) {
		return ErrCommon
	}
	rest := lower
	for _, w := range contextWords(p.Context) {
		rest = strings.ReplaceAll(rest, w, "")
	}
	if rest != lower && utf8.RuneCountInString(rest) < min {
		return ErrContext
	}
	return nil
}

func notLetter(r rune) bool { return !unicode.IsLetter(r) }

// contextWords returns the lower-case words of ctx and serviceWords, an
// e-mail address also split at '@' and '.', each at least minContextWord
// code points long, longest first (so that a name is removed before a
// part of it).
func contextWords(ctx []string) []string {
	var out []string
	add := func(w string) {
		w = strings.ToLower(strings.TrimSpace(w))
		if utf8.RuneCountInString(w) >= minContextWord {
			out = append(out, w)
		}
	}
	for _, c := range append(append([]string(nil), serviceWords...), ctx...) {
		c = normWord(c)
		add(c)
		for _, f := range strings.FieldsFunc(c, func(r rune) bool {
			return r == '@' || r == '.' || r == '+' || r == '-' || r == '_' || unicode.IsSpace(r)
		}) {
			add(f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) > len(out[j]) })
	return out
}

// normWord normalizes a context word like a password; an over-long word is
// cut to its first MaxInputBytes bytes rather than refused.
func normWord(s string) string {
	if len(s) > MaxInputBytes {
		s = s[:MaxInputBytes]
	}
	n, _ := Normalize(s)
	return n
}

// The bundled list: common-passwords.txt holds 49,233 lower-case common
// passwords, sorted, one per line (source and licence in
// common-passwords.LICENSE and docs/DECISIONS.md).
//
//go:embed common-passwords.txt
var commonFile string

var (
	commonOnce sync.Once
	common     []string
)

func commonList() []string {
	commonOnce.Do(func() {
		common = strings.Split(strings.TrimSuffix(commonFile, "\n"), "\n")
	})
	return common
}

// IsCommon reports whether s, lower-cased, is on the bundled list of
// common passwords.
func IsCommon(s string) bool {
	if s == "" {
		return false
	}
	s = strings.ToLower(s)
	l := commonList()
	i := sort.SearchStrings(l, s)
	return i < len(l) && l[i] == s
}
