package totp

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// RFC 6238 appendix B: the seeds are the ASCII digits repeated to the
// hash's length.
var rfcKeys = map[Algorithm]Key{
	SHA1:   {Secret: []byte("12345678901234567890"), Algorithm: SHA1, Digits: 8},
	SHA256: {Secret: []byte("12345678901234567890123456789012"), Algorithm: SHA256, Digits: 8},
	SHA512: {Secret: []byte("1234567890123456789012345678901234567890123456789012345678901234"), Algorithm: SHA512, Digits: 8},
}

// TestRFC6238Vectors checks every row of RFC 6238 appendix B.
func TestRFC6238Vectors(t *testing.T) {
	for _, tc := range []struct {
		unix int64
		step uint64
		alg  Algorithm
		code string
	}{
		{59, 0x1, SHA1, "94287082"},
		{59, 0x1, SHA256, "46119246"},
		{59, 0x1, SHA512, "90693936"},
		{1111111109, 0x23523EC, SHA1, "07081804"},
		{1111111109, 0x23523EC, SHA256, "68084774"},
		{1111111109, 0x23523EC, SHA512, "25091201"},
		{1111111111, 0x23523ED, SHA1, "14050471"},
		{1111111111, 0x23523ED, SHA256, "67062674"},
		{1111111111, 0x23523ED, SHA512, "99943326"},
		{1234567890, 0x273EF07, SHA1, "89005924"},
		{1234567890, 0x273EF07, SHA256, "91819424"},
		{1234567890, 0x273EF07, SHA512, "93441116"},
		{2000000000, 0x3F940AA, SHA1, "69279037"},
		{2000000000, 0x3F940AA, SHA256, "90698825"},
		{2000000000, 0x3F940AA, SHA512, "38618901"},
		{20000000000, 0x27BC86AA, SHA1, "65353130"},
		{20000000000, 0x27BC86AA, SHA256, "77737706"},
		{20000000000, 0x27BC86AA, SHA512, "47863826"},
	} {
		at := time.Unix(tc.unix, 0).UTC()
		k := rfcKeys[tc.alg]
		if s := StepAt(at); s != tc.step {
			t.Errorf("StepAt(%d) = %#x, want %#x", tc.unix, s, tc.step)
		}
		got, err := k.CodeAt(at)
		if err != nil || got != tc.code {
			t.Errorf("%v at %d: %q, %v; want %q", tc.alg, tc.unix, got, err, tc.code)
		}
		step, err := Verify(k, tc.code, at, 0)
		if err != nil || step != tc.step {
			t.Errorf("Verify(%v, %q at %d) = %#x, %v; want step %#x", tc.alg, tc.code, tc.unix, step, err, tc.step)
		}
	}
}

// TestRFC4226Digits: the 6-digit codes are the last six digits of the
// 8-digit ones (RFC 4226's truncation modulo 10^Digits), zero-padded.
func TestDigits(t *testing.T) {
	k := rfcKeys[SHA1]
	for digits, want := range map[int]string{6: "081804", 7: "7081804", 8: "07081804"} {
		k.Digits = digits
		got, err := k.CodeAt(time.Unix(1111111109, 0))
		if err != nil || got != want {
			t.Errorf("%d digits: %q, %v; want %q", digits, got, err, want)
		}
	}
	for _, d := range []int{0, 5, 9} {
		k.Digits = d
		if _, err := k.Code(1); !errors.Is(err, ErrKey) {
			t.Errorf("%d digits: %v, want ErrKey", d, err)
		}
	}
}

