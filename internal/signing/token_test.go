package signing

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseToken: ParseToken accepts exactly the canonical base64url
// encodings of 32 bytes, and its hash is the SHA-256 of the token text.
func FuzzParseToken(f *testing.F) {
	tok, _, err := newToken(bytes.NewReader(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add(tok[:42] + "B") // non-canonical trailing bits
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		h, ok := ParseToken(s)
		if !ok {
			return
		}
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(b) != tokenBytes {
			t.Fatalf("accepted %q, which does not decode to %d bytes", s, tokenBytes)
		}
		if base64.RawURLEncoding.EncodeToString(b) != s {
			t.Fatalf("accepted non-canonical %q", s)
		}
		if h != sha256.Sum256([]byte(s)) {
			t.Fatal("hash is not the SHA-256 of the token")
		}
	})
}

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		tok, h, err := newToken(randReader{})
		if err != nil {
			t.Fatal(err)
		}
		if seen[tok] {
			t.Fatal("token repeated")
		}
		seen[tok] = true
		got, ok := ParseToken(tok)
		if !ok || got != h {
			t.Fatalf("ParseToken(%q) = %x, %v; want %x", tok, got, ok, h)
		}
	}
	if _, _, err := newToken(bytes.NewReader(make([]byte, 31))); err == nil {
		t.Fatal("newToken with a short random source succeeded")
	}
}

func TestTokenFrom(t *testing.T) {
	tok, h, _ := newToken(randReader{})
	tests := []struct {
		header, scheme string
		ok             bool
	}{
		{"Link " + tok, SchemeLink, true},
		{"link  " + tok, SchemeLink, true},
		{"Session " + tok, SchemeLink, false},
		{"Bearer " + tok, SchemeLink, false},
		{"Link", SchemeLink, false},
		{"Link " + tok + "=", SchemeLink, false},
		{"", SchemeSession, false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", tt.header)
		got, ok := tokenFrom(r, tt.scheme)
		if ok != tt.ok || (ok && got != h) {
			t.Errorf("tokenFrom(%q, %s) = %v, want %v", tt.header, tt.scheme, ok, tt.ok)
		}
	}
}

func TestMaskAndCode(t *testing.T) {
	if got := maskEmail("alice@example.com"); got != "a***@example.com" {
		t.Errorf("maskEmail = %q", got)
	}
	for _, c := range []struct {
		code string
		ok   bool
	}{{"123456", true}, {"12345", false}, {"1234567", false}, {"12345a", false}, {"١٢٣٤٥٦", false}} {
		if validCode(c.code) != c.ok {
			t.Errorf("validCode(%q) != %v", c.code, c.ok)
		}
	}
	s := &Service{base: newBase(Config{Rand: randReader{}})}
	counts := map[byte]int{}
	for i := 0; i < 2000; i++ {
		c, err := s.newCode()
		if err != nil || !validCode(c) {
			t.Fatalf("newCode = %q, %v", c, err)
		}
		counts[c[0]]++
	}
	for d := byte('0'); d <= '9'; d++ {
		if counts[d] < 100 { // expected 200 each
			t.Errorf("leading digit %c appears %d times in 2000 codes", d, counts[d])
		}
	}
}

func TestFuzzCorpusPresent(t *testing.T) {
	ents, err := os.ReadDir(filepath.Join("testdata", "fuzz", "FuzzParseToken"))
	if err != nil || len(ents) == 0 {
		t.Fatalf("seed corpus testdata/fuzz/FuzzParseToken missing: %v", err)
	}
}

type randReader struct{}

func (randReader) Read(p []byte) (int, error) { return cryptoRand(p) }
