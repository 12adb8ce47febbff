package password

import (
	"crypto/sha256"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/argon2"
)

// cheap keeps the tests fast; Default is exercised where it matters.
var cheap = Params{Memory: MinMemory, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	enc, err := Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q does not carry the default parameters", enc)
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{
		{"correct horse battery staple", true},
		{"correct horse battery stapl", false},
		{"Correct horse battery staple", false},
		{"", false},
	} {
		ok, err := Verify(tc.pw, enc)
		if err != nil || ok != tc.want {
			t.Errorf("Verify(%q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
		}
	}
	again, err := Hash("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if again == enc {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
}

// TestKnownAnswer checks the encoding against argon2id computed directly,
// so that a stored hash stays readable by any PHC implementation.
func TestKnownAnswer(t *testing.T) {
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("password1234"), salt, 1, MinMemory, 1, 32)
	enc := Hashed{Params: cheap, Salt: salt, Key: key}.String()
	want := "$argon2id$v=19$m=8192,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$"
	if !strings.HasPrefix(enc, want) {
		t.Fatalf("encoded %q, want prefix %q", enc, want)
	}
	ok, err := Verify("password1234", enc)
	if err != nil || !ok {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
}

// TestNormalization: composed and decomposed forms, and full-width digits,
// are one password.
func TestNormalization(t *testing.T) {
	enc, err := HashParams("caf\u00e9-\uff11\uff12\uff13-tresor", cheap)
	if err != nil {
		t.Fatal(err)
	}
	for _, pw := range []string{"cafe\u0301-123-tresor", "caf\u00e9-123-tresor"} {
		if ok, err := Verify(pw, enc); err != nil || !ok {
			t.Errorf("Verify(%q) = %v, %v; want a match after NFKC", pw, ok, err)
		}
	}
	if ok, _ := Verify("cafe-123-tresor", enc); ok {
		t.Error("an unaccented variant matched")
	}
}

func TestNeedsRehash(t *testing.T) {
	old, err := HashParams("a long enough password", cheap)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p    Params
		want bool
	}{
		{cheap, false},
		{Default, true},
		{Params{Memory: MinMemory, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}, true},
		{Params{Memory: MinMemory, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 64}, true},
	} {
		got, err := NeedsRehash(old, tc.p)
		if err != nil || got != tc.want {
			t.Errorf("NeedsRehash(%+v) = %v, %v; want %v", tc.p, got, err, tc.want)
		}
	}
	if _, err := NeedsRehash("$argon2i$v=19$m=8192,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZg", Default); !errors.Is(err, ErrMalformed) {
		t.Errorf("NeedsRehash of an argon2i hash: %v, want ErrMalformed", err)
	}
}

func TestParse(t *testing.T) {
	const salt = "MDEyMzQ1Njc4OWFiY2RlZg"                     // 16 bytes
	const key = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY" // 32 bytes
	for _, tc := range []struct {
		name, in string
		err      error
	}{
		{"valid", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key, nil},
		{"argon2i", "$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key, ErrMalformed},
		{"old version", "$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key, ErrMalformed},
		{"no version", "$argon2id$m=19456,t=2,p=1$" + salt + "$" + key, ErrMalformed},
		{"order", "$argon2id$v=19$t=2,m=19456,p=1$" + salt + "$" + key, ErrMalformed},
		{"extra param", "$argon2id$v=19$m=19456,t=2,p=1,keyid=1$" + salt + "$" + key, ErrMalformed},
		{"leading zero", "$argon2id$v=19$m=019456,t=2,p=1$" + salt + "$" + key, ErrMalformed},
		{"sign", "$argon2id$v=19$m=+19456,t=2,p=1$" + salt + "$" + key, ErrMalformed},
		{"huge memory", "$argon2id$v=19$m=4194304,t=2,p=1$" + salt + "$" + key, ErrParams},
		{"overflow", "$argon2id$v=19$m=99999999999999999999,t=2,p=1$" + salt + "$" + key, ErrMalformed},
		{"huge time", "$argon2id$v=19$m=19456,t=1000,p=1$" + salt + "$" + key, ErrParams},
		{"zero time", "$argon2id$v=19$m=19456,t=0,p=1$" + salt + "$" + key, ErrParams},
		{"huge parallelism", "$argon2id$v=19$m=19456,t=2,p=255$" + salt + "$" + key, ErrParams},
		{"tiny memory", "$argon2id$v=19$m=64,t=2,p=1$" + salt + "$" + key, ErrParams},
		{"padded salt", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "==$" + key, ErrMalformed},
		{"url base64", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + strings.ReplaceAll(key, "j", "_"), ErrMalformed},
		{"short salt", "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc$" + key, ErrParams},
		{"short hash", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$MDEyMzQ1Njc", ErrParams},
		{"newline in base64", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key[:20] + "\r\n" + key[20:], ErrMalformed},
		{"trailing", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + key + "$", ErrMalformed},
		{"too long", "$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$" + strings.Repeat("A", 300), ErrMalformed},
		{"empty", "", ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := Parse(tc.in)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Parse = %v, want %v", err, tc.err)
			}
			if err == nil && h.String() != tc.in {
				t.Errorf("String() = %q, want %q", h.String(), tc.in)
			}
			if err != nil {
				if ok, verr := Verify("password", tc.in); ok || verr == nil {
					t.Errorf("Verify against a refused hash = %v, %v", ok, verr)
				}
			}
		})
	}
}

func TestHashParamsRefusesBounds(t *testing.T) {
	for _, p := range []Params{
		{Memory: MaxMemory + 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: MinMemory, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: MinMemory, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32},
		{Memory: MinMemory, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 32},
		{Memory: MinMemory, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
	} {
		if _, err := HashParams("a long enough password", p); !errors.Is(err, ErrParams) {
			t.Errorf("HashParams(%+v) = %v, want ErrParams", p, err)
		}
	}
	if _, err := HashParams(strings.Repeat("a", MaxInputBytes+1), cheap); !errors.Is(err, ErrInputTooLong) {
		t.Errorf("HashParams of an over-long input: %v", err)
	}
	enc, _ := HashParams("x", cheap)
	if ok, err := Verify(strings.Repeat("a", MaxInputBytes+1), enc); ok || !errors.Is(err, ErrInputTooLong) {
		t.Errorf("Verify of an over-long input = %v, %v", ok, err)
	}
}

func TestPolicy(t *testing.T) {
	ctx := []string{"ada.zorvanek@example.org", "Ada Zorvanek"}
	for _, tc := range []struct {
		name   string
		pw     string
		single bool
		err    error
	}{
		{"ok", "tangerine submarine orbit", false, nil},
		{"ok unicode", "日本語のパスワードです", false, nil},
		{"ok no composition", "zqjvbnwpxrtk", false, nil},
		{"ok 64 chars", strings.Repeat("abcdefgh", 8), false, nil},
		{"ok 128 chars", strings.Repeat("qwfpgjlu", 16), false, nil},
		{"7 chars", "zqjvbnw", false, ErrTooShort},
		{"single factor 14", "zqjvbnwpxrtkmh", true, ErrTooShort},
		{"single factor 15", "zqjvbnwpxrtkmhd", true, nil},
		{"too long", strings.Repeat("qwfpgjlu", 16) + "x", false, ErrTooLong},
		{"nfkc length", "\uff41\uff42\uff43\uff44\uff45\uff46\uff47", false, ErrTooShort},
		{"combining counts", "zqjvbnw\u0301", false, ErrTooShort},
		{"control", "zqjvbnwpx\x00rtk", false, ErrCharacters},
		{"invalid utf8", "zqjvbnwpx\xffrtk", false, ErrCharacters},
		{"common", "password", false, ErrCommon},
		{"common case", "PassWord", false, ErrCommon},
		{"common 8", "12345678", false, ErrCommon},
		{"common padded", "password123!", false, ErrCommon},
		{"common list long", "1qaz2wsx3edc4rfv", true, ErrCommon},
		{"email", "ada.zorvanek@example.org", false, ErrContext},
		{"name", "AdaZorvanek1815", false, ErrContext},
		{"local part", "zorvanek2024!", false, ErrContext},
		{"service", "Signet2026!!", false, ErrContext},
		{"service long", "signet orchard velvet kayak", false, nil},
		{"short name part ignored", "adazqjvbnw", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Policy{SingleFactor: tc.single, Context: ctx}.Check(tc.pw)
			if !errors.Is(err, tc.err) {
				t.Errorf("Check(%q) = %v, want %v", tc.pw, err, tc.err)
			}
		})
	}
}

// TestCommonList checks the bundled file: sorted (binary search depends on
// it), lower-case, no duplicates or blank lines, and of the expected size.
func TestCommonList(t *testing.T) {
	l := commonList()
	if len(l) != 49233 {
		t.Errorf("list has %d entries, want 49233", len(l))
	}
	if !sort.StringsAreSorted(l) {
		t.Fatal("common-passwords.txt is not sorted")
	}
	for i, s := range l {
		if s == "" || s != strings.ToLower(s) || (i > 0 && l[i-1] == s) {
			t.Fatalf("entry %d %q is blank, not lower-case or repeated", i, s)
		}
	}
	for _, s := range []string{"123456", "password", "qwerty", "letmein", "trustno1", "Dragon"} {
		if !IsCommon(s) {
			t.Errorf("IsCommon(%q) = false", s)
		}
	}
	for _, s := range []string{"", "tangerine submarine orbit", "zqjvbnwpxrtk"} {
		if IsCommon(s) {
			t.Errorf("IsCommon(%q) = true", s)
		}
	}
}

// FuzzParse: Parse never panics, accepts only values within bounds, and
// what it accepts it writes back byte for byte.
func FuzzParse(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := Parse(s)
		if err != nil {
			return
		}
		if err := h.Params.Validate(); err != nil {
			t.Fatalf("Parse(%q) accepted out-of-bounds parameters %+v", s, h.Params)
		}
		if h.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, h.String())
		}
	})
}