func TestVerifyWindowAndReplay(t *testing.T) {
	k, err := GenerateKey(SHA1, 6)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_015, 0)
	cur := StepAt(now)
	code := func(s uint64) string {
		c, err := k.Code(s)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name     string
		code     string
		lastStep uint64
		want     uint64
		err      error
	}{
		{"current", code(cur), 0, cur, nil},
		{"previous", code(cur - 1), 0, cur - 1, nil},
		{"next", code(cur + 1), 0, cur + 1, nil},
		{"two back", code(cur - 2), 0, 0, ErrInvalidCode},
		{"two ahead", code(cur + 2), 0, 0, ErrInvalidCode},
		{"replay of the accepted step", code(cur), cur, 0, ErrInvalidCode},
		{"older than the accepted step", code(cur - 1), cur, 0, ErrInvalidCode},
		{"after an older accepted step", code(cur), cur - 1, cur, nil},
		{"next after the current accepted", code(cur + 1), cur, cur + 1, nil},
		{"short", code(cur)[:5], 0, 0, ErrInvalidCode},
		{"long", code(cur) + "0", 0, 0, ErrInvalidCode},
		{"not digits", "12a456", 0, 0, ErrInvalidCode},
		{"full-width digits", "\uff11\uff12\uff13\uff14\uff15\uff16", 0, 0, ErrInvalidCode},
		{"empty", "", 0, 0, ErrInvalidCode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Verify(k, tc.code, now, tc.lastStep)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Errorf("Verify = %d, %v; want %d, %v", got, err, tc.want, tc.err)
			}
		})
	}
	// The caller's loop: a code accepted once fails the second time.
	last := uint64(0)
	c := code(cur)
	step, err := Verify(k, c, now, last)
	if err != nil {
		t.Fatal(err)
	}
	last = step
	if _, err := Verify(k, c, now.Add(10*time.Second), last); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("replayed code: %v, want ErrInvalidCode", err)
	}
}

func TestVerifyAtEpoch(t *testing.T) {
	k := rfcKeys[SHA1]
	c, _ := k.Code(0)
	if _, err := Verify(k, c, time.Unix(0, 0), 0); !errors.Is(err, ErrInvalidCode) {
		t.Errorf("step 0 with lastStep 0: %v, want ErrInvalidCode (step 0 is never after lastStep)", err)
	}
	if s := StepAt(time.Unix(-100, 0)); s != 0 {
		t.Errorf("StepAt before the epoch = %d", s)
	}
}

func TestGenerateKey(t *testing.T) {
	for alg, n := range map[Algorithm]int{SHA1: 20, SHA256: 32, SHA512: 64} {
		a, err := GenerateKey(alg, 6)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := GenerateKey(alg, 6)
		if len(a.Secret) != n || bytes.Equal(a.Secret, b.Secret) {
			t.Errorf("%v: secret of %d bytes, equal to the next: %v", alg, len(a.Secret), bytes.Equal(a.Secret, b.Secret))
		}
	}
	if _, err := GenerateKey(Algorithm(9), 6); !errors.Is(err, ErrKey) {
		t.Errorf("unknown algorithm: %v", err)
	}
	if _, err := GenerateKey(SHA1, 10); !errors.Is(err, ErrKey) {
		t.Errorf("10 digits: %v", err)
	}
	if _, err := Verify(Key{Secret: []byte("short"), Algorithm: SHA1, Digits: 6}, "123456", time.Now(), 0); !errors.Is(err, ErrKey) {
		t.Errorf("short secret: %v", err)
	}
}

func TestURI(t *testing.T) {
	k := rfcKeys[SHA1]
	k.Digits = 6
	u, err := k.URI("Signet", "ada@example.org")
	if err != nil {
		t.Fatal(err)
	}
	want := "otpauth://totp/Signet:ada@example.org?algorithm=SHA1&digits=6&issuer=Signet&period=30&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	if u != want {
		t.Errorf("URI = %q\nwant  %q", u, want)
	}
	for _, alg := range []Algorithm{SHA1, SHA256, SHA512} {
		k, _ := GenerateKey(alg, 8)
		u, err := k.URI("Example Corp", "bob smith+x@example.org")
		if err != nil {
			t.Fatal(err)
		}
		got, iss, acct, err := ParseURI(u)
		if err != nil || iss != "Example Corp" || acct != "bob smith+x@example.org" ||
			!bytes.Equal(got.Secret, k.Secret) || got.Algorithm != alg || got.Digits != 8 {
			t.Errorf("round trip of %q: %+v %q %q %v", u, got, iss, acct, err)
		}
	}
	if _, err := k.URI("Sig:net", "a"); !errors.Is(err, ErrURI) {
		t.Errorf("issuer with a colon: %v", err)
	}
}

