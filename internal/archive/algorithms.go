package archive

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"time"
)

// A Weakening is the date from which an algorithm no longer protects an
// archived document: a time-stamp made with it must be renewed (with
// the margin, [Config.Margin]) before then.
type Weakening struct {
	// Digest names a digest algorithm ("MD5", "SHA-1", "SHA-224"), or Key
	// a public key algorithm ("RSA", "ECDSA") whose keys of fewer than
	// Bits bits weaken.
	Digest string
	Key    string
	Bits   int
	// From is when the algorithm is weak.
	From time.Time
	// Source names what schedules it.
	Source string
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// DefaultWeakenings is the table [New] uses unless [Config.Weakenings]
// replaces it. It is deliberately small and conservative: digests and key
// sizes that are already weak, and the 112-bit security level (SHA-224,
// elliptic curves under 256 bits) that NIST SP 800-57 Part 1 Rev. 5 and
// SP 800-131A disallow after 2030. Keep it in line with ETSI TS 119 312
// when that schedules more.
var DefaultWeakenings = []Weakening{
	{Digest: "MD5", From: date(2005, 1, 1), Source: "collisions (Wang et al. 2004)"},
	{Digest: "SHA-1", From: date(2017, 1, 1), Source: "NIST SP 800-131A; ETSI TS 119 312"},
	{Digest: "SHA-224", From: date(2031, 1, 1), Source: "NIST SP 800-57 Part 1 Rev. 5 (112-bit security through 2030)"},
	{Key: "RSA", Bits: 2048, From: date(2014, 1, 1), Source: "NIST SP 800-131A (RSA under 2048 bits disallowed after 2013)"},
	{Key: "ECDSA", Bits: 256, From: date(2031, 1, 1), Source: "NIST SP 800-57 Part 1 Rev. 5 (112-bit security through 2030)"},
}

// hashName is the name of h as the table uses it.
func hashName(h crypto.Hash) string {
	switch h {
	case crypto.MD5:
		return "MD5"
	case crypto.SHA1:
		return "SHA-1"
	case crypto.SHA224:
		return "SHA-224"
	case crypto.SHA256:
		return "SHA-256"
	case crypto.SHA384:
		return "SHA-384"
	case crypto.SHA512:
		return "SHA-512"
	}
	return h.String()
}

// keyAlgorithm returns the table's name and the size in bits of pub.
func keyAlgorithm(pub crypto.PublicKey) (string, int) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		return "ECDSA", k.Curve.Params().BitSize
	case ed25519.PublicKey:
		return "Ed25519", 256
	}
	return "unknown", 0
}

// weakensAt returns the earliest date from which one of digests or the
// key weakens according to table, with what weakens, or the zero time if
// none does.
func weakensAt(table []Weakening, digests []crypto.Hash, pub crypto.PublicKey) (time.Time, string) {
	var at time.Time
	var what string
	keep := func(t time.Time, w string) {
		if at.IsZero() || t.Before(at) {
			at, what = t, w
		}
	}
	alg, bits := keyAlgorithm(pub)
	for _, w := range table {
		switch {
		case w.Digest != "":
			for _, h := range digests {
				if hashName(h) == w.Digest {
					keep(w.From, w.Digest+" digests weaken")
				}
			}
		case w.Key != "" && w.Key == alg && bits < w.Bits:
			keep(w.From, alg+" keys under "+itoa(w.Bits)+" bits weaken")
		}
	}
	return at, what
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}