var sink []byte

// BenchmarkHashDefault is the cost of one login with Default parameters.
func BenchmarkHashDefault(b *testing.B) {
	salt := make([]byte, Default.SaltLen)
	b.ReportAllocs()
	for b.Loop() {
		sink = derive([]byte("correct horse battery staple"), salt, Default)
	}
}

// BenchmarkVerifyDefault adds parsing and normalization to the hash.
func BenchmarkVerifyDefault(b *testing.B) {
	enc, err := Hash("correct horse battery staple")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, err := Verify("correct horse battery staple", enc); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkSHA256 is the floor: one unsalted SHA-256 of the password, what
// an attacker would pay per guess without a password hash.
func BenchmarkSHA256(b *testing.B) {
	for b.Loop() {
		s := sha256.Sum256([]byte("correct horse battery staple"))
		sink = s[:]
	}
}

func BenchmarkPolicyCheck(b *testing.B) {
	p := Policy{Context: []string{"ada.zorvanek@example.org", "Ada Zorvanek"}}
	for b.Loop() {
		if err := p.Check("tangerine submarine orbit"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrencyBounded: however many verifications run at once, at most
// MaxConcurrent argon2id computations (and their memory) are live.
func TestConcurrencyBounded(t *testing.T) {
	enc, err := HashParams("a long enough password", cheap)
	if err != nil {
		t.Fatal(err)
	}
	peak.Store(0)
	var wg sync.WaitGroup
	for range 4 * MaxConcurrent {
		wg.Go(func() {
			if ok, err := Verify("a long enough password", enc); !ok || err != nil {
				t.Errorf("Verify = %v, %v", ok, err)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p < 1 || p > MaxConcurrent {
		t.Errorf("peak of concurrent derivations %d, want 1..%d", p, MaxConcurrent)
	}
}