func TestParseURIRefuses(t *testing.T) {
	const ok = "otpauth://totp/Signet:ada?algorithm=SHA1&digits=6&issuer=Signet&period=30&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	if _, _, _, err := ParseURI(ok); err != nil {
		t.Fatalf("ParseURI(valid) = %v", err)
	}
	for name, s := range map[string]string{
		"hotp":            strings.Replace(ok, "//totp/", "//hotp/", 1),
		"scheme":          strings.Replace(ok, "otpauth:", "https:", 1),
		"no issuer label": strings.Replace(ok, "Signet:ada", "ada", 1),
		"issuer mismatch": strings.Replace(ok, "issuer=Signet", "issuer=Other", 1),
		"period":          strings.Replace(ok, "period=30", "period=60", 1),
		"algorithm":       strings.Replace(ok, "SHA1", "MD5", 1),
		"digits":          strings.Replace(ok, "digits=6", "digits=10", 1),
		"digits 5":        strings.Replace(ok, "digits=6", "digits=5", 1),
		"short secret":    strings.Replace(ok, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "GEZDGNBVGY3TQOJQ", 1),
		"padded secret":   strings.Replace(ok, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGE======", 1),
		"lowercase":       strings.Replace(ok, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "gezdgnbvgy3tqojqgezdgnbvgy3tqojq", 1),
		"extra param":     ok + "&image=x",
		"repeated":        ok + "&digits=6",
		"missing":         strings.Replace(ok, "&period=30", "", 1),
		"fragment":        ok + "#x",
		"userinfo":        strings.Replace(ok, "//totp", "//u@totp", 1),
		"too long":        ok + strings.Repeat("x", MaxURILen),
		"empty":           "",
	} {
		if _, _, _, err := ParseURI(s); !errors.Is(err, ErrURI) {
			t.Errorf("%s: ParseURI(%q) = %v, want ErrURI", name, s, err)
		}
	}
}

// FuzzParseURI: ParseURI never panics, returns only valid keys, and what
// it accepts URI writes back to a URI that parses to the same key.
func FuzzParseURI(f *testing.F) {
	f.Add("otpauth://totp/Signet:ada?algorithm=SHA1&digits=6&issuer=Signet&period=30&secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
	f.Fuzz(func(t *testing.T, s string) {
		k, iss, acct, err := ParseURI(s)
		if err != nil {
			return
		}
		if err := k.Validate(); err != nil {
			t.Fatalf("ParseURI(%q) returned an invalid key", s)
		}
		u, err := k.URI(iss, acct)
		if err != nil {
			t.Fatalf("URI of parsed %q: %v", s, err)
		}
		k2, iss2, acct2, err := ParseURI(u)
		if err != nil || iss2 != iss || acct2 != acct || !bytes.Equal(k2.Secret, k.Secret) ||
			k2.Algorithm != k.Algorithm || k2.Digits != k.Digits {
			t.Fatalf("%q -> %q does not round-trip: %v", s, u, err)
		}
	})
}

// FuzzVerify: any input string is refused or accepted without panic, and
// an accepted step lies in the window and after lastStep.
func FuzzVerify(f *testing.F) {
	f.Add("94287082", int64(59), uint64(0))
	f.Fuzz(func(t *testing.T, code string, unix int64, last uint64) {
		k := rfcKeys[SHA1]
		now := time.Unix(unix, 0)
		s, err := Verify(k, code, now, last)
		if err != nil {
			return
		}
		cur := StepAt(now)
		if s <= last || s+1 < cur || s > cur+1 {
			t.Fatalf("accepted step %d outside the window of %d after %d", s, cur, last)
		}
	})
}
